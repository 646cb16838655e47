"""`vigil incidents list|show|set|suppressed|refresh`: triage incidents from the terminal.

Cell text is printed as plain text: a chat title such as ``[red]x[/red]`` shows literally.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vigil.cli.app import app
from vigil.cli.sql import OutputFormat, render

incidents_app = typer.Typer(help="Incidents: one per leaked value and policy; triage them.",
                            no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")

LakeOpt = typer.Option(None, "--lake", envvar="VIGIL_LAKE", help="Lake root (folder or fsspec URL).")
ConnectorOpt = typer.Option(None, "--connector", help="Use the lake of a connector saved with `vigil connect`.")
ConfigOpt = typer.Option(None, "--config", "-c", help="Config file (TOML or YAML): lake and alert policies.")
FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="Output format.")

LIST_COLUMNS = ["incident_id", "policy", "severity", "status", "infotype", "masked", "occurrences",
                "users", "chats", "first_seen", "last_seen", "assignee", "chat_url"]
# The terminal table shows a 12-character id prefix (enough for `show` and `set`) and fewer columns.
TABLE_COLUMNS = ["id", "policy", "severity", "status", "infotype", "masked", "occurrences", "users",
                 "chats", "last_seen", "assignee", "chat_url"]
SHORT_ID = 12
OCCURRENCE_COLUMNS = ["event_time", "chat_title", "user_email", "project_name", "file_name",
                      "infotype", "masked", "context", "chat_url"]


def open_lake_and_config(lake: Optional[str], connector: Optional[str], config: Optional[Path]):
    """The lake (``--lake``, else the saved connector's, else the config's) and the config."""
    from vigil.config import ConfigError, load_config  # noqa: PLC0415
    from vigil.lake import Lake  # noqa: PLC0415

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    options = dict(cfg.lake.storage_options)
    root = lake
    if root is None and connector:
        from vigil import connector as connectors  # noqa: PLC0415

        try:
            root = connectors.load(connector).lake_root
        except connectors.ConnectorError as exc:
            raise typer.BadParameter(str(exc), param_hint="--connector") from None
    if root is None:
        root = cfg.lake.root
    if root != cfg.lake.root:
        options = {}
    return Lake(root, storage_options=options, compact_threshold=cfg.lake.compact_threshold), cfg


def parse_since(value: Optional[str]) -> Optional[datetime]:
    """``7d``, ``12h``, ``30m`` (ago) or an ISO date/time (UTC when no zone is given)."""
    if not value:
        return None
    match = re.fullmatch(r"(\d+)\s*([dhm])", value.strip())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
        return datetime.now(timezone.utc) - delta
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected 7d, 12h, 30m or an ISO date", param_hint="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _cell(value: Any) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M"))
    return Text(str(value))  # Text, not a markup string: titles print literally


def print_table(columns: list[str], rows: list[dict], *, title: str | None = None) -> None:
    """A Rich table whose cells are plain text; long text columns fold, short ones do not."""
    table = Table(title=Text(title) if title else None, header_style="bold", show_lines=False)
    for c in columns:
        folds = c in ("chat_url", "chat_title", "context", "note", "masked", "infotype", "file_name")
        table.add_column(c, overflow="fold", no_wrap=not folds)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console = Console(width=max(140, Console().width))
    console.print(table)
    console.print(Text(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", style="dim"))


def _output(columns: list[str], rows: list[dict], fmt: OutputFormat, title: str | None = None) -> None:
    if fmt is OutputFormat.table:
        print_table(columns, rows, title=title)
    else:
        render(columns, [tuple(r.get(c) for c in columns) for r in rows], fmt)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


@incidents_app.command("list")
def list_cmd(
    status: Optional[list[str]] = typer.Option(None, "--status", "-s", help="open, acknowledged, false_positive, resolved (repeatable)."),
    severity: Optional[str] = typer.Option(None, "--severity", help="Minimum severity: low, medium, high, critical."),
    since: Optional[str] = typer.Option(None, "--since", help="Seen since: 7d, 12h, 30m or an ISO date."),
    policy: Optional[str] = typer.Option(None, "--policy", "-p", help="Only this policy ('all' is every finding)."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, help="At most this many rows."),
    fmt: OutputFormat = FormatOpt,
    lake: Optional[str] = LakeOpt, connector: Optional[str] = ConnectorOpt, config: Optional[Path] = ConfigOpt,
) -> None:
    """List incidents, most severe and most recent first."""
    from vigil.incidents import TriageError, list_incidents  # noqa: PLC0415

    the_lake, _ = open_lake_and_config(lake, connector, config)
    try:
        rows = list_incidents(the_lake, status=status, min_severity=severity, since=parse_since(since),
                              policy=policy, limit=limit).to_pylist()
    except TriageError as exc:
        _fail(exc)
    if fmt is OutputFormat.table:
        print_table(TABLE_COLUMNS, [{**r, "id": r["incident_id"][:SHORT_ID]} for r in rows])
    else:
        _output(LIST_COLUMNS, rows, fmt)


@incidents_app.command("show")
def show_cmd(
    incident: str = typer.Argument(..., metavar="ID", hidden=True),  # described in the docstring
    limit: int = typer.Option(1000, "--limit", "-n", min=1, help="At most this many occurrences."),
    fmt: OutputFormat = FormatOpt,
    lake: Optional[str] = LakeOpt, connector: Optional[str] = ConnectorOpt, config: Optional[Path] = ConfigOpt,
) -> None:
    """An incident, every occurrence (chat title, user, time, masked context, link) and its history.

    ID is the incident id, or a unique prefix of at least 4 characters."""
    from vigil.incidents import TriageError, find_incident, history, occurrences  # noqa: PLC0415

    the_lake, cfg = open_lake_and_config(lake, connector, config)
    try:
        inc = find_incident(the_lake, incident)
    except TriageError as exc:
        _fail(exc)
    occ = occurrences(the_lake, inc, cfg.alerts.incident_policies(), limit=limit).to_pylist()
    if fmt is not OutputFormat.table:
        _output(OCCURRENCE_COLUMNS + ["object_key"], occ, fmt)
        return
    console = Console(width=max(140, Console().width))
    head = Text()
    head.append(f"incident {inc['incident_id']}", style="bold")
    for key in ("policy", "status", "assignee", "severity", "infotype", "category", "masked",
                "fingerprint", "occurrences", "users", "chats", "projects", "first_seen",
                "last_seen", "chat_url", "latest_chat_url", "object_key"):
        head.append(f"\n  {key}: ")
        head.append(_cell(inc.get(key)))
    if inc.get("notes"):
        head.append("\n  notes:\n    ")
        head.append(str(inc["notes"]).replace("\n", "\n    "))
    console.print(head)
    print_table(OCCURRENCE_COLUMNS, occ, title="occurrences")
    events = history(the_lake, inc["incident_id"]).to_pylist()
    if events:
        print_table(["changed_at", "who", "from_status", "to_status", "assignee", "note"], events, title="history")


@incidents_app.command("set")
def set_cmd(
    incident: str = typer.Argument(..., metavar="ID", hidden=True),  # described in the docstring
    status: Optional[str] = typer.Option(None, "--status", "-s", help="open, acknowledged, false_positive or resolved."),
    note: Optional[str] = typer.Option(None, "--note", help="A note kept with the change."),
    assignee: Optional[str] = typer.Option(None, "--assignee", help="Who handles it ('' clears)."),
    who: Optional[str] = typer.Option(None, "--who", help="Who makes the change (default $VIGIL_USER or the OS user)."),
    lake: Optional[str] = LakeOpt, connector: Optional[str] = ConnectorOpt, config: Optional[Path] = ConfigOpt,
) -> None:
    """Change an incident's status, assignee or add a note (kept in incident_events).

    ID is the incident id, or a unique prefix.

    false_positive suppresses the value under every policy: it alerts nowhere any more."""
    from vigil.incidents import TriageError, set_status  # noqa: PLC0415

    the_lake, _ = open_lake_and_config(lake, connector, config)
    try:
        change = set_status(the_lake, incident, status=status, note=note, assignee=assignee, who=who)
    except TriageError as exc:
        _fail(exc)
    msg = Text(f"incident {change.incident_id}: {change.from_status} -> {change.to_status}")
    if change.assignee:
        msg.append(f" (assignee {change.assignee})")
    if change.to_status == "false_positive":
        msg.append("; its value is suppressed under every policy")
    Console().print(msg)


@incidents_app.command("suppressed")
def suppressed_cmd(
    fmt: OutputFormat = FormatOpt,
    lake: Optional[str] = LakeOpt, connector: Optional[str] = ConnectorOpt, config: Optional[Path] = ConfigOpt,
) -> None:
    """Values (fingerprints) marked false positive: they alert nowhere."""
    from vigil.incidents import suppressed  # noqa: PLC0415

    the_lake, _ = open_lake_and_config(lake, connector, config)
    rows = suppressed(the_lake).to_pylist()
    _output(["fingerprint", "infotype", "masked", "incidents", "marked_by", "marked_at", "note"], rows, fmt)


@incidents_app.command("refresh")
def refresh_cmd(
    full: bool = typer.Option(False, "--full", help="Recompute every incident, not only those with new findings."),
    lake: Optional[str] = LakeOpt, connector: Optional[str] = ConnectorOpt, config: Optional[Path] = ConfigOpt,
) -> None:
    """Bring incidents up to date with the findings now (scans do this after landing).

    New incidents of alerting policies get their alerts queued; a scan run delivers them."""
    from vigil.alerts.pipeline import update_incidents  # noqa: PLC0415

    the_lake, cfg = open_lake_and_config(lake, connector, config)
    counts = update_incidents(the_lake, cfg.alerts, full=True if full else None)
    typer.echo(f"incidents: {counts['incidents_mode']} refresh, {counts['incidents_new']} new, "
               f"{counts['incidents_written']} written in {counts['incidents_seconds']:.1f}s; "
               f"{counts['alerts_queued']} alert(s) queued")
