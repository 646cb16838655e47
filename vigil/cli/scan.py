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
WaitOpt = typer.Option(0.0, "--wait", min=0,
                       help="Seconds to wait when another scan of the same kind holds the lake.")


def _report(result: dict) -> None:
    c = result.get("counts", {})
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.get("skipped", {}).items())) or "none"
    typer.echo(f"{result['run_type']} scan {result['run_id']}: {result['status']}")
    typer.echo(f"  chats in scope {c.get('chats_seen', 0)} (fetched {c.get('chats_fetched', 0)}), "
               f"projects {c.get('projects_seen', 0)}, activities {c.get('activities', 0)}")
    typer.echo(f"  objects scanned {c.get('objects_scanned', 0)}, skipped: {skipped}")
    if result.get("retry_later"):
        typer.echo(f"  {result['retry_later']} object(s) could not be read now; the next forward scans retry them")
    typer.echo(f"  findings {c.get('findings', 0)}; API requests {result['requests']}, "
               f"429s {result['rate_limited']}, retries {result['retries']}")


def _quiet_prefect() -> None:
    """Ephemeral-mode defaults for local runs (no telemetry noise, a patient server start) and
    vigil's own log lines (retries, skips, 429 waits) in the flow run's logs."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "vigil")


def _preflight(settings) -> None:
    """An unwritable lake or evidence folder is reported at once, before Prefect starts."""
    from vigil.config import ConfigError, check_writable_folder  # noqa: PLC0415

    try:
        check_writable_folder(settings.binding.lake_root, "lake.root")
        if settings.binding.evidence != "none":
            check_writable_folder(settings.binding.evidence, "evidence.target")
    except ConfigError as exc:
        input_error(str(exc), 1)


def _fail(exc: Exception) -> None:
    typer.secho(f"scan failed: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _run(kind: str, config: str | None, connector: str | None, no_prefect: bool, wait: float,
         days: int | None = None) -> dict:
    """Check the config and connector first (one-line errors, before any Prefect server starts),
    then run the scan plainly or as its Prefect flow, with live progress on stderr."""
    from vigil.config import ConfigError  # noqa: PLC0415
    from vigil.connector import ConnectorError  # noqa: PLC0415
    from vigil.lake import CheckpointError  # noqa: PLC0415
    from vigil.lake.lease import LeaseHeld  # noqa: PLC0415
    from vigil.scan.progress import TerminalProgress, subscribed  # noqa: PLC0415
    from vigil.scan.setup import load_run_settings  # noqa: PLC0415

    display = TerminalProgress()
    try:
        settings = load_run_settings(config, connector)
        _preflight(settings)
        days = settings.historical_days if kind == "historical" and days is None else days
        with subscribed(display):
            if no_prefect:
                from vigil.scan.local import run_forward, run_historical  # noqa: PLC0415

                if kind == "forward":
                    return run_forward(settings=settings, wait=wait)
                return run_historical(days, settings=settings, wait=wait)
            _quiet_prefect()
            if kind == "forward":
                from flows.forward_scan import forward_scan  # noqa: PLC0415

                return forward_scan(config_path=config, connector=connector, wait_seconds=wait)
            from flows.historical_scan import historical_scan  # noqa: PLC0415

            return historical_scan(max_last_modified_days=days, config_path=config, connector=connector,
                                   wait_seconds=wait)
    except ConfigError as exc:
        display.close()
        input_error(str(exc), 1)
    except (ConnectorError, CheckpointError, LeaseHeld) as exc:
        display.close()
        _fail(exc)
    finally:
        display.close()
    raise AssertionError("unreachable")


@scan_app.command("forward")
def forward(config: Optional[str] = ConfigOpt, connector: Optional[str] = ConnectorOpt,
            no_prefect: bool = PlainOpt, wait: float = WaitOpt) -> None:
    """Inspect what changed since the last forward scan, then retry earlier skips that are due."""
    result = _run("forward", config, connector, no_prefect, wait)
    if result.get("status") == "disabled":
        typer.echo("forward scan disabled by configuration")
        return
    _report(result)


@scan_app.command("historical", short_help="Inspect content modified in the last N days.")
def historical(days: Optional[int] = typer.Option(None, "--days", "-d", metavar="DAYS",
                                                  callback=validated(check_historical_days, "--days"),
                                                  help="Content modified in the last DAYS days, 1 to 3650 "
                                                       "(default: historical.days of the config)."),
               config: Optional[str] = ConfigOpt, connector: Optional[str] = ConnectorOpt,
               no_prefect: bool = PlainOpt, wait: float = WaitOpt) -> None:
    """Inspect content modified in the last N days (resumes an unfinished run)."""
    _report(_run("historical", config, connector, no_prefect, wait, days))
