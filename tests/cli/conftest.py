"""The whole `vigil` command line, as the console script builds it."""

import importlib

import pytest


@pytest.fixture(scope="session")
def vigil_app():
    from vigil.cli import COMMAND_MODULES
    from vigil.cli.app import app

    for name in COMMAND_MODULES:
        importlib.import_module(f"vigil.cli.{name}")
    return app
