"""``vigil report``: one self-contained HTML report with charts (open it without network)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vigil.cli.app import app
from vigil.cli.lake_options import ConfigOpt, ConnectorOpt, LakeOpt, resolve_lake, since_option


@app.command()
def report(
    out: str = typer.Option("report.html", "--out", "-o", help="HTML file to write (a path or fsspec URL)."),
    since: str = typer.Option("30d", "--since",
                              help="Period: 30d, 12h, 2w or a date (2026-11-01); 'all' for everything."),
    lake: Optional[str] = LakeOpt,
    connector: Optional[str] = ConnectorOpt,
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Write a self-contained HTML report with charts.

    Findings and new incidents per day, top infotypes, users and projects, open incidents by
    age, scan coverage, API budget, and the worst open incidents (masked)."""
    from vigil.report import build_report  # noqa: PLC0415

    the_lake = resolve_lake(lake, connector, config)
    start = None if since.strip().lower() == "all" else since_option(since)
    try:
        data = build_report(the_lake, out, since=start)
    except OSError as exc:
        typer.echo(f"error: cannot write {out}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    t = data.totals
    extra = f", {t['open_incidents']} open incidents" if data.has_incidents else " (no incidents table yet)"
    typer.echo(f"wrote {out}: {t['findings']} findings{extra}, {t['objects_scanned']} objects scanned, "
               f"{t['objects_skipped']} skipped")
