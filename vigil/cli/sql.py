"""`vigil sql` and `vigil compact`: query and maintain the Parquet lake with DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import duckdb
import typer
from rich.console import Console, Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from vigil.cli.app import app, input_error
from vigil.config import ConfigError, load_config
from vigil.lake import TABLES, Lake
from vigil.lake.readonly import ReadOnlyViolation, check_read_only, lock_down


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


LAKE_HELP = "Lake root: a folder or an fsspec URL such as s3://bucket/prefix (default: lake.root of --config, else data)."


def open_lake(lake: Optional[str], config: Optional[Path]) -> Lake:
    """The lake named on the command line, else the config's, else ``data``."""
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        input_error(str(exc))
    root = lake or cfg.lake.root
    options = dict(cfg.lake.storage_options) if not lake or lake == cfg.lake.root else {}
    return Lake(root, storage_options=options, compact_threshold=cfg.lake.compact_threshold)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def render(columns: list[str], rows: list[tuple], fmt: OutputFormat, out=None) -> None:
    """Print query results as a Rich table, CSV (with header) or a JSON array of objects."""
    out = out or sys.stdout
    if fmt is OutputFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _plain(v) for v in row])
    elif fmt is OutputFormat.json:
        json.dump([{c: _plain(v) for c, v in zip(columns, row)} for row in rows], out,
                  ensure_ascii=False, default=str)
        out.write("\n")
    else:
        console = Console(file=out, highlight=False)
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console.width = 120  # piped output: no terminal to fit
        console.print(_table(columns, rows, console.width))
        console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", style="dim", markup=False)


def _cell(value: Any) -> Text:
    # Text, not str: cell content is data, never Rich markup ("[red]", "[sk-ant-…DoAA]").
    return Text("" if value is None else str(_plain(value)))


def _table(columns: list[str], rows: list[tuple], width: int):
    """A table whose headers never break inside a word; one record per block when it cannot fit."""
    if sum(len(c) + 3 for c in columns) + 1 <= width:
        table = Table(header_style="bold")
        for c in columns:
            table.add_column(Text(c, no_wrap=True), min_width=len(c), overflow="fold")
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        return table
    name_width = max(len(c) for c in columns)
    blocks = []
    for i, row in enumerate(rows, 1):
        record = Table(show_header=False, box=None, padding=(0, 1, 0, 0))
        record.add_column(style="bold", no_wrap=True, min_width=name_width)
        record.add_column(overflow="fold")
        for c, v in zip(columns, row):
            record.add_row(Text(c), _cell(v))
        blocks += [Rule(Text(f"row {i}"), align="left", style="dim"), record]
    if not rows:
        blocks.append(Text("columns: " + ", ".join(columns)))
    return Group(*blocks)


LakeOpt = typer.Option(None, "--lake", envvar="VIGIL_LAKE", metavar="PATH|URL", help=LAKE_HELP)
ConfigOpt = typer.Option(None, "--config", "-c", metavar="PATH", help="Config file (TOML or YAML).")


@app.command(short_help="Run read-only SQL on the lake and print the result.")
def sql(
    query: str = typer.Argument(..., metavar="SQL", hidden=True),  # described in the docstring
    lake: Optional[str] = LakeOpt,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", metavar="[table|csv|json]",
                                     help="Output format."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Run read-only SQL on the findings lake with DuckDB and print the result.

    SQL queries the views findings, chat_events, activities, scan_runs and objects (latest copy
    of each row) and <table>_all (every landed copy); docs/schema.md lists their columns.

    Only statements that read run (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, PIVOT and
    informational PRAGMAs); COPY, ATTACH, INSTALL/LOAD, CREATE, INSERT, EXPORT and any file
    write are refused, and DuckDB itself may only read files under the lake root.
    """
    try:
        check_read_only(query)
    except ReadOnlyViolation as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    the_lake = open_lake(lake, config)
    if not the_lake.storage.exists(the_lake.storage.root):
        typer.echo(f"note: no lake at {the_lake.root_url} yet; every table is empty", err=True)
    for attempt in (1, 2):  # a query racing a compaction may miss a just-deleted file once
        con = the_lake.connect()
        try:
            lock_down(con, the_lake.storage)
            rel = con.execute(query)
            columns = [d[0] for d in rel.description] if rel.description else []
            rows = rel.fetchall() if columns else []
            break
        except duckdb.IOException as exc:
            if attempt == 2:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None
        except duckdb.Error as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            con.close()
    render(columns, rows, fmt)


@app.command(short_help="Merge each lake partition's small Parquet files into one.")
def compact(
    lake: Optional[str] = LakeOpt,
    table: Optional[list[str]] = typer.Option(None, "--table", "-t", metavar="TABLE",
                                              help="Only these tables (repeatable)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Merge each lake partition's small Parquet files into one (rows stay visible exactly once)."""
    the_lake = open_lake(lake, config)
    for name in table or []:
        if name not in TABLES:
            raise typer.BadParameter(f"unknown table {name!r}; expected one of {', '.join(TABLES)}",
                                     param_hint="--table")
    results = the_lake.compact(list(table) if table else None)
    for r in results:
        typer.echo(f"{r.table}/{r.partition}: {r.files_before} files -> 1 ({r.rows_kept} rows)")
    if not results:
        typer.echo("nothing to compact")
