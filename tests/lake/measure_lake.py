"""Measure the lake (not a test): landing, ledger load, query and compaction costs.

Run: .venv/bin/python tests/lake/measure_lake.py [--batches 200] [--rows 100] [--objects 200000]
"""

import argparse
import gc
import os
import resource
import shutil
import tempfile
import time
from datetime import datetime, timezone

import psutil

from vigil.lake import Lake, chat_event_id, finding_id, object_key


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def batch(b: int, rows: int) -> dict:
    now = datetime.now(timezone.utc)
    findings, events, objects = [], [], []
    for i in range(rows):
        mid = f"claude_chat_msg_{b}_{i}"
        findings.append({"finding_id": finding_id("message", mid, None, "text:0", "email", 3, 20),
                         "object_kind": "message", "object_id": mid, "locator": "text:0", "start": 3, "end": 20,
                         "infotype": "EMAIL_ADDRESS", "detector": "email", "severity": "medium",
                         "masked": "j***@example.com", "fingerprint": "f" * 32, "chat_id": f"claude_chat_{b}",
                         "user_email": "user@example.com", "event_time": now, "scanned_at": now, "scan_run_id": "bench"})
        events.append({"event_id": chat_event_id("message", f"claude_chat_{b}", mid), "event_kind": "message",
                       "chat_id": f"claude_chat_{b}", "message_id": mid, "object_kind": "message", "object_id": mid,
                       "findings_count": 1, "event_time": now, "scanned_at": now, "scan_run_id": "bench"})
        objects.append({"object_key": object_key("message", mid, None), "object_kind": "message",
                        "object_id": mid, "status": "scanned", "bytes": 400, "findings_count": 1,
                        "scanned_at": now, "scan_run_id": "bench"})
    return {"findings": findings, "chat_events": events, "objects": objects}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--objects", type=int, default=200_000)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="vigil-measure-")
    lake = Lake(root, compact_threshold=32)

    t0 = time.perf_counter()
    for b in range(args.batches):
        lake.land(batch(b, args.rows))
    land_s = time.perf_counter() - t0
    files = sum(len(f) for _, _, f in os.walk(root))
    print(f"land: {args.batches} batches x 3 tables x {args.rows} rows in {land_s:.2f}s "
          f"({land_s / args.batches * 1000:.1f} ms/batch incl. auto-compaction); {files} files left")

    t0 = time.perf_counter()
    n = lake.query("SELECT count(*) FROM findings").column(0)[0].as_py()
    print(f"query: count(*) over deduplicated findings ({n} rows) in {time.perf_counter() - t0:.2f}s")

    extra = args.objects - args.batches * args.rows
    if extra > 0:
        rows = [{"object_key": object_key("file", f"claude_file_{i}", f"md5{i}"), "object_kind": "file",
                 "object_id": f"claude_file_{i}", "object_version": f"md5{i}", "status": "scanned"}
                for i in range(extra)]
        lake.land({"objects": rows})
        del rows
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    ledger = lake.ledger()
    load_s = time.perf_counter() - t0
    gc.collect()
    print(f"ledger: {len(ledger)} keys loaded in {load_s:.2f}s, +{rss_mb() - before:.0f} MB RSS")
    t0 = time.perf_counter()
    hits = sum(ledger.inspected("file", f"claude_file_{i}", f"md5{i}") for i in range(100_000))
    print(f"ledger: 100000 lookups in {time.perf_counter() - t0:.2f}s ({hits} hits)")

    t0 = time.perf_counter()
    res = lake.compact()
    print(f"compact all: {len(res)} partitions in {time.perf_counter() - t0:.2f}s")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
