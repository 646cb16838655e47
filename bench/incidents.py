"""Benchmark of incidents, the OCSF export and the HTML report on a lake of a million findings.

Generates a synthetic lake (``vigil.synth.lake``: 90 days, Zipf-repeated values, busy and quiet
users, ~1 million findings), then runs each step in a fresh subprocess and records its wall time
CPU time (``wait4`` of that child) and peak
RSS (the child's own ``VmHWM``). Target per step: <= 30 s and <= 1 GB RSS.

Steps:
- ``incidents``: vigil's incident computation, when this branch has it (``vigil.incidents``);
  otherwise reported as not measured.
- ``export``: ``vigil export ocsf`` of every finding and incident to one file, then a sample of
  the file validated against the OCSF schema (the validation is not in the timing).
- ``export-incremental``: the first run of a stream (everything), then a second run that finds
  nothing new.
- ``report``: ``vigil report --since 30d`` and ``--since all``.

Until vigil computes incidents here, the export and report read a *stand-in* incidents table
(``create_standin_incidents``: findings grouped by fingerprint), written once as Parquet and
exposed as the ``incidents`` view, so their incident parts run at full size.

Usage: python bench/incidents.py [--findings 1000000] [--keep DIR] [--out bench/results/incidents.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0
TARGET_RSS_MB = 1024.0
INCIDENT_FUNCTIONS = ("update_incidents", "refresh_incidents", "compute_incidents", "build_incidents")


# -- steps, each run in a child process -------------------------------------------------------------
def _connect(lake_root: str, incidents_parquet: str | None):
    from vigil.lake import Lake

    lake = Lake(lake_root)
    con = lake.connect()
    if incidents_parquet and not _has_relation(con, "incidents"):
        con.execute(f"CREATE VIEW incidents AS SELECT * FROM read_parquet('{incidents_parquet}')")
    return lake, con


def _has_relation(con, name: str) -> bool:  # noqa: ANN001
    from vigil.lake.reads import relation_columns

    return bool(relation_columns(con, name))


def step_incidents(lake_root: str, **_: str) -> dict:
    try:
        import vigil.incidents as module  # noqa: PLC0415 - lands with the incidents branch
    except ImportError:
        return {"measured": False, "why": "vigil.incidents is not on this branch"}
    from vigil.lake import Lake

    fn = next((getattr(module, n) for n in INCIDENT_FUNCTIONS if callable(getattr(module, n, None))), None)
    if fn is None:
        return {"measured": False, "why": f"vigil.incidents has none of {', '.join(INCIDENT_FUNCTIONS)}"}
    t0 = time.perf_counter()
    result = fn(Lake(lake_root))
    return {"measured": True, "function": fn.__name__, "seconds": time.perf_counter() - t0, "result": repr(result)[:200]}


def step_export(lake_root: str, work: str, incidents_parquet: str | None = None, **_: str) -> dict:
    from vigil.export import export_ocsf

    lake, con = _connect(lake_root, incidents_parquet)
    out = os.path.join(work, "all.jsonl")
    t0 = time.perf_counter()
    result = export_ocsf(lake, out, con=con)
    return {"seconds": time.perf_counter() - t0, "findings": result.findings, "incidents": result.incidents,
            "bytes": result.bytes, "out": out}


def step_export_incremental(lake_root: str, work: str, incidents_parquet: str | None = None, **_: str) -> dict:
    from vigil.export import export_ocsf_incremental

    lake, con = _connect(lake_root, incidents_parquet)
    out = os.path.join(work, "tail")
    _reset_stream(lake, out)  # a fresh stream: its first run exports everything
    t0 = time.perf_counter()
    first = export_ocsf_incremental(lake, out, con=con, stream="bench")
    t1 = time.perf_counter()
    second = export_ocsf_incremental(lake, out, con=con, stream="bench")
    t2 = time.perf_counter()
    _reset_stream(lake, out)
    return {"seconds": t1 - t0, "findings": first.findings, "incidents": first.incidents, "bytes": first.bytes,
            "second_seconds": t2 - t1, "second_events": second.findings + second.incidents}


def _reset_stream(lake, out: str) -> None:  # noqa: ANN001
    from vigil.lake.state import STATE_DIR
    from vigil.export.stream import NAMESPACE_PREFIX

    shutil.rmtree(out, ignore_errors=True)
    lake.checkpoints(f"{NAMESPACE_PREFIX}/bench").delete()
    lake.storage.remove_tree(lake.storage.path(STATE_DIR, NAMESPACE_PREFIX, "bench"))


def step_report(lake_root: str, work: str, incidents_parquet: str | None = None, since: str = "30d", **_: str) -> dict:
    from vigil.report import build_report
    from vigil.timewindow import parse_since

    lake, con = _connect(lake_root, incidents_parquet)
    out = os.path.join(work, f"report-{since}.html")
    t0 = time.perf_counter()
    data = build_report(lake, out, since=None if since == "all" else parse_since(since), con=con)
    return {"seconds": time.perf_counter() - t0, "bytes": os.path.getsize(out), "findings": data.totals["findings"],
            "open_incidents": data.totals.get("open_incidents")}


STEPS = {"incidents": step_incidents, "export": step_export, "export-incremental": step_export_incremental,
         "report": step_report}


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM). ``ru_maxrss`` would also count the parent's
    pages at fork time (Linux carries the high-water mark across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_main(argv: list[str]) -> None:
    kwargs = json.loads(argv[1])
    result = STEPS[argv[0]](**kwargs)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str))


def run_child(step: str, **kwargs: str | None) -> dict:
    """Run one step in a fresh interpreter; add its wall time and CPU time (it reports its peak RSS)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", step, json.dumps(kwargs)],
                            stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"step {step} failed with exit code {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result.update(process_seconds=time.perf_counter() - t0, cpu_seconds=usage.ru_utime + usage.ru_stime)
    return result


