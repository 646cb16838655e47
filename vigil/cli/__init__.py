"""vigil's command line. Each submodule listed below registers its commands on ``app``."""

import importlib

import typer

from vigil.cli.app import app, tidy_help

COMMAND_MODULES = ("connect", "init", "connector", "simulator", "inspect", "scan", "sql", "incidents",
                   "export", "report")


def load_commands() -> typer.Typer:
    """The whole command line: every command module registered, help text tidied."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"vigil.cli.{name}")
    return tidy_help(app)


def main() -> None:
    """Entry point of the ``vigil`` console script."""
    load_commands()()
