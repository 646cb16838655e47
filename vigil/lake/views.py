"""DuckDB over the lake: one deduplicated view per table.

For each table ``T`` there are two views:
- ``T_all``: every landed copy of every row (replays and not-yet-compacted files included);
- ``T``: the latest copy of each id (``QUALIFY row_number() OVER (PARTITION BY id ORDER BY
  landed_at DESC) = 1``), which is what queries should use: replays and compaction never
  show a row twice.
A table with no files yet gets a typed empty view, so every query works on a new lake.

Derived views: ``org_activities`` is ``activities`` without vigil's own Compliance API reads
(``is_vigil_read``), which are most of the feed's rows while a scan runs.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from vigil.lake.incident_views import create_incident_views
from vigil.lake.schemas import LANDED_AT, PARTITION_COLUMN, TABLES, TableSpec
from vigil.lake.storage import LakeStorage


def sql_literal(text: str) -> str:
    """Quote ``text`` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def table_glob(storage: LakeStorage, spec: TableSpec) -> str:
    """Path glob of every data file of a table (hidden temporary files never match)."""
    return storage.path(spec.name, f"{PARTITION_COLUMN}=*", "*.parquet")


def new_connection(storage: LakeStorage) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC that can read the lake's filesystem."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if not storage.is_local:
        # httpfs cannot be downloaded here; DuckDB reads remote files through fsspec instead.
        con.register_filesystem(storage.fs)
    return con


def data_files(storage: LakeStorage) -> dict[str, tuple[str, ...]]:
    """Every table's data files (sorted paths). Files are written once under unique names and
    never changed in place, so equal listings mean equal contents (``vigil.lake.view_cache``)."""
    return {name: tuple(sorted(storage.glob(table_glob(storage, spec)))) for name, spec in TABLES.items()}


def create_views(con: duckdb.DuckDBPyConnection, storage: LakeStorage,
                 files: dict[str, tuple[str, ...]] | None = None) -> None:
    """(Re)create ``T_all`` and ``T`` for every table; call again to see newly created tables.
    ``files``: the listing (``data_files``) when the caller has it already."""
    for spec in TABLES.values():
        raw = f"{spec.name}_all"
        con.execute(f"DROP VIEW IF EXISTS {spec.name}")
        con.execute(f"DROP VIEW IF EXISTS {raw}")
        # A table, not a registered Arrow object: those are local to one connection, and the
        # view cache answers queries from cursors of the connection that made the views.
        con.execute(f"DROP TABLE IF EXISTS _{spec.name}_empty")
        glob = table_glob(storage, spec)
        if files[spec.name] if files is not None else storage.glob(glob):
            source = (
                f"read_parquet({sql_literal(storage.url(glob))}, hive_partitioning = true, "
                f"union_by_name = true, hive_types = {{'{PARTITION_COLUMN}': DATE}})"
            )
            con.execute(f"CREATE VIEW {raw} AS SELECT {_select_list(con, source, spec)} FROM {source}")
        else:
            empty = pa.Table.from_pylist([], schema=spec.view_schema())
            con.from_arrow(empty).create(f"_{spec.name}_empty")
            con.execute(f"CREATE VIEW {raw} AS SELECT * FROM _{spec.name}_empty")
        con.execute(
            f"CREATE VIEW {spec.name} AS SELECT * FROM {raw} "
            f"QUALIFY row_number() OVER (PARTITION BY {spec.id_column} ORDER BY {LANDED_AT} DESC) = 1"
        )


def _select_list(con: duckdb.DuckDBPyConnection, source: str, spec: TableSpec) -> str:
    """The table's columns in schema order; columns older files lack (added later) read as NULL."""
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = []
    for field in spec.view_schema():
        name = f'"{field.name}"'
        if field.name in present:
            columns.append(name)
        else:
            empty = pa.Table.from_pylist([], schema=pa.schema([field]))
            sql_type = con.from_arrow(empty).types[0]
            columns.append(f"CAST(NULL AS {sql_type}) AS {name}")
    return ", ".join(columns)


def create_derived_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views built on the deduplicated table views (see the module docstring)."""
    con.execute("CREATE OR REPLACE VIEW org_activities AS "
                "SELECT * FROM activities WHERE is_vigil_read IS NOT TRUE")
    create_incident_views(con)


def connect(storage: LakeStorage, files: dict[str, tuple[str, ...]] | None = None) -> duckdb.DuckDBPyConnection:
    """A new DuckDB connection with the lake's views (``files``: see ``create_views``)."""
    con = new_connection(storage)
    create_views(con, storage, files)
    create_derived_views(con)
    return con
