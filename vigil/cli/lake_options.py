"""The ``--lake`` / ``--connector`` / ``--config`` options that commands reading the lake share."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vigil.cli.sql import LAKE_HELP, open_lake
from vigil.lake import Lake

LakeOpt = typer.Option(None, "--lake", envvar="VIGIL_LAKE", help=LAKE_HELP)
ConnectorOpt = typer.Option(None, "--connector",
                            help="Read the lake of this connector saved with `vigil connect`.")
ConfigOpt = typer.Option(None, "--config", "-c", help="Config file (TOML or YAML).")


def resolve_lake(lake: Optional[str], connector: Optional[str], config: Optional[Path]) -> Lake:
    """``--lake`` wins; else the saved connector's lake; else the config's (default ``data``)."""
    if lake or not connector:
        return open_lake(lake, config)
    from vigil import connector as store  # noqa: PLC0415

    try:
        record = store.load(connector)
    except store.ConnectorError as exc:
        raise typer.BadParameter(str(exc), param_hint="--connector") from None
    return open_lake(record.lake_root, config)


def since_option(value: Optional[str]):  # noqa: ANN201 - datetime | None
    """Parse ``--since`` or fail with the accepted forms."""
    from vigil.timewindow import parse_since  # noqa: PLC0415

    try:
        return parse_since(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