# -- orchestration ------------------------------------------------------------------------------------
def validate_sample(path: str, every: int = 997, limit: int = 1500) -> dict:
    """Validate every ``every``-th line (and all incident lines up to ``limit``) of an export."""
    from vigil.export import check_lines

    picked = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n % every == 0 or ('"class_uid":2005' in line and n % 50 == 0):
                picked.append(line)
            if len(picked) >= limit:
                break
    report = check_lines(picked)
    return {"checked": report.checked, "failed": report.failed, "by_class": report.by_class,
            "problems": report.problems[:5]}


def machine() -> str:
    import duckdb

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, DuckDB {duckdb.__version__}")


def verdict(seconds: float, rss: float) -> str:
    return "yes" if seconds <= TARGET_S and rss <= TARGET_RSS_MB else "**no**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keep", help="Build (or reuse) the lake in this folder and keep it.")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "incidents.md"))
    args = parser.parse_args()

    from vigil.lake import Lake
    from vigil.synth.lake import create_standin_incidents, generate_lake

    work = Path(args.keep or tempfile.mkdtemp(prefix="vigil-bench-incidents-"))
    lake_root = str(work / "lake")
    t0 = time.perf_counter()
    if not (work / "lake" / "findings").exists():
        gen = generate_lake(Lake(lake_root), args.findings, days=args.days)
        print(f"generated {gen} in {time.perf_counter() - t0:.0f} s", flush=True)
    lake = Lake(lake_root)
    shape = lake.query("SELECT count(*) n, count(DISTINCT fingerprint) v, count(DISTINCT user_id) u, "
                       "count(DISTINCT chat_id) c, max(cnt) top FROM findings, "
                       "(SELECT max(c) cnt FROM (SELECT count(*) c FROM findings GROUP BY fingerprint))").to_pylist()[0]
    lake_mb = sum(p.stat().st_size for p in (work / "lake").rglob("*.parquet")) / 2**20

    load_before = os.getloadavg()
    results: dict[str, dict] = {"incidents": run_child("incidents", lake_root=lake_root)}
    incidents_parquet = None
    if not results["incidents"]["measured"]:
        con = lake.connect()
        t1 = time.perf_counter()
        n_inc = create_standin_incidents(con)
        incidents_parquet = str(work / "standin-incidents.parquet")
        con.execute(f"COPY incidents TO '{incidents_parquet}' (FORMAT parquet)")
        con.close()
        results["standin"] = {"incidents": n_inc, "seconds": time.perf_counter() - t1}
        print(f"stand-in incidents: {n_inc} in {results['standin']['seconds']:.1f} s", flush=True)
    common = {"lake_root": lake_root, "work": str(work), "incidents_parquet": incidents_parquet}
    results["export"] = run_child("export", **common)
    print("export", results["export"], flush=True)
    results["export_valid"] = validate_sample(results["export"]["out"])
    print("validation", results["export_valid"], flush=True)
    os.remove(results["export"]["out"])
    results["export_incremental"] = run_child("export-incremental", **common)
    print("export-incremental", results["export_incremental"], flush=True)
    results["report_30d"] = run_child("report", **common, since="30d")
    results["report_all"] = run_child("report", **common, since="all")
    print("report", results["report_30d"], results["report_all"], flush=True)

    results["load"] = [max(a, b) for a, b in zip(load_before, os.getloadavg())]
    write_results(args, results, shape, lake_mb)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def write_results(args: argparse.Namespace, r: dict, shape: dict, lake_mb: float) -> None:
    now = datetime.now(timezone.utc)
    load = ", ".join(f"{x:.1f}" for x in r.get("load", os.getloadavg()))
    inc = r["incidents"]
    rows = []
    if inc["measured"]:
        rows.append(f"| incidents (`vigil.incidents.{inc['function']}`) | {inc['process_seconds']:.1f} | "
                    f"{inc['cpu_seconds']:.1f} | {inc['peak_rss_mb']:.0f} | {verdict(inc['process_seconds'], inc['peak_rss_mb'])} | |")
    else:
        rows.append(f"| incidents | not measured | | | | {inc['why']} |")
    e, ei = r["export"], r["export_incremental"]
    rows.append(f"| `vigil export ocsf` (one file) | {e['process_seconds']:.1f} | {e['cpu_seconds']:.1f} | "
                f"{e['peak_rss_mb']:.0f} | "
                f"{verdict(e['process_seconds'], e['peak_rss_mb'])} | {e['findings']:,} findings + {e['incidents']:,} "
                f"incidents, {e['bytes'] / 2**30:.2f} GiB; export call {e['seconds']:.1f} s |")
    rows.append(f"| `vigil export ocsf --incremental`, first run | {ei['process_seconds']:.1f} | "
                f"{ei['cpu_seconds']:.1f} | {ei['peak_rss_mb']:.0f} | "
                f"{verdict(ei['process_seconds'], ei['peak_rss_mb'])} | {ei['findings']:,} + {ei['incidents']:,} events "
                f"in {ei['seconds']:.1f} s; the next run (nothing new): {ei['second_seconds']:.1f} s, "
                f"{ei['second_events']} events |")
    for key, label in (("report_30d", "`vigil report --since 30d`"), ("report_all", "`vigil report --since all`")):
        rep = r[key]
        rows.append(f"| {label} | {rep['process_seconds']:.1f} | {rep['cpu_seconds']:.1f} | {rep['peak_rss_mb']:.0f} | "
                    f"{verdict(rep['process_seconds'], rep['peak_rss_mb'])} | {rep['findings']:,} findings charted, "
                    f"{rep['bytes'] / 2**20:.1f} MiB HTML; report call {rep['seconds']:.1f} s |")
    valid = r["export_valid"]
    standin = r.get("standin")
    text = f"""# Incidents, OCSF export and HTML report at a million findings

Machine: {machine()}. Date: {now:%Y-%m-%d %H:%M} UTC.
Command: `.venv/bin/python bench/incidents.py --findings {args.findings}` (each step in a fresh
subprocess; seconds are the whole process's wall time, interpreter start and imports included;
CPU s is its user + system time over both cores; peak RSS is that process's maximum resident
set, VmHWM). Load average (1, 5, 15 min; the higher of start and end): {load}; the machine's
2 cores were shared with other work, so wall times are longer than on an idle machine. Target per step: <= {TARGET_S:.0f} s and <= {TARGET_RSS_MB:.0f} MB.

Lake: {shape['n']:,} findings over {args.days} days ({lake_mb:.0f} MiB of Parquet), {shape['v']:,} distinct
values (the most repeated one {shape['top']:,} times), {shape['u']:,} users, {shape['c']:,} chats; plus the
coverage ledger and one forward run every 15 minutes (`vigil.synth.lake.generate_lake`).

| step | seconds | CPU s | peak RSS MB | within target | notes |
|---|---:|---:|---:|---|---|
""" + "\n".join(rows) + f"""

OCSF validation of a sample of the export (every 997th line and every 50th incident line, against
OCSF 1.7.0 with `ocsf-json-schema` + `jsonschema`; not timed): {valid['checked']:,} events checked,
{valid['failed']} invalid ({', '.join(f'class {k}: {v:,}' for k, v in sorted(valid['by_class'].items()))}).
"""
    if standin:
        text += f"""
Incidents: `vigil.incidents` is not on this branch, so the export and report read a stand-in
incidents table ({standin['incidents']:,} incidents: findings grouped by fingerprint, built by DuckDB
in {standin['seconds']:.1f} s, not vigil's incident logic) exposed as the `incidents` view. The
incident computation itself is **not measured** here; rerun this bench once it lands.
"""
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
