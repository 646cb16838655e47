"""Prefect settings for the flow tests; the only place in the suite where Prefect starts.

PREFECT_HOME is a reusable folder next to this file (it ignores itself in git), so the SQLite
schema is migrated once per machine; the first flow call of the session starts Prefect's
temporary local server and later calls reuse it.
"""

import os
import pathlib

_HOME = pathlib.Path(__file__).parent / ".prefect-test"
_HOME.mkdir(exist_ok=True)
(_HOME / ".gitignore").write_text("*\n")

os.environ["PREFECT_HOME"] = str(_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_TASKS_DEFAULT_NO_CACHE", "true")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "vigil")  # vigil.* lines in flow run logs
os.environ.pop("PREFECT_API_URL", None)


import logging  # noqa: E402

import pytest  # noqa: E402


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
