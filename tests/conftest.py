"""Settings for the whole suite: Prefect's settings, a vigil home per test, and the two streams
``make test`` runs (docs/testing.md).

Prefect reads its settings from the environment once, when it is first imported, and test
modules import it at collection (tests/alerts/ before tests/flows/): so they are set here, in
the conftest pytest loads before any test module. PREFECT_HOME is a reusable folder next to this
file (it ignores itself in git), so the SQLite schema is migrated once per machine; the first
flow call of a session starts Prefect's temporary local server and later calls reuse it. Each
pytest-xdist worker has its own subfolder: two temporary servers on one SQLite database lock
each other ("database is locked", answered as 503 to a flow run being created). The temporary
server gets 90 s to start (Prefect's default is 20): a first start migrates a fresh database,
which takes longer than that on a loaded machine.

``make test`` runs pytest with ``-n 3 --dist loadgroup`` (pytest-xdist), and every test is put
in one of three xdist groups, each run serially by one worker: ``sleeps``, the tests marked
``@pytest.mark.sleeps`` (minutes of sleeping at a tenth of a core: the two-minute API outage);
``waits``, the tests marked ``@pytest.mark.waits`` (their wall time is set by the clock: a
scheduler's interval, a request budget) followed by those marked ``@pytest.mark.late``; and
``works``, all the others. A CPU-bound test then shares the two cores only with tests that are
mostly waiting, except for the ``late`` ones: these start after several minutes of waiting, when
the first stream is long past the README walkthrough. With ``-n 0`` the groups do nothing.
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

WAITS, WORKS, SLEEPS = "waits", "works", "sleeps"
GROUPS = (WAITS, WORKS, SLEEPS)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in the ``sleeps``, ``waits`` or ``works`` xdist group; ``late`` tests last."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    items.sort(key=lambda item: item.get_closest_marker("late") is not None)  # stable
    for item in items:
        if item.get_closest_marker("sleeps"):
            group = SLEEPS
        elif item.get_closest_marker("waits") or item.get_closest_marker("late"):
            group = WAITS
        else:
            group = WORKS
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown when xdist is off (-p no:xdist)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """Stop before running anything if xdist does not see the groups: it would then spread both
    streams over both workers, as pytest-xdist 3.8 does with pytest 9.2 (pytest-xdist#1386:
    its group suffix on node ids no longer takes), and CPU-bound tests would share the cores."""
    if node.config.getoption("dist") != "loadgroup":
        return
    ungrouped = [i for i in ids if not i.endswith(tuple(f"@{group}" for group in GROUPS))]
    if ungrouped:
        raise pytest.UsageError(f"--dist loadgroup does not see the test groups ({len(ungrouped)} tests "
                                f"without one, e.g. {ungrouped[0]}): see docs/testing.md")


@pytest.fixture(autouse=True)
def _own_vigil_home(tmp_path_factory, monkeypatch):
    """A fresh ``VIGIL_HOME`` for every test (a test may set its own over it).

    vigil keeps its per-organization request budgets, saved connectors and fingerprint key there,
    by default in ``~/.config/vigil``; the simulated orgs are seeded, so tests in two processes (and
    in other checkouts on the host) would otherwise draw on the same budget file of an org and
    share one key and one set of connectors.
    """
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path_factory.mktemp("vigil-home")))
