"""Benchmark of the historical scan against the simulator (see bench/results/scan.md).

Measures, for a simulated org served by uvicorn in its own process:
- requests issued vs the minimum a correct scan needs (goal <= 1.02x);
- wall time vs the rate-limit floor (required requests / budget; goal <= 1.05x), at the real
  budget (client 540 rpm, simulator 600 rpm) on an org small enough to finish in minutes;
- throughput with the limit lifted (chats/s);
- peak RSS of the scanning process at two org sizes (goal <= 500 MB at 20,000 chats, and the
  same +-10% at 50,000), the lake's compaction at the end of the run included.

The scan runs in a fresh subprocess per measurement (plain Python, no Prefect) so its RSS is
its own. Usage: python bench/scan.py [--sizes 20000 50000] [--floor-chats 300]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIFTED_RPM = 1_000_000  # 16,667 requests/s: far above what one machine serves
REAL_CLIENT_RPM = 540
REAL_SIMULATOR_RPM = 600
SEED = 7
RSS_GOAL_MB = 500
RSS_FLAT_TOLERANCE = 0.10


def serve(seed: int, users: int, chats: int, rpm: int, conn) -> None:
    """Simulator process: generate the org, serve it, report the URL, run until killed."""
    from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key

    org = SyntheticOrg.generate(seed=seed, users=users, chats=chats, days=30)
    server = SimulatorServer(build_app(org, rpm=rpm))
    conn.send({"base_url": server.start(), "org_id": org.parent.uuid, "key": default_key(seed).secret})
    while True:
        time.sleep(3600)


def scan_worker(base_url: str, org_id: str, rpm: int, lake: str, compact_threshold: int) -> dict:
    """Scanner process: one historical scan (30 days); returns what it measured."""
    from vigil.config import parse_config
    from vigil.scan.run import open_run
    from vigil.scan.runner import run_scan
    from vigil.scan.setup import load_run_settings

    cfg = parse_config({"connector": {"org_id": org_id, "base_url": base_url,
                                      "key_source": "env:BENCH_SIM_KEY"},
                        "lake": {"root": lake, "compact_threshold": compact_threshold},
                        "rate": {"rpm": rpm}})
    t0 = time.perf_counter()
    with open_run(load_run_settings(config=cfg), "historical", days=30) as run:
        summary = run_scan(run)
        session = run.session
        wall = time.perf_counter() - t0
        rss_scan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the queries below
        lake_obj = session.lake
        cap = session.inspector.max_file_bytes
        counts = {r["object_kind"]: r["n"] for r in lake_obj.query(
            "SELECT object_kind, count(*) AS n FROM objects GROUP BY 1").to_pylist()}
        from_metadata = lake_obj.query(
            f"SELECT count(*) AS n FROM objects WHERE reason = 'too_large' AND bytes > {cap}").to_pylist()[0]["n"]
        groups = lake_obj.query("SELECT count(*) AS n FROM groups").to_pylist()[0]["n"]
        linked_orgs = lake_obj.query("SELECT count(*) AS n FROM posture_snapshots").to_pylist()[0]["n"]
    c = summary.counts
    downloads = sum(counts.get(k, 0) for k in ("file", "generated_file", "artifact_version")) - from_metadata
    projects = c["projects_seen"]
    minimum = (1  # the organization check before the scan (vigil.scan.setup.check_org)
               + max(1, math.ceil(c["chats_seen"] / 1000)) + max(1, math.ceil(c["activities"] / 5000))
               + max(1, math.ceil(projects / 100)) + 2 * projects + counts.get("chat", 0) + downloads
               + counts.get("project_document", 0)
               # directory (users, groups, members of each group) and posture (orgs, settings of each)
               + max(1, math.ceil(c["directory_users"] / 1000)) + 1 + groups + 1 + linked_orgs
               # session lists at 500, one transcript each; site list at 100, one download per version
               + max(1, math.ceil(c["local_sessions_seen"] / 500)) + c["local_sessions_fetched"]
               + max(1, math.ceil(c["remote_sessions_seen"] / 500)) + c["remote_sessions_fetched"]
               + max(1, math.ceil(c["code_artifacts_seen"] / 100)) + counts.get("code_artifact_version", 0))
    return {"status": summary.status, "wall_s": wall, "requests": summary.requests,
            "rate_limited": summary.rate_limited, "retries": summary.retries, "minimum": minimum,
            "chats": c["chats_seen"], "transcripts": counts.get("chat", 0), "downloads": downloads,
            "objects_scanned": c["objects_scanned"], "findings": c["findings"],
            "peak_rss_mb": rss_scan, "compact_threshold": compact_threshold,
            "scanner_cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])}


def measure(chats: int, users: int, sim_rpm: int, client_rpm: int, compact_threshold: int = 32) -> dict:
    """Serve an org in one process, scan it from another; return the scan's measurements."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(SEED, users, chats, sim_rpm, child), daemon=True)
    proc.start()
    try:
        info = parent.recv()
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
            env = dict(os.environ, BENCH_SIM_KEY=info["key"], VIGIL_FINGERPRINT_KEY="42" * 32)
            out = subprocess.run([sys.executable, __file__, "_scan", info["base_url"], info["org_id"],
                                  str(client_rpm), str(Path(tmp) / "lake"), str(compact_threshold)],
                                 env=env, capture_output=True, text=True)
            if out.returncode:
                raise RuntimeError(f"scan failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        proc.terminate()
        proc.join(10)
    result.update(org_chats=chats, users=users, client_rpm=client_rpm, simulator_rpm=sim_rpm)
    return result


def report(floor: dict | None, lifted: list[dict]) -> str:
    lines = [
        "# Scan benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "Command: `.venv/bin/python bench/scan.py` (simulator in its own process on the same machine;",
        "scanner in a fresh subprocess per row; plain-Python historical scan of 30 days, no Prefect).",
        "",
        "## Requests and throughput, rate limit lifted",
        "",
        "| org chats | requests | minimum | ratio (goal <= 1.02) | wall s | chats/s | scanner CPU s | peak RSS MB | findings |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in lifted:
        lines.append(f"| {r['org_chats']:,} | {r['requests']:,} | {r['minimum']:,} | "
                     f"{r['requests'] / r['minimum']:.3f} | {r['wall_s']:.0f} | "
                     f"{r['chats'] / r['wall_s']:.1f} | {r['scanner_cpu_s']:.0f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['findings']:,} |")
    lines += [
        "",
        "`chats/s` is end to end: the simulator (one Python process rendering documents on demand)",
        "shares the 2 cores with the scanner. `scanner CPU s` is the scanning process's own CPU time",
        "(extraction, detection, landing, HTTP); chats divided by it is what the scanner could sustain",
        "if the API answered instantly. Peak RSS is the scanning process's maximum resident set.",
        "",
    ]
    if floor is not None:
        floor_s = floor["minimum"] / (floor["client_rpm"] / 60)
        lines += [
            "## Wall time against the rate-limit floor",
            "",
            f"At the real budget (vigil's client at {floor['client_rpm']} rpm, the simulator enforcing "
            f"{floor['simulator_rpm']} rpm), on an org of {floor['org_chats']} chats: at 540 rpm a 20,000-chat "
            "org needs more than 2 hours of requests, so the floor ratio is measured on a smaller org.",
            "",
            "| org chats | requests | minimum | floor s (minimum / 9 rps) | wall s | wall / floor (goal <= 1.05) | 429s |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {floor['org_chats']} | {floor['requests']} | {floor['minimum']} | {floor_s:.1f} | "
            f"{floor['wall_s']:.1f} | {floor['wall_s'] / floor_s:.3f} | {floor['rate_limited']} |",
            "",
        ]
    lines += [
        "`minimum` counts what any correct scan must request: one list page per 1,000 chats, 5,000",
        "activities and 100 projects; per project its detail and one attachment page; one transcript",
        "per chat; one download per distinct file, generated file and artifact version (minus those",
        "skipped as too large from their listed size) and per project document; the directory (one",
        "page per 1,000 users, the groups, each group's members) and the posture (the organizations,",
        "each one's settings); one list page per 500 sessions, one transcript per session read, one",
        "page per 100 code artifacts and one download per site version. Anything above it",
        "(project-name lookups for chats whose project was not updated in the window, retries) is overhead.",
    ]
    return "\n".join(lines + memory_section(lifted)) + "\n"


def memory_section(lifted: list[dict]) -> list[str]:
    """Peak RSS per org size against the goal: <= 500 MB, and flat (+-10%) as the org grows."""
    first = lifted[0]
    lines = [
        "",
        "## Peak memory of the scanning process",
        "",
        f"Goal: at most {RSS_GOAL_MB} MB, and within {RSS_FLAT_TOLERANCE:.0%} of the {first['org_chats']:,}-chat "
        "figure as the org grows. Peak RSS is the process's maximum resident set over the whole run, the "
        f"lake's compaction at its end included (threshold {first['compact_threshold']} files).",
        "",
        "| org chats | objects scanned | findings | peak RSS MB | vs first row | <= 500 MB | within 10% |",
        "|---:|---:|---:|---:|---:|:---:|:---:|",
    ]
    for r in lifted:
        ratio = r["peak_rss_mb"] / first["peak_rss_mb"]
        lines.append(f"| {r['org_chats']:,} | {r['objects_scanned']:,} | {r['findings']:,} | "
                     f"{r['peak_rss_mb']:.0f} | {ratio:.2f}x | {'yes' if r['peak_rss_mb'] <= RSS_GOAL_MB else 'no'} | "
                     f"{'yes' if abs(ratio - 1) <= RSS_FLAT_TOLERANCE else 'no'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 50_000],
                        help="org sizes (chats) scanned with the rate limit lifted")
    parser.add_argument("--floor-chats", type=int, default=300, help="0 skips the rate-limit floor run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scan.md"))
    parser.add_argument("--compact-threshold", type=int, default=32,
                        help="the lake's automatic compaction threshold (0 = off) during the scan")
    parser.add_argument("--from-log", help="rebuild the report from a previous run's JSON lines")
    args = parser.parse_args()
    if args.from_log:
        rows = [json.loads(line) for line in Path(args.from_log).read_text().splitlines()
                if line.startswith("{")]
        floor = rows[-1] if rows[-1]["client_rpm"] != LIFTED_RPM else None
        Path(args.out).write_text(report(floor, rows[:-1] if floor else rows))
        return

    lifted = []
    for chats in args.sizes:
        r = measure(chats, max(10, chats // 50), LIFTED_RPM, LIFTED_RPM, args.compact_threshold)
        print(json.dumps(r), flush=True)
        lifted.append(r)
    floor = None
    if args.floor_chats:
        floor = measure(args.floor_chats, max(10, args.floor_chats // 8), REAL_SIMULATOR_RPM, REAL_CLIENT_RPM,
                        args.compact_threshold)
        print(json.dumps(floor), flush=True)
    text = report(floor, lifted)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_scan":
        print(json.dumps(scan_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5],
                                     int(sys.argv[6]))))
    else:
        main()
