"""Incidents and alert queueing over a generated lake of findings (see bench/results/incident_alerts.md).

Each phase runs in a fresh subprocess so its peak RSS is its own:
- ``full``: the first refresh (every incident of ``all`` plus two policies computed and landed);
- ``rerun``: the same again (incremental, nothing changed: writes nothing);
- ``rerun-full``: everything recomputed and compared with what is landed (writes nothing);
- ``incremental``: 1,000 new findings land (some repeating known values), then a refresh;
- ``queue``: alerts queued for the new incidents of the alerting policies;
- ``list``: the ``incidents`` view: count by status, and the 100 worst open incidents.

Findings: ``--distinct`` of them carry a value seen once, the rest repeat 50,000 popular values
(Zipf), spread over 50,000 chats, 500 users and 200 projects, 4 findings per object, 30 daily
files. Usage: python bench/incident_alerts.py [--findings 1000000] [--distinct 0.6] [--lake DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INFOTYPES = [("EMAIL_ADDRESS", "pii", "low"), ("PHONE_NUMBER", "pii", "low"),
             ("US_SOCIAL_SECURITY_NUMBER", "national_id", "high"), ("AWS_CREDENTIALS", "credential", "critical"),
             ("CREDIT_CARD_NUMBER", "financial", "high"), ("GITHUB_TOKEN", "credential", "critical"),
             ("IBAN_CODE", "financial", "medium"), ("PASSWORD", "credential", "high")]
LIKELIHOODS = ["POSSIBLE", "LIKELY", "VERY_LIKELY"]
BASE = datetime(2026, 10, 1, tzinfo=timezone.utc)


def policies():
    from vigil.config import parse_config

    return parse_config({"alerts": {
        "destinations": {"soc": {"type": "webhook", "url": "https://soc.example.com/hook",
                                 "secret_source": "env:VIGIL_BENCH_SECRET"}},
        "policies": [
            {"name": "cloud-keys", "infotypes": ["AWS_CREDENTIALS", "GITHUB_TOKEN"], "min_likelihood": "VERY_LIKELY",
             "destinations": ["soc"]},
            {"name": "bulk-ssn", "infotypes": ["US_SOCIAL_SECURITY_NUMBER"], "min_per_object": 2,
             "destinations": ["soc"]},
        ]}}).alerts


def findings_table(start: int, n: int, distinct: float, seed: int, landed: datetime):
    """``n`` findings rows as an Arrow table (vectorised; values are ids, never secrets)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from vigil.lake.schemas import FINDINGS

    rng = np.random.default_rng(seed)
    idx = np.arange(start, start + n)
    popular = rng.zipf(1.3, n) % 50_000
    value = np.where(rng.random(n) < distinct, idx + 10_000_000, popular)
    kind = value % len(INFOTYPES)
    chat = rng.integers(0, 50_000, n)
    project = np.where(chat % 3 == 0, chat % 200, -1)

    def text(prefix, numbers):
        return pc.binary_join_element_wise(pa.scalar(prefix), pa.array(numbers).cast(pa.string()), "")

    def pick(options, codes):
        return pa.array(np.array(options, dtype=object)[codes], pa.string())

    has_project = pa.array(project >= 0)
    cols = {
        "finding_id": text("finding-", idx), "org_id": pa.array(["org-1"] * n),
        "chat_id": text("claude_chat_", chat), "chat_title": text("Chat number ", chat),
        "message_id": text("claude_msg_", idx // 4), "author_role": pa.array(["user"] * n),
        "project_id": pc.if_else(has_project, text("claude_proj_", project), pa.nulls(n, pa.string())),
        "project_name": pc.if_else(has_project, text("Project ", project), pa.nulls(n, pa.string())),
        "user_id": text("user_", chat % 500), "user_email": text("user", chat % 500).cast(pa.string()),
        "chat_url": text("https://claude.ai/chat/", chat), "object_key": text("object-", idx // 4),
        "object_kind": pa.array(["message"] * n), "object_id": text("claude_msg_", idx // 4),
        "locator": pa.array(["text"] * n), "start": pa.array(idx % 1000), "end": pa.array(idx % 1000 + 12),
        "infotype": pick([i for i, _, _ in INFOTYPES], kind), "category": pick([c for _, c, _ in INFOTYPES], kind),
        "detector": pick([i.lower() for i, _, _ in INFOTYPES], kind),
        "likelihood": pick(LIKELIHOODS, rng.integers(0, 3, n)), "severity": pick([s for _, _, s in INFOTYPES], kind),
        "masked": text("****", value % 10_000), "fingerprint": text("fingerprint-", value),
        "context": pa.array(["masked context ******** around it"] * n),
        "event_time": pa.array([landed - timedelta(seconds=int(s)) for s in rng.integers(0, 86_400, n)],
                               pa.timestamp("us", tz="UTC")),
        "scanned_at": pa.array([landed] * n, pa.timestamp("us", tz="UTC")),
        "scan_run_id": pa.array([f"run-{seed}"] * n), "landed_at": pa.array([landed] * n, pa.timestamp("us", tz="UTC")),
    }
    cols["user_email"] = pc.binary_join_element_wise(cols["user_email"], pa.scalar("@example.com"), "")
    arrays = [cols[f.name].cast(f.type) if f.name in cols else pa.nulls(n, f.type) for f in FINDINGS]
    return pa.Table.from_arrays(arrays, schema=FINDINGS)


def generate(lake_dir: str, n: int, distinct: float, files: int = 30) -> None:
    import pyarrow.parquet as pq

    per = n // files
    for f in range(files):
        landed = BASE + timedelta(days=f)
        table = findings_table(f * per, per if f < files - 1 else n - per * (files - 1), distinct, f, landed)
        directory = Path(lake_dir, "findings", f"dt={landed:%Y-%m-%d}")
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, directory / f"compact-{f:03d}.parquet", compression="zstd")


def phase(name: str, lake_dir: str, n: int, distinct: float) -> dict:
    from vigil.alerts.outbox import queue_alerts
    from vigil.incidents import list_incidents, refresh_incidents
    from vigil.lake import Lake

    lake = Lake(lake_dir)
    settings = policies()
    started = time.perf_counter()
    out: dict = {}
    if name == "full":
        r = refresh_incidents(lake, settings.incident_policies())
        out = {"mode": r.mode, "written": r.written, "new": r.new}
    elif name in ("rerun", "rerun-full"):
        r = refresh_incidents(lake, settings.incident_policies(), full=name == "rerun-full")
        out = {"mode": r.mode, "written": r.written}
    elif name == "incremental":
        landed = datetime.now(timezone.utc)
        lake.land({"findings": findings_table(n, 1000, distinct, 999, landed)})
        started = time.perf_counter()
        r = refresh_incidents(lake, settings.incident_policies())
        out = {"mode": r.mode, "written": r.written, "new": r.new}
    elif name == "queue":
        q = queue_alerts(lake, settings)
        out = {"queued": q.queued}
    elif name == "list":
        by_status = lake.query("SELECT status, count(*) AS n FROM incidents GROUP BY ALL").to_pylist()
        worst = list_incidents(lake, status=["open"], limit=100)
        out = {"incidents": sum(r["n"] for r in by_status), "listed": worst.num_rows}
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=float, default=0.6)
    parser.add_argument("--lake", help="keep the generated lake here (default: a temporary folder)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "incident_alerts.json"))
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.lake, args.findings, args.distinct)))
        return
    with tempfile.TemporaryDirectory(prefix="vigil-bench-incidents-") as tmp:
        lake_dir = args.lake or tmp
        t = time.perf_counter()
        generate(lake_dir, args.findings, args.distinct)
        print(f"generated {args.findings:,} findings in {time.perf_counter() - t:.1f}s", flush=True)
        results = {}
        for name in ("full", "rerun", "rerun-full", "incremental", "queue", "list"):
            cmd = [sys.executable, __file__, "--phase", name, "--lake", lake_dir,
                   "--findings", str(args.findings), "--distinct", str(args.distinct)]
            env = dict(os.environ, VIGIL_BENCH_SECRET="x")
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
            results[name] = res
            print(f"{name:12s} {json.dumps(res)}", flush=True)
    record = {"findings": args.findings, "distinct": args.distinct, "phases": results,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
              "load_avg_at_end": os.getloadavg(), "ran_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
