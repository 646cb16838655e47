"""vigil's command line. Each submodule listed below registers its commands on ``app``."""

import importlib
import sys
from collections.abc import Sequence

import typer

from vigil.cli.app import app, tidy_help

# The top-level commands and groups each module registers (a test checks this against the
# modules). A command line that names one of them imports only its module: the others pull in
# DuckDB, pyarrow, httpx and pydantic models at import, about a third of a second per call.
COMMAND_MODULE_OF = {
    "connect": "connect", "init": "init", "delete": "connector", "reauth": "connector",
    "simulator": "simulator", "inspect": "inspect", "scan": "scan", "sql": "sql", "compact": "sql",
    "incidents": "incidents", "export": "export", "report": "report", "native": "native",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMAND_MODULE_OF.values()))


def load_commands(argv: Sequence[str] | None = None) -> typer.Typer:
    """The command line with its commands registered and help text tidied.

    With ``argv`` (the arguments after the program name) whose first word is a known command,
    only that command's module is registered; otherwise (no command, an unknown one, ``--help``)
    all of them are, so help and "No such command" list every command.
    """
    first = next((a for a in argv or () if not a.startswith("-")), None)
    names = (COMMAND_MODULE_OF[first],) if first in COMMAND_MODULE_OF else COMMAND_MODULES
    for name in names:
        importlib.import_module(f"vigil.cli.{name}")
    return tidy_help(app)


def main() -> None:
    """Entry point of the ``vigil`` console script."""
    load_commands(sys.argv[1:])()
