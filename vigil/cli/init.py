"""``vigil init``: write a commented ``vigil.toml`` for a saved connector."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from vigil import connector as store
from vigil.cli.app import app


def render_config(record: store.ConnectorRecord) -> str:
    """The commented config text for ``record`` (vigil/templates/vigil.toml)."""
    template = resources.files("vigil").joinpath("templates/vigil.toml").read_text(encoding="utf-8")
    return (template.replace("{name}", record.name).replace("{org_id}", record.org_id)
            .replace("{lake}", record.lake_root).replace("{evidence}", record.evidence))


@app.command("init", short_help="Write a commented vigil.toml for a saved connector.")
def init(
    name: str = typer.Option(store.DEFAULT_NAME, "--name", "-n", help="Saved connector the config is for."),
    out: Path = typer.Option(Path("vigil.toml"), "--out", "-o", help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a commented vigil.toml for a connector saved with `vigil connect`."""
    try:
        record = store.load(name)
    except store.ConnectorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if out.exists() and not force:
        typer.echo(f"error: {out} exists (pass --force to replace it)", err=True)
        raise typer.Exit(1)
    out.write_text(render_config(record), encoding="utf-8")
    typer.echo(f"wrote {out} for connector {name!r} (organization {record.org_id}, lake {record.lake_root})")
