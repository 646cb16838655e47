"""Merge a partition's small files into one, deduplicated, without a reader ever missing a row.

Order of operations: list the partition's files; write their deduplicated union (latest copy of
each id) to a new file atomically; only then delete the listed files. A reader in between sees
rows both in the merged file and in the small ones, and the views deduplicate them, so every
id is visible exactly once at every moment. Files landed while compaction runs are not listed
and stay untouched. Two compactions racing on one partition produce two merged files with the
same rows, which the views also deduplicate (and the next compaction merges).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from vigil.lake.schemas import LANDED_AT, PARTITION_COLUMN, TABLES, TableSpec
from vigil.lake.storage import LakeStorage
from vigil.lake.views import new_connection, sql_literal
from vigil.lake.writer import PARQUET_COMPRESSION, new_file_name

BATCH_ROWS = 64_000


@dataclass(frozen=True)
class CompactionResult:
    """One compacted partition: files merged, the file written, rows before and after dedup."""

    table: str
    partition: str
    files_before: int
    rows_kept: int
    merged_file: str


def partition_files(storage: LakeStorage, table: str) -> dict[str, list[str]]:
    """Data files of ``table`` grouped by partition directory name (``dt=...``)."""
    files = storage.glob(storage.path(table, f"{PARTITION_COLUMN}=*", "*.parquet"))
    grouped: dict[str, list[str]] = {}
    for f in files:
        grouped.setdefault(posixpath.basename(posixpath.dirname(f)), []).append(f)
    return grouped


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for fld in schema:
        idx = batch.schema.get_field_index(fld.name)
        if idx < 0:
            arrays.append(pa.nulls(batch.num_rows, type=fld.type))
        else:
            arrays.append(batch.column(idx).cast(fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def compact_partition(storage: LakeStorage, spec: TableSpec, files: list[str]) -> CompactionResult:
    """Merge ``files`` (all in one partition of ``spec``) into one deduplicated file."""
    directory = posixpath.dirname(files[0])
    urls = ", ".join(sql_literal(storage.url(f)) for f in files)
    query = (
        f"SELECT * FROM read_parquet([{urls}], hive_partitioning = false, union_by_name = true) "
        f"QUALIFY row_number() OVER (PARTITION BY {spec.id_column} ORDER BY {LANDED_AT} DESC) = 1 "
        f"ORDER BY {LANDED_AT}, {spec.id_column}"
    )
    con = new_connection(storage)
    rows = 0
    try:
        reader = con.sql(query).to_arrow_reader(BATCH_ROWS)

        def write(f) -> None:
            nonlocal rows
            with pq.ParquetWriter(f, spec.schema, compression=PARQUET_COMPRESSION) as out:
                for batch in reader:
                    out.write_batch(_conform(batch, spec.schema))
                    rows += batch.num_rows

        merged = f"{directory}/{new_file_name('compact', datetime.now(timezone.utc))}"
        storage.write_atomic(merged, write)
    finally:
        con.close()
    storage.remove(files)
    return CompactionResult(spec.name, posixpath.basename(directory), len(files), rows, merged)


def compact(
    storage: LakeStorage,
    tables: list[str] | None = None,
    min_files: int = 2,
) -> list[CompactionResult]:
    """Compact every partition of ``tables`` (default: all) holding at least ``min_files`` files."""
    results = []
    for name in tables or list(TABLES):
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        for files in partition_files(storage, name).values():
            if len(files) >= max(min_files, 2):
                results.append(compact_partition(storage, TABLES[name], files))
    return results
