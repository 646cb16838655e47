"""The HTML report (``vigil report``) and the short per-run digest; Prefect-free. See docs/report.md."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import duckdb

from vigil.lake import Lake
from vigil.report.data import ReportData, collect
from vigil.report.html import render, write_report


def build_report(lake: Lake, out: str | os.PathLike[str], *, since: datetime | None = None,
                 storage_options: dict[str, Any] | None = None,
                 con: duckdb.DuckDBPyConnection | None = None) -> ReportData:
    """Query ``lake`` (or the given connection, which has its views) and write the report to ``out``."""
    own = con is None
    con = con or lake.connect()
    try:
        data = collect(con, since=since, lake=lake.root_url)
    finally:
        if own:
            con.close()
    write_report(data, out, storage_options)
    return data


__all__ = ["ReportData", "build_report", "collect", "render", "write_report"]
