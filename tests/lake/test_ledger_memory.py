"""The in-memory ledger stays small while a run lands hundreds of thousands of objects.

Issue 8 measured a historical scan's peak memory growing 1.15x from 20,000 to 50,000 chats:
every object landed during the run went into a dict keyed by its 64-character object key
(~150 bytes each). These tests bound the bytes per object landed in a run and check that the
compact form keeps every verdict: the newest verdict wins, retryable skips keep their attempts.
"""

import tracemalloc

from vigil.lake.ids import object_key
from vigil.lake.ledger import Ledger

BYTES_PER_OBJECT = 40  # the old dict took ~150; the compact form ~9 plus amortised buffers


def rows(n: int, start: int = 0, status: str = "scanned", reason=None, kind: str = "file"):
    for i in range(start, start + n):
        yield {"object_key": object_key(kind, f"claude_file_{i}", f"md5-{i}"), "object_kind": kind,
               "object_id": f"claude_file_{i}", "object_version": f"md5-{i}", "status": status,
               "reason": reason, "attempts": 1, "scan_run_id": "run-1"}


def test_objects_landed_during_a_run_cost_a_few_bytes_each():
    ledger = Ledger(run_id="run-1")
    n = 200_000
    batch = 1_000
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for start in range(0, n, batch):
            ledger.record(list(rows(batch, start)))
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ledger) == n
    assert (after - before) / n < BYTES_PER_OBJECT, f"{(after - before) / n:.0f} bytes per object"
    assert all(ledger.inspected("file", f"claude_file_{i}", f"md5-{i}") for i in range(0, n, 997))
    assert not ledger.inspected("file", "claude_file_5", "md5-6")


def test_the_newest_verdict_wins_across_compactions():
    ledger = Ledger(run_id="run-2")
    ledger.record(rows(5, status="skipped", reason="too_large"))
    ledger.record(rows(100_000, start=10))  # enough to fold the first verdicts into the sorted base
    assert ledger.get("file", "claude_file_3", "md5-3").reason == "too_large"
    ledger.record(rows(1, start=3))  # scanned again later: now scanned
    ledger.record(rows(100_000, start=200_000))
    assert ledger.get("file", "claude_file_3", "md5-3").status == "scanned"
    assert len(ledger) == 5 + 100_000 + 100_000


def test_a_retryable_skip_keeps_its_attempts_then_settles_when_scanned():
    ledger = Ledger(run_id="run-3")
    ledger.record([{**next(rows(1, 7)), "status": "skipped", "reason": "integrity", "attempts": 2,
                    "scan_run_id": "run-2"}])
    assert ledger.next_attempt("file", "claude_file_7", "md5-7") == 3
    assert not ledger.inspected("file", "claude_file_7", "md5-7")  # due again in this run
    ledger.record(rows(100_000, start=100))
    ledger.record(rows(1, 7))
    assert ledger.inspected("file", "claude_file_7", "md5-7")
    assert ledger.get("file", "claude_file_7", "md5-7").status == "scanned"
    assert ledger.next_attempt("file", "claude_file_7", "md5-7") == 1
