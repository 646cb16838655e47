"""`vigil reauth` and `vigil delete`: manage a saved connector (see ``vigil.connector``)."""

from __future__ import annotations

import typer

from vigil import connector as store
from vigil.cli.app import app
from vigil.config import DEFAULT_KEY_SOURCE


@app.command(short_help="Switch a saved connector to a rotated API key.")
def reauth(
    name: str = typer.Option(store.DEFAULT_NAME, "--name", "-n", metavar="NAME", help="Saved connector to update."),
    key_source: str = typer.Option(
        DEFAULT_KEY_SOURCE, "--key-source", metavar="SOURCE",
        help="prefect-secret:BLOCK_NAME or env:VARIABLE: where the rotated key is.",
    ),
) -> None:
    """Swap in a rotated API key; refused unless the new key reaches the connector's org."""
    try:
        record = store.reauth(name, key_source)
    except store.ConnectorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - API errors carry no key (vigil.api.errors)
        typer.echo(f"error: could not verify the new key: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"connector {record.name!r}: key source {record.key_source} verified for org {record.org_id}")


@app.command(short_help="Remove a saved connector (and, with --purge-data, its data).")
def delete(
    name: str = typer.Option(store.DEFAULT_NAME, "--name", "-n", metavar="NAME", help="Saved connector to delete."),
    purge_data: bool = typer.Option(False, "--purge-data",
                                    help="Also delete its lake tables, checkpoints, evidence copies "
                                         "and Prefect artifacts."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a saved connector; its landed data stays unless --purge-data is given."""
    try:
        record = store.load(name)
    except store.ConnectorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    what = f"connector {name!r} (org {record.org_id})"
    if purge_data:
        what += f" AND all its data in {record.lake_root}"
        if record.evidence != "none":
            what += f" and its evidence copies in {record.evidence}"
    if not yes and not typer.confirm(f"Delete {what}?", default=False):
        typer.echo("aborted; nothing deleted")
        raise typer.Exit(1)
    result = store.delete(name, purge_data=purge_data, artifact_remover=_remove_artifacts)
    typer.echo(f"deleted connector {name!r}")
    if purge_data:
        typer.echo("purged: " + ("; ".join(result.purged) or "nothing (no data found)"))
        for item in result.kept:
            typer.echo(f"not removed: {item}")
    else:
        typer.echo(f"data kept in {result.lake_root}")


def _remove_artifacts(connector: str) -> int:
    """Delete the Prefect artifacts of a connector's runs (through the configured Prefect API)."""
    from tasks.report import delete_connector_artifacts  # noqa: PLC0415 - Prefect only when purging

    return delete_connector_artifacts(connector)
