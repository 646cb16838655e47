"""Turn rows into typed Arrow tables and land them as Parquet files, one file per table and batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vigil.lake.schemas import LANDED_AT, LANDING_ORDER, PARTITION_COLUMN, TABLES, TableSpec
from vigil.lake.storage import LakeStorage

Rows = Iterable[Mapping[str, Any]] | pa.Table
PARQUET_COMPRESSION = "zstd"


class LakeSchemaError(ValueError):
    """A batch does not fit a table's schema; the message names the table and column."""


@dataclass
class LandResult:
    """What one ``land`` call wrote: a file path and row count per table (tables left out had no rows)."""

    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    landed_at: datetime | None = None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _to_utc(value: Any, where: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise LakeSchemaError(f"{where}: expected an RFC 3339 timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise LakeSchemaError(f"{where}: expected a datetime or RFC 3339 string, got {type(value).__name__}")


def rows_to_table(spec: TableSpec, rows: Rows, landed_at: datetime) -> pa.Table:
    """Build the Arrow table for ``spec`` from dict rows (or conform an Arrow table).

    Unknown columns and missing ids are errors (naming the table and column, never the value);
    missing optional columns become null; ``landed_at`` is stamped (a given value is replaced);
    timestamps may be datetimes (naive means UTC) or RFC 3339 strings; rows repeating an id
    within the batch keep only the last copy.
    """
    schema = spec.schema
    if isinstance(rows, pa.Table):
        rows = rows.to_pylist()
    rows = list(rows)
    names = set(schema.names)
    unknown: set[str] = set()
    for row in rows:
        unknown.update(k for k in row if k not in names)
    if unknown:
        raise LakeSchemaError(f"{spec.name}: unknown column(s) {', '.join(sorted(unknown))}")

    by_id: dict[str, Mapping[str, Any]] = {}
    for i, row in enumerate(rows):
        key = row.get(spec.id_column)
        if not key:
            raise LakeSchemaError(f"{spec.name}.{spec.id_column}: missing in row {i}")
        by_id.pop(key, None)  # keep the last copy, in its arrival position
        by_id[key] = row
    unique = list(by_id.values())

    arrays = []
    for fld in schema:
        if fld.name == LANDED_AT:
            arrays.append(pa.array([landed_at] * len(unique), type=fld.type))
            continue
        values = [row.get(fld.name) for row in unique]
        if pa.types.is_timestamp(fld.type):
            values = [_to_utc(v, f"{spec.name}.{fld.name}") for v in values]
        try:
            arrays.append(pa.array(values, type=fld.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            # pyarrow's message may quote the value; the value may be sensitive.
            raise LakeSchemaError(f"{spec.name}.{fld.name}: values do not fit type {fld.type}") from None
    return pa.Table.from_arrays(arrays, schema=schema)


def partition_dir(storage: LakeStorage, table: str, landed_at: datetime) -> str:
    """Directory of the ``dt=YYYY-MM-DD`` partition a batch landed at ``landed_at`` goes to."""
    day = landed_at.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return storage.path(table, f"{PARTITION_COLUMN}={day}")


def new_file_name(prefix: str, at: datetime) -> str:
    """``<prefix>-<UTC timestamp>-<random>.parquet``: sortable by time, unique across writers."""
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}-{stamp}-{uuid.uuid4().hex[:12]}.parquet"


def write_parquet(storage: LakeStorage, path: str, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (see ``LakeStorage.write_atomic``)."""
    storage.write_atomic(path, lambda f: pq.write_table(table, f, compression=PARQUET_COMPRESSION))


def land_batch(
    storage: LakeStorage,
    batch: Mapping[str, Rows],
    landed_at: datetime | None = None,
) -> LandResult:
    """Land one batch: for each table with rows, one Parquet file written atomically.

    Tables are written in ``LANDING_ORDER`` (``objects``, the ledger, last), and every table is
    converted and checked before any file is written, so bad input lands nothing.
    """
    unknown = set(batch) - set(TABLES)
    if unknown:
        raise LakeSchemaError(f"unknown table(s) {', '.join(sorted(unknown))}; "
                              f"expected {', '.join(TABLES)}")
    landed_at = landed_at or utc_now()
    tables = {}
    for name in LANDING_ORDER:
        if name in batch:
            table = rows_to_table(TABLES[name], batch[name], landed_at)
            if table.num_rows:
                tables[name] = table
    result = LandResult(landed_at=landed_at)
    for name, table in tables.items():
        path = f"{partition_dir(storage, name, landed_at)}/{new_file_name('part', landed_at)}"
        write_parquet(storage, path, table)
        result.files[name] = path
        result.rows[name] = table.num_rows
    return result
