"""Read-only SQL over the lake: what `vigil sql` lets through, and a DuckDB connection locked down.

Two independent guards, both DuckDB's own:

1. ``check_read_only(sql)`` parses the text with ``duckdb.extract_statements`` and accepts only
   statements that read: SELECT (which covers CTEs, ``FROM t``, DESCRIBE, SHOW and SUMMARIZE),
   EXPLAIN of such a statement, PIVOT, and the informational PRAGMAs in ``READ_ONLY_PRAGMAS``.
   Everything else — COPY, ATTACH, INSTALL/LOAD, CREATE, INSERT, EXPORT/IMPORT DATABASE, SET,
   CALL, ... — is refused before anything runs.
2. ``lock_down(con, storage)`` then switches the connection itself to read-only use: extension
   auto-install/auto-load off, file access limited to the lake (``allowed_directories`` with
   ``enable_external_access = false``), and the configuration locked so no statement can undo it.

The first guard is what keeps the lake's own files safe (DuckDB allows writes inside an allowed
directory); the second one catches whatever the first might miss elsewhere on disk and blocks
extensions. Both are tested statement by statement in tests/lake/test_sql_readonly.py.
"""

from __future__ import annotations

import re

import duckdb

from vigil.lake.storage import LakeStorage
from vigil.lake.views import sql_literal

READ_ONLY_PRAGMAS = frozenset({
    "table_info", "show", "show_tables", "show_tables_expanded", "show_databases", "database_list",
    "database_size", "storage_info", "metadata_info", "version", "platform", "functions",
    "collations", "user_agent",
})
_READS = {duckdb.StatementType.SELECT, duckdb.StatementType.MULTI}  # MULTI: PIVOT
_EXPLAIN_PREFIX = re.compile(r"^\s*EXPLAIN\s*(?:\([^)]*\)\s*|ANALY[SZ]E\s+)*", re.IGNORECASE)
_LABELS = {duckdb.StatementType.LOAD: "INSTALL/LOAD", duckdb.StatementType.SET: "SET/RESET/USE",
           duckdb.StatementType.VARIABLE_SET: "SET VARIABLE"}
_PRAGMA_NAME = re.compile(r"^\s*PRAGMA\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class ReadOnlyViolation(ValueError):
    """A statement that could write or change the session; the message is one line."""


def check_read_only(sql: str) -> None:
    """Raise :class:`ReadOnlyViolation` unless every statement in ``sql`` only reads.

    A syntax error is left to DuckDB to report when the query runs.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.ParserException:
        return
    for statement in statements:
        _check_statement(statement)


def _refuse(what: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(f"vigil sql is read-only: {what} is refused (only SELECT, DESCRIBE, SHOW, "
                             "SUMMARIZE, EXPLAIN, PIVOT and informational PRAGMAs run)")


def _check_statement(statement) -> None:
    try:
        kind = statement.type
    except ValueError:  # a type this duckdb build cannot name (e.g. UPDATE EXTENSIONS)
        raise _refuse(" ".join(statement.query.split()[:2]).upper()) from None
    if kind in _READS:
        return
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the statement it explains: that one must be read-only too.
        inner = _EXPLAIN_PREFIX.sub("", statement.query, count=1)
        try:
            inner_statements = duckdb.extract_statements(inner)
        except (duckdb.ParserException, ValueError):
            inner_statements = []
        if len(inner_statements) != 1:
            raise _refuse("this EXPLAIN")
        _check_statement(inner_statements[0])
        return
    if kind == duckdb.StatementType.PRAGMA:
        # IMPORT DATABASE and COPY FROM DATABASE are PRAGMAs too; only named, informational ones run.
        match = _PRAGMA_NAME.match(statement.query)
        if match and match.group(1).lower() in READ_ONLY_PRAGMAS:
            return
        raise _refuse(" ".join(statement.query.split()[:2]))
    raise _refuse(_LABELS.get(kind, kind.name.replace("_", " ")))


def lock_down(con: duckdb.DuckDBPyConnection, storage: LakeStorage) -> None:
    """Restrict ``con`` to reading the lake: no extension installs or loads, no file access
    outside the lake root, and a locked configuration. Call after the views are created."""
    root = storage.url(storage.root).rstrip("/") + "/"
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute(f"SET allowed_directories = [{sql_literal(root)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
