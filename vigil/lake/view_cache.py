"""Queries of one process share a DuckDB database with the lake's views while the lake's files
stay the same.

Making the views costs 150-250 ms (about thirty ``CREATE VIEW`` statements, each binding a
``read_parquet`` over a table's files), and ``Lake.query`` used to pay it on every call: 420
connections took 103 s of 262 s in two end-to-end test modules. A lake's data files are written
once under unique names and deleted, never changed in place (``vigil.lake.writer``,
``vigil.lake.compaction``), so the sorted listing of every table's files says whether views
made earlier still show what a new connection would; the listing is what making the views
starts with anyway. Each query runs on its own cursor of the shared connection (DuckDB's way
to use one database from several threads); a changed listing makes a new database, and the old
one lives until its last cursor is closed. Remote lakes (fsspec) are not cached: their listing
costs a request per table, and their file system is registered per connection. The cached
databases are closed before the process forks (``_close_all``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from typing import Iterator

import duckdb

from vigil.lake import views
from vigil.lake.storage import LakeStorage

MAX_LAKES = 8
"""Lakes whose views a process keeps (least recently used dropped first)."""

_lock = threading.Lock()
_databases: OrderedDict[str, tuple[dict[str, tuple[str, ...]], duckdb.DuckDBPyConnection]] = OrderedDict()


@contextlib.contextmanager
def cursor(storage: LakeStorage) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the lake's views as its files are now, closed on exit; the
    caller must not change the views (``Lake.connect`` gives a connection of its own)."""
    if not storage.is_local:
        con = views.connect(storage)
        try:
            yield con
        finally:
            con.close()
        return
    files = views.data_files(storage)
    key = storage.root_url
    with _lock:
        cached = _databases.get(key)
        if cached is None or cached[0] != files:
            cached = _databases[key] = (files, views.connect(storage, files))
        _databases.move_to_end(key)
        while len(_databases) > MAX_LAKES:
            _databases.popitem(last=False)
        cur = cached[1].cursor()
    try:
        cur.execute("SET TimeZone = 'UTC'")  # a setting of the session, which a cursor does not inherit
        yield cur
    finally:
        cur.close()


def _close_all() -> None:
    """Close every cached database (before a fork): DuckDB does not survive ``fork()`` -- a child
    that inherits an open database crashes when it exits, and one that queries it crashes at
    once -- so the child must inherit none. The parent makes them again on its next query."""
    with _lock:
        for _files, con in _databases.values():
            con.close()
        _databases.clear()


os.register_at_fork(before=_close_all)


def forget(storage: LakeStorage) -> None:
    """Drop the cached views of ``storage`` (after a query found a listed file gone)."""
    with _lock:
        _databases.pop(storage.root_url, None)
