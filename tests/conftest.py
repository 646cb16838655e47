"""Settings for the whole suite: Prefect's settings and a vigil home per test.

Prefect reads its settings from the environment once, when it is first imported, and test
modules import it at collection (tests/alerts/ before tests/flows/): so they are set here, in
the conftest pytest loads before any test module. PREFECT_HOME is a reusable folder next to this
file (it ignores itself in git), so the SQLite schema is migrated once per machine; the first
flow call of a session starts Prefect's temporary local server and later calls reuse it. Each
pytest-xdist worker has its own subfolder: two temporary servers on one SQLite database lock
each other ("database is locked", answered as 503 to a flow run being created). The temporary
server gets 90 s to start (Prefect's default is 20): a first start migrates a fresh database,
which takes longer than that on a loaded machine.
"""

from __future__ import annotations

import os
import pathlib

import pytest

_PREFECT_HOMES = pathlib.Path(__file__).parent / ".prefect-test"
_PREFECT_HOME = _PREFECT_HOMES / os.environ.get("PYTEST_XDIST_WORKER", "main")
_PREFECT_HOME.mkdir(parents=True, exist_ok=True)
(_PREFECT_HOMES / ".gitignore").write_text("*\n")

os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_TASKS_DEFAULT_NO_CACHE", "true")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "vigil")  # vigil.* lines in flow run logs
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(autouse=True)
def _own_vigil_home(tmp_path_factory, monkeypatch):
    """A fresh ``VIGIL_HOME`` for every test (a test may set its own over it).

    vigil keeps its per-organization request budgets, saved connectors and fingerprint key there,
    by default in ``~/.config/vigil``; the simulated orgs are seeded, so tests in two processes (and
    in other checkouts on the host) would otherwise draw on the same budget file of an org and
    share one key and one set of connectors.
    """
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path_factory.mktemp("vigil-home")))
