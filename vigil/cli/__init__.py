"""vigil's command line. Each submodule listed below registers its commands on ``app``."""

import importlib

from vigil.cli.app import app

COMMAND_MODULES = ("connect", "init", "connector", "simulator", "inspect", "scan", "sql", "incidents",
                   "export", "report")


def main() -> None:
    """Entry point of the ``vigil`` console script."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"vigil.cli.{name}")
    app()
