"""``vigil export ocsf`` and ``vigil export check``: findings and incidents for a SIEM, as OCSF."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from vigil.cli.app import app
from vigil.cli.lake_options import ConfigOpt, ConnectorOpt, LakeOpt, resolve_lake, since_option

export_app = typer.Typer(help="Export findings and incidents for other tools (OCSF JSON lines).",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


class Only(str, Enum):
    findings = "findings"
    incidents = "incidents"


def _storage_options_for(out: str, lake) -> dict:  # noqa: ANN001
    """The lake's fsspec options when ``out`` lives on the same kind of store (e.g. both S3)."""
    import fsspec  # noqa: PLC0415

    if out == "-" or lake.storage.is_local:
        return {}
    protocols = lake.storage.fs.protocol
    protocols = (protocols,) if isinstance(protocols, str) else tuple(protocols)
    return dict(lake.storage.storage_options) if fsspec.core.split_protocol(out)[0] in protocols else {}


@export_app.command("ocsf")
def ocsf(
    out: str = typer.Option("-", "--out", "-o",
                            help="File, folder (with --incremental) or fsspec URL such as s3://bucket/vigil/; "
                                 "- is standard output. A name ending in .gz is compressed."),
    since: Optional[str] = typer.Option(None, "--since",
                                        help="Only content since then: 30d, 12h, 2w or a date (2026-11-01). "
                                             "With --incremental, only for a stream's first export."),
    incremental: bool = typer.Option(False, "--incremental",
                                     help="Write only what landed since this stream's last export, as a new "
                                          "file under --out (a SIEM can tail the folder or bucket prefix)."),
    stream: Optional[str] = typer.Option(None, "--stream", help="Name of the saved export progress "
                                                                "(default: derived from --out)."),
    only: Optional[Only] = typer.Option(None, "--only", help="Export only findings or only incidents."),
    no_context: bool = typer.Option(False, "--no-context", help="Leave the masked surrounding text out."),
    gzip: bool = typer.Option(False, "--gzip", help="With --incremental: compress the files (.jsonl.gz)."),
    lake: Optional[str] = LakeOpt,
    connector: Optional[str] = ConnectorOpt,
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Write findings as OCSF Data Security Finding events (and incidents as Incident Finding
    events), one JSON object per line. The OCSF version is in every event's metadata.version."""
    from vigil.export import ExportDestinationError, ExportError, export_ocsf, export_ocsf_incremental  # noqa: PLC0415

    the_lake = resolve_lake(lake, connector, config)
    start = since_option(since)
    kinds = (only.value,) if only else ("findings", "incidents")
    options = _storage_options_for(out, the_lake)
    try:
        if incremental:
            result = export_ocsf_incremental(the_lake, out, stream=stream, since=start, kinds=kinds,
                                             with_context=not no_context, gzip=gzip, storage_options=options)
        else:
            if stream or gzip:
                raise ExportError("--stream and --gzip go with --incremental (name the file .gz to compress it)")
            result = export_ocsf(the_lake, out, since=start, kinds=kinds, with_context=not no_context,
                                 storage_options=options)
    except (ExportError, ExportDestinationError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result.summary(), err=True)


@export_app.command("check")
def check(
    path: str = typer.Argument(..., metavar="FILE", hidden=True),  # described in the docstring
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Check only the first N events."),
) -> None:
    """Validate an export against the published OCSF schema (offline); exit 1 if any event fails.

    FILE is an OCSF JSON-lines file or URL (.gz is read as gzip)."""
    import fsspec  # noqa: PLC0415

    from vigil.export import OCSF_VERSION, check_lines  # noqa: PLC0415

    try:
        with fsspec.open(path, "rt", compression="infer", encoding="utf-8") as f:
            report = check_lines(f, limit=limit)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read {path}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    classes = ", ".join(f"class {k}: {v}" for k, v in sorted(report.by_class.items())) or "no events"
    typer.echo(f"{report.checked} event(s) checked against OCSF {OCSF_VERSION} ({classes}); {report.failed} invalid")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    if not report.ok:
        raise typer.Exit(1)
