"""Fixtures for the flow tests: a quiet shutdown of Prefect's temporary server, and a real
Prefect server for the tests that deploy prefect.yaml and run a worker.

Prefect's settings for the whole suite (PREFECT_HOME, startup timeout, logging) are in
tests/conftest.py: Prefect reads them when it is first imported, before this file is loaded.
"""

import logging
import pathlib

import pytest


@pytest.fixture(autouse=True, scope="session")
def _quiet_server_shutdown():
    """Prefect stops its temporary server at interpreter exit and logs that at INFO, after pytest
    has closed the captured streams ('--- Logging error ---' noise in CI output)."""
    yield
    logging.getLogger("prefect").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory):
    """A real Prefect server on a free loopback port with its own PREFECT_HOME and short loops
    (``vigil.local_prefect``), started once for the tests that deploy prefect.yaml and run a worker
    (test_schedule.py, test_watch.py). Each test deploys its own deployment, starts its own worker
    and removes both; at the end every process the stack started must be gone."""
    from vigil.local_prefect import LocalPrefect

    stack = LocalPrefect(tmp_path_factory.mktemp("prefect-stack"), pathlib.Path(__file__).parents[2],
                         fast_loops=True)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    yield stack
    alive = stack.stop()
    assert not alive, f"processes survived the teardown: {alive}"
