"""Compaction deduplicates in bounded memory, whatever the partition's size (issue 8)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from vigil.lake import Lake
from vigil.lake.compaction import compact_partition, partition_files
from vigil.lake.schemas import TABLES

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
CONTEXT = "x" * 1200  # findings carry a masked context; wide rows make the partition large


def findings(ids, version: str, context: str = "") -> pa.Table:
    n = len(ids)
    return pa.table({
        "finding_id": [f"f{i:08d}" for i in ids],
        "object_kind": ["message"] * n,
        "object_id": [f"m{i}" for i in ids],
        "infotype": ["US_SOCIAL_SECURITY_NUMBER"] * n,
        "masked": [f"***-**-{i % 10000:04d} {version}" for i in ids],
        "context": [f"{context}{i}" for i in ids],
        "start": list(range(n)),
    })


def land_partition(root, batches: int, rows_per_batch: int, context: str = CONTEXT) -> Lake:
    lake = Lake(str(root), compact_threshold=0)
    for b in range(batches):
        ids = range(b * rows_per_batch, (b + 1) * rows_per_batch)
        lake.land({"findings": findings(ids, "v1", context)}, landed_at=T0 + timedelta(seconds=b))
    return lake


def snapshot(lake: Lake) -> list[dict]:
    return lake.query("SELECT finding_id, masked, context, landed_at FROM findings ORDER BY finding_id").to_pylist()


def compact_all(lake: Lake, **options):
    (files,) = partition_files(lake.storage, "findings").values()
    return compact_partition(lake.storage, TABLES["findings"], files, **options)


def test_replays_and_ties_keep_exactly_the_latest_copy(tmp_path):
    lake = land_partition(tmp_path, batches=4, rows_per_batch=500, context="ctx ")
    # a replay of ids 250..1249 landed later with new values, then the same replay landed again
    later = T0 + timedelta(minutes=5)
    lake.land({"findings": findings(range(250, 1250), "v2")}, landed_at=later)
    lake.land({"findings": findings(range(250, 1250), "v2")}, landed_at=later)  # a tie
    before = snapshot(lake)
    assert len(before) == 2000 and lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 4000
    result = compact_all(lake, memory_limit_mb=16, rows_per_pass=300)  # 14 passes
    assert result.files_before == 6 and result.rows_kept == 2000
    assert snapshot(lake) == before
    assert lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 2000
    masked = {r["finding_id"]: r["masked"] for r in before}
    assert masked["f00000249"].endswith("v1") and masked["f00000250"].endswith("v2")


def test_a_partition_several_times_its_memory_limit(tmp_path):
    """~100 MB of rows through a 16 MB DuckDB limit: it spills and loses nothing."""
    lake = land_partition(tmp_path, batches=20, rows_per_batch=4000)
    lake.land({"findings": findings(range(0, 80_000, 7), "v2", CONTEXT)}, landed_at=T0 + timedelta(hours=1))
    before = lake.query("SELECT count(*) AS n, sum(hash(finding_id, masked, context)) AS h FROM findings").to_pylist()
    result = compact_all(lake, memory_limit_mb=16)
    assert result.rows_kept == 80_000
    assert lake.query("SELECT count(*) AS n, sum(hash(finding_id, masked, context)) AS h FROM findings"
                      ).to_pylist() == before
    assert lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 80_000
    assert lake.query("SELECT count(*) FROM findings WHERE masked LIKE '%v2'").column(0)[0].as_py() == 11_429


def test_schema_evolution_is_still_merged_by_name(tmp_path):
    lake = land_partition(tmp_path, batches=2, rows_per_batch=10, context="c")
    (files,) = partition_files(lake.storage, "findings").values()
    # an older file without the `context` and `start` columns
    import pyarrow.parquet as pq

    old = pq.read_table(files[0]).drop_columns(["context", "start"])
    pq.write_table(old, files[0])
    result = compact_all(lake)
    assert result.rows_kept == 20
    rows = lake.query("SELECT finding_id, context FROM findings ORDER BY finding_id").to_pylist()
    assert rows[0]["context"] is None and rows[-1]["context"] == "c19"


MEASURE = textwrap.dedent("""
    import json, resource, sys
    from vigil.lake import Lake
    from vigil.lake.compaction import compact_partition, partition_files
    from vigil.lake.schemas import TABLES

    def compact(root):
        lake = Lake(root, compact_threshold=0)
        (files,) = partition_files(lake.storage, "findings").values()
        return compact_partition(lake.storage, TABLES["findings"], files).rows_kept

    compact(sys.argv[1])  # warm up: libraries loaded, first allocations made
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = compact(sys.argv[2])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "added_mb": (peak - base) / 1024}))
""")


def added_memory(tmp_path, name: str, batches: int) -> dict:
    warm = land_partition(tmp_path / f"{name}-warm", batches=2, rows_per_batch=200)
    big = land_partition(tmp_path / name, batches=batches, rows_per_batch=4000)
    out = subprocess.run([sys.executable, "-c", MEASURE, warm.root_url, big.root_url],
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_partition(tmp_path):
    """A partition 3x larger adds (almost) no memory: the merge streams and spills.

    Before: DuckDB deduplicated the whole partition in memory (a 20,000-chat scan's partition of
    300,000 findings took the process from ~320 MB to 912 MB).
    """
    small = added_memory(tmp_path, "small", batches=10)   # 40,000 rows, ~50 MB of context
    large = added_memory(tmp_path, "large", batches=30)   # 120,000 rows, ~150 MB of context
    assert (small["rows"], large["rows"]) == (40_000, 120_000)
    assert large["added_mb"] < 120, (small, large)
    assert large["added_mb"] <= small["added_mb"] * 1.3 + 15, (small, large)
