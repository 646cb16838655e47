"""Merge a partition's small files into one, deduplicated, without a reader ever missing a row.

Order of operations: list the partition's files; write their deduplicated union (latest copy of
each id) to a new file atomically; only then delete the listed files. A reader in between sees
rows both in the merged file and in the small ones, and the views deduplicate them, so every
id is visible exactly once at every moment. Files landed while compaction runs are not listed
and stay untouched. Two compactions racing on one partition produce two merged files with the
same rows, which the views also deduplicate (and the next compaction merges).

Memory stays bounded whatever the partition's size (a historical scan leaves one partition with
hundreds of thousands of rows). DuckDB does the work on a connection with a ``memory_limit``, one
thread, no insertion-order preservation and a private ``temp_directory`` to spill to, in two steps:

1. **Which copies lose.** Only narrow columns are read (id, ``landed_at``, file and row number),
   in hash-bucketed passes of at most ``ROWS_PER_PASS`` rows each; the rows that are not the
   latest copy of their id go to a temporary table (usually empty: duplicates come from replays).
2. **Stream the winners.** Every row except the losers is copied, conformed to the table's schema,
   straight into a Parquet file in small row groups (``COPY … TO``); that file is then published
   with ``LakeStorage.write_atomic``.

Files are read with ``union_by_name`` only when their schemas differ (after a schema change): it
makes DuckDB hold every file's reader at once, which costs memory per file.
"""

from __future__ import annotations

import logging
import math
import os
import posixpath
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.lake.schemas import LANDED_AT, PARTITION_COLUMN, TABLES, TableSpec
from vigil.lake.storage import LakeStorage
from vigil.lake.views import new_connection, sql_literal
from vigil.lake.writer import PARQUET_COMPRESSION, new_file_name

log = logging.getLogger(__name__)

MEMORY_LIMIT_MB = 64         # DuckDB's buffer pool for one compaction; it spills beyond
RETRY_FACTOR = 8             # rows too wide for the limit: one retry with 8x the memory
ROWS_PER_PASS = 250_000      # rows whose ids one dedup pass holds
ROW_GROUP_ROWS = 8_192       # rows per row group of the merged file
ROW_GROUP_BYTES = "16MB"     # and at most this much (wide rows)


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


def compact_partition(storage: LakeStorage, spec: TableSpec, files: list[str], *,
                      memory_limit_mb: int = MEMORY_LIMIT_MB, rows_per_pass: int = ROWS_PER_PASS) -> CompactionResult:
    """Merge ``files`` (all in one partition of ``spec``) into one deduplicated file.

    DuckDB works within ``memory_limit_mb`` (spilling to a temporary folder); rows so wide that
    a row group does not fit are retried once with ``RETRY_FACTOR`` times the limit.
    """
    directory = posixpath.dirname(files[0])
    spill = tempfile.mkdtemp(prefix="vigil-compact-")
    try:
        local = os.path.join(spill, "merged.parquet")
        try:
            _merge(storage, spec, files, local, spill, memory_limit_mb, rows_per_pass)
        except duckdb.OutOfMemoryException:
            log.warning("compacting %s/%s needs more than %d MB; retrying with %d MB", spec.name,
                        posixpath.basename(directory), memory_limit_mb, memory_limit_mb * RETRY_FACTOR)
            _merge(storage, spec, files, local, spill, memory_limit_mb * RETRY_FACTOR, rows_per_pass)
        rows = pq.ParquetFile(local).metadata.num_rows

        def publish(f) -> None:
            with open(local, "rb") as merged_copy:
                shutil.copyfileobj(merged_copy, f, 1 << 20)

        merged = f"{directory}/{new_file_name('compact', datetime.now(timezone.utc))}"
        storage.write_atomic(merged, publish)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    storage.remove(files)
    return CompactionResult(spec.name, posixpath.basename(directory), len(files), rows, merged)


def _merge(storage: LakeStorage, spec: TableSpec, files: list[str], local: str, spill: str,
           memory_limit_mb: int, rows_per_pass: int) -> None:
    """Write the deduplicated union of ``files`` to the local Parquet file ``local``."""
    con = _bounded_connection(storage, memory_limit_mb, spill)
    try:
        source = _source(con, [storage.url(f) for f in files])
        _find_losers(con, spec, source, rows_per_pass)
        con.execute(f"COPY ({_winners(con, spec, source)}) TO {sql_literal(local)} (FORMAT parquet, "
                    f"COMPRESSION {PARQUET_COMPRESSION}, ROW_GROUP_SIZE {ROW_GROUP_ROWS}, "
                    f"ROW_GROUP_SIZE_BYTES {sql_literal(ROW_GROUP_BYTES)})")
    finally:
        con.close()


def _bounded_connection(storage: LakeStorage, memory_limit_mb: int, spill: str) -> duckdb.DuckDBPyConnection:
    con = new_connection(storage)
    con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    con.execute(f"SET temp_directory = {sql_literal(spill)}")
    con.execute("SET threads = 1")
    con.execute("SET preserve_insertion_order = false")
    return con


def _source(con: duckdb.DuckDBPyConnection, urls: list[str]) -> str:
    """``read_parquet(...)`` over ``urls`` with file and row numbers; by name only if needed."""
    listed = "[" + ", ".join(sql_literal(u) for u in urls) + "]"
    schemas = con.execute(
        "SELECT count(DISTINCT signature) FROM (SELECT file_name, string_agg(name || ' ' || "
        "coalesce(duckdb_type, ''), ', ' ORDER BY column_id) AS signature "
        f"FROM parquet_schema({listed}) GROUP BY file_name)").fetchall()[0][0]
    by_name = "true" if schemas > 1 else "false"
    return (f"read_parquet({listed}, hive_partitioning = false, union_by_name = {by_name}, "
            "file_row_number = true)")


def _find_losers(con: duckdb.DuckDBPyConnection, spec: TableSpec, source: str, rows_per_pass: int) -> None:
    """Fill ``losers(file_index, file_row_number)``: every copy that is not its id's latest."""
    total = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    passes = max(1, math.ceil(total / rows_per_pass))
    con.execute("CREATE TEMP TABLE losers (file_index UBIGINT, file_row_number BIGINT)")
    for bucket in range(passes):
        where = f"WHERE hash({spec.id_column}) % {passes} = {bucket}" if passes > 1 else ""
        # Ties (the same copy in two merged files of racing compactions) keep the last file's.
        con.execute(
            f"INSERT INTO losers SELECT file_index, file_row_number FROM {source} {where} "
            f"QUALIFY row_number() OVER (PARTITION BY {spec.id_column} "
            f"ORDER BY {LANDED_AT} DESC, file_index DESC, file_row_number DESC) > 1")


def _winners(con: duckdb.DuckDBPyConnection, spec: TableSpec, source: str) -> str:
    """SELECT of every row but the losers, with exactly the table's columns and types."""
    target = pa.Table.from_pylist([], schema=spec.schema)
    con.register("_target_schema", target)
    types = {row[0]: row[1] for row in con.execute("DESCRIBE _target_schema").fetchall()}
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = ", ".join(
        f"CAST({'s.' + _quoted(name) if name in present else 'NULL'} AS {duck_type}) AS {_quoted(name)}"
        for name, duck_type in types.items())
    return (f"SELECT {columns} FROM {source} s ANTI JOIN losers l "
            "ON l.file_index = s.file_index AND l.file_row_number = s.file_row_number")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
