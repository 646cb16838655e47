"""The whole `vigil` command line, as the console script builds it."""

import pytest


@pytest.fixture(scope="session")
def vigil_app():
    from vigil.cli import load_commands

    return load_commands()
