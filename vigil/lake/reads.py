"""Reading the lake at scale: the latest copy of each finding without a whole-table window, and
DuckDB limits for big read-only jobs (the OCSF export, the report, the run digest)."""

from __future__ import annotations

import os
import tempfile

import duckdb

MEMORY_LIMIT = "600MB"
"""DuckDB's own memory limit for big reads: it spills to disk rather than grow past it."""


def latest_findings_sql(where: str | None = None) -> str:
    """A subquery with the latest copy of each finding, as the ``findings`` view shows.

    The view ranks every row of ``findings_all`` in a window, which holds the whole table in
    memory. Without ``where``, only ids with several copies (a replayed page, a compaction in
    progress) go through a window and the rest stream through a join on the id. With ``where``
    (SQL on ``findings_all`` columns, e.g. ``scan_run_id = 'r1'``), the matching rows are taken
    first and kept when no newer copy exists: the rows ``SELECT * FROM findings WHERE <where>``
    returns, without reading every column of every row.
    """
    if where is not None:
        return f"""(
            SELECT c.* FROM (SELECT * FROM findings_all WHERE {where}
                             QUALIFY row_number() OVER (PARTITION BY finding_id ORDER BY landed_at DESC) = 1) AS c
            ANTI JOIN findings_all AS a ON a.finding_id = c.finding_id AND a.landed_at > c.landed_at)"""
    return """(
        WITH copies AS (SELECT finding_id, count(*) AS n FROM findings_all GROUP BY finding_id)
        SELECT f.* FROM findings_all AS f JOIN copies AS c ON c.finding_id = f.finding_id AND c.n = 1
        UNION ALL
        SELECT * FROM (
            SELECT f.* FROM findings_all AS f SEMI JOIN copies AS c ON c.finding_id = f.finding_id AND c.n > 1
            QUALIFY row_number() OVER (PARTITION BY f.finding_id ORDER BY f.landed_at DESC) = 1))"""


def limit_memory(con: duckdb.DuckDBPyConnection, memory_limit: str = MEMORY_LIMIT) -> None:
    """Stream results in any order and spill to a temporary folder past ``memory_limit``."""
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    spill = os.path.join(tempfile.gettempdir(), "vigil-duckdb-spill")
    if con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] != spill:
        try:
            con.execute(f"SET temp_directory = '{spill}'")
        except duckdb.NotImplementedException:
            pass  # this connection already spilled to its own folder; keep using it


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or view (empty when it does not exist)."""
    try:
        rows = con.execute(f"DESCRIBE {relation}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {r[0]: str(r[1]) for r in rows}
