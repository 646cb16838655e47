"""Fixtures for the flow tests: a quiet shutdown of Prefect's temporary server, and a real
Prefect server for the tests that deploy prefect.yaml and run a worker.

Prefect's settings for the whole suite (PREFECT_HOME, startup timeout, logging) are in
tests/conftest.py: Prefect reads them when it is first imported, before this file is loaded.
"""

import logging
import pathlib

import pytest

_STACK = pytest.StashKey[object]()


@pytest.fixture(autouse=True, scope="session")
def _quiet_server_shutdown():
    """Prefect stops its temporary server at interpreter exit and logs that at INFO, after pytest
    has closed the captured streams ('--- Logging error ---' noise in CI output)."""
    yield
    logging.getLogger("prefect").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def prefect_stack(request, tmp_path_factory):
    """A real Prefect server on a free loopback port with its own PREFECT_HOME and short loops
    (``vigil.local_prefect``), started once for the tests that deploy prefect.yaml and run a worker
    (test_schedule.py, test_watch.py). Each test deploys its own deployment, starts its own worker
    and removes both; at the end every process the stack started must be gone. The stack stops
    right after the last test that uses it (``pytest_runtest_teardown`` below), not at the end of
    the session: idle, its server's short loops cost ~15% of a core, minutes of CPU that the rest
    of the suite runs short of on a 2-core machine."""
    from vigil.local_prefect import LocalPrefect

    stack = LocalPrefect(tmp_path_factory.mktemp("prefect-stack"), pathlib.Path(__file__).parents[2],
                         fast_loops=True)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    request.config.stash[_STACK] = stack
    yield stack
    alive = stack.stop()  # nothing left to stop when the last user's teardown stopped it
    assert not alive, f"processes survived the teardown: {alive}"


def _last_user(items: list[pytest.Item]) -> pytest.Item | None:
    """The last of ``items`` (the session's final order) that uses ``prefect_stack``. Its users
    all run in one xdist group, in that order, so after it no test on this worker needs it."""
    return next((item for item in reversed(items) if "prefect_stack" in getattr(item, "fixturenames", ())), None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    stack = item.config.stash.get(_STACK, None)
    if stack is not None and "prefect_stack" in item.fixturenames and item is _last_user(item.session.items):
        alive = stack.stop()
        assert not alive, f"processes survived the teardown: {alive}"
    return result
