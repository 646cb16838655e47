"""``vigil connect``: check that an organization is reachable and the key holds the three scopes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import httpx
import typer
from rich.console import Console
from rich.table import Table

from vigil.api.client import DEFAULT_BASE_URL, ComplianceClient
from vigil.api.diagnostics import (AUTH_FAILED, ERROR, MISSING, NOT_FOUND, OK, ConnectionReport, ExitCode,
                                   check_connection)
from vigil.api.keys import ENV_VAR, ApiKey
from vigil import connector as store
from vigil.cli.app import app, input_error, validated
from vigil.config import check_base_url, check_org_id, check_writable_folder

CONNECT_HELP = f"""Check that the organization is reachable with the key in ${ENV_VAR} and that
the key holds read:compliance_activities, read:compliance_user_data and read:compliance_org_data
(one cheap call each). When all three hold, the connector (org ID, base URL and where the
key lives, never the key) is saved for `vigil scan`, `vigil reauth` and `vigil delete`.

Exit codes: 0 all three scopes hold; 2 authentication failed (HTTP 401, key rejected);
3 one or more scopes missing (HTTP 403, named in the output); 4 organization not found or not
visible to the key; 5 network or server error; 6 ${ENV_VAR} is not set; 1 bad arguments
(an unknown option is reported by the CLI parser with a usage message and code 2).
"""

RETRY_SLEEP: Callable[[float], None] = time.sleep  # tests replace it to skip backoff waits

_STYLE = {OK: "green", MISSING: "yellow", AUTH_FAILED: "red", NOT_FOUND: "red", ERROR: "magenta"}


class KeyMissing(Exception):
    """The key environment variable is unset or empty."""


def key_from_env(env: Mapping[str, str] | None = None) -> ApiKey:
    """The API key from ``ANTHROPIC_COMPLIANCE_API_KEY``; raises :class:`KeyMissing`."""
    env = os.environ if env is None else env
    raw = (env.get(ENV_VAR) or "").strip()
    if not raw:
        raise KeyMissing(f"{ENV_VAR} is not set: export the Compliance Access Key in it and retry.")
    return ApiKey(raw)


def check(org_id: str, api_key: ApiKey, base_url: str = DEFAULT_BASE_URL, *,
          transport: httpx.BaseTransport | None = None, max_retries: int = 2,
          timeout: float = 15.0, sleep: Callable[[float], None] = time.sleep) -> ConnectionReport:
    """Build a client and run the scope checks. A later step extends this to save the connector."""
    with ComplianceClient(org_id, api_key, base_url=base_url, transport=transport,
                          max_retries=max_retries, timeout=timeout, sleep=sleep) as client:
        return check_connection(client)


def render(report: ConnectionReport, console: Console) -> None:
    """Print the per-scope table and the one-line verdict."""
    table = Table(title=f"Compliance API · organization {report.org_id} · {report.base_url}")
    table.add_column("scope")
    table.add_column("status")
    table.add_column("detail")
    for c in report.checks:
        detail = c.detail + (f" (request-id {c.request_id})" if c.request_id else "")
        table.add_row(c.scope, f"[{_STYLE.get(c.status, 'white')}]{c.status}[/]", detail)
    console.print(table)
    style = "green" if report.exit_code == ExitCode.OK else "red"
    console.print(f"[{style}]{report.summary}[/] (exit {int(report.exit_code)})")


def _org_id_option(value: str) -> str:
    if not value.strip():
        input_error("--org-id is required: the organization UUID (see claude.ai organization settings).", 1)
    return validated(check_org_id, "--org-id", 1)(value)


@app.command("connect", help=CONNECT_HELP, short_help="Check an organization and key; save the connector.")
def connect(
    # Optional at the Click level so a missing value exits 1, not Click's usage code 2 (= auth failed).
    org_id: str = typer.Option("", "--org-id", metavar="UUID", callback=_org_id_option,
                               help="Organization UUID the connector reads (required)."),
    base_url: str = typer.Option(DEFAULT_BASE_URL, "--base-url", metavar="URL",
                                 callback=validated(check_base_url, "--base-url", 1),
                                 help="API base URL: https, or http://127.0.0.1 for a local simulator."),
    name: str = typer.Option(store.DEFAULT_NAME, "--name", "-n", metavar="NAME",
                             help="Name to save the connector under."),
    lake_root: str = typer.Option("data", "--lake", metavar="PATH|URL",
                                  callback=validated(check_writable_folder, "--lake", 1),
                                  help="Where this connector's scans land (folder or fsspec URL)."),
    evidence: str = typer.Option("none", "--evidence", metavar="none|PATH|URL",
                                 help="Where copies of content with findings go: none, a folder or an fsspec URL."),
    save: bool = typer.Option(True, "--save/--no-save", help="Save the connector when all checks pass."),
) -> None:
    console = Console()
    try:
        key = key_from_env()
    except (KeyMissing, ValueError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(int(ExitCode.KEY_MISSING))
    try:
        report = check(org_id, key, base_url, sleep=RETRY_SLEEP)
    except ValueError as exc:  # a malformed org id or base URL
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1)
    render(report, console)
    if save and report.exit_code == ExitCode.OK:
        record = store.ConnectorRecord(name=name, org_id=org_id.strip(), base_url=base_url,
                                       key_source=f"env:{ENV_VAR}", lake_root=lake_root, evidence=evidence)
        path = store.save(record)
        console.print(f"saved connector {name!r} to {path} (the key stays in ${ENV_VAR}; it is not stored)")
    raise typer.Exit(int(report.exit_code))
