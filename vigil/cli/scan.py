"""``vigil scan forward|historical``: run the scan flows locally, without a Prefect worker."""

from __future__ import annotations

import os
from typing import Optional

import typer

from vigil.cli.app import app, input_error, validated
from vigil.config import check_historical_days

scan_app = typer.Typer(help="Scan the organization's content (runs the Prefect flows locally).",
                       short_help="Scan the organization's content (forward or historical).",
                       no_args_is_help=True)
app.add_typer(scan_app, name="scan")

ConfigOpt = typer.Option(None, "--config", "-c", metavar="PATH", help="Config file (TOML or YAML).")
ConnectorOpt = typer.Option(None, "--connector", metavar="NAME",
                            help="Name of a connector saved with `vigil connect`.")
PlainOpt = typer.Option(False, "--no-prefect", help="Run the plain-Python scan (no Prefect run records).")


def _report(result: dict) -> None:
    c = result.get("counts", {})
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.get("skipped", {}).items())) or "none"
    typer.echo(f"{result['run_type']} scan {result['run_id']}: {result['status']}")
    typer.echo(f"  chats in scope {c.get('chats_seen', 0)} (fetched {c.get('chats_fetched', 0)}), "
               f"projects {c.get('projects_seen', 0)}, activities {c.get('activities', 0)}")
    typer.echo(f"  objects scanned {c.get('objects_scanned', 0)}, skipped: {skipped}")
    typer.echo(f"  findings {c.get('findings', 0)}; API requests {result['requests']}, "
               f"429s {result['rate_limited']}, retries {result['retries']}")


def _quiet_prefect() -> None:
    """Ephemeral-mode defaults for local runs (no telemetry noise, a patient server start)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def _preflight(config: Optional[str], connector: Optional[str]) -> None:
    """Config errors and an unwritable lake are reported at once, before Prefect starts."""
    from vigil.config import ConfigError, load_config, require_writable  # noqa: PLC0415

    try:
        cfg = load_config(config)
        if connector is None:  # a saved connector names its own lake
            require_writable(cfg)
    except ConfigError as exc:
        input_error(str(exc), 1)


def _fail(exc: Exception) -> None:
    typer.secho(f"scan failed: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@scan_app.command("forward")
def forward(config: Optional[str] = ConfigOpt, connector: Optional[str] = ConnectorOpt,
            no_prefect: bool = PlainOpt) -> None:
    """Inspect what changed since the last forward scan."""
    from vigil.config import ConfigError  # noqa: PLC0415
    from vigil.connector import ConnectorError  # noqa: PLC0415

    _preflight(config, connector)
    try:
        if no_prefect:
            from vigil.scan.local import run_forward  # noqa: PLC0415

            result = run_forward(config, connector)
        else:
            _quiet_prefect()
            from flows.forward_scan import forward_scan  # noqa: PLC0415

            result = forward_scan(config_path=config, connector=connector)
    except (ConfigError, ConnectorError) as exc:
        _fail(exc)
    if result.get("status") == "disabled":
        typer.echo("forward scan disabled by configuration")
        return
    _report(result)


@scan_app.command("historical", short_help="Inspect content modified in the last N days.")
def historical(days: int = typer.Option(..., "--days", "-d", metavar="DAYS",
                                        callback=validated(check_historical_days, "--days"),
                                        help="Content modified in the last DAYS days (1 to 3650)."),
               config: Optional[str] = ConfigOpt, connector: Optional[str] = ConnectorOpt,
               no_prefect: bool = PlainOpt) -> None:
    """Inspect content modified in the last N days (resumes an unfinished run)."""
    from vigil.config import ConfigError  # noqa: PLC0415
    from vigil.connector import ConnectorError  # noqa: PLC0415

    _preflight(config, connector)
    try:
        if no_prefect:
            from vigil.scan.local import run_historical  # noqa: PLC0415

            result = run_historical(days, config, connector)
        else:
            _quiet_prefect()
            from flows.historical_scan import historical_scan  # noqa: PLC0415

            result = historical_scan(max_last_modified_days=days, config_path=config,
                                     connector=connector)
    except (ConfigError, ConnectorError) as exc:
        _fail(exc)
    _report(result)
