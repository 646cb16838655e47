"""Queries share a DuckDB database with the lake's views while the lake's files stay the same
(``vigil.lake.view_cache``), and see every change of them."""

from __future__ import annotations

import threading

from vigil.lake import Lake, view_cache, views

from tests.lake.test_lake import count, finding


def _counting_connects(monkeypatch) -> list[int]:
    made = []
    real = views.connect

    def connect(storage, files=None):  # noqa: ANN001, ANN202
        made.append(1)
        return real(storage, files)

    monkeypatch.setattr(views, "connect", connect)
    return made


def test_views_are_made_again_only_when_a_file_comes_or_goes(tmp_path, monkeypatch):
    made = _counting_connects(monkeypatch)
    lake = Lake(tmp_path / "lake", compact_threshold=0)
    assert count(lake, "SELECT count(*) FROM findings") == 0  # a typed empty view
    assert count(lake, "SELECT count(*) FROM findings") == 0
    assert len(made) == 1
    lake.land({"findings": [finding(i) for i in range(5)]})
    assert count(lake, "SELECT count(*) FROM findings") == 5  # no longer the empty table
    assert len(made) == 2
    lake.land({"findings": [finding(i) for i in range(3, 9)]})  # a replay of 3 ids, 3 new ones
    assert count(lake, "SELECT count(*) FROM findings") == 9
    assert count(lake, "SELECT count(*) FROM findings_all") == 11
    assert len(made) == 3
    lake.compact()  # two files become one
    assert count(lake, "SELECT count(*) FROM findings_all") == 9
    assert count(lake, "SELECT count(*) FROM findings") == 9
    assert len(made) == 4
    assert lake.ledger().get("message", "msg_1") is None  # the ledger reads through it too
    assert len(made) == 4


def test_each_lake_has_its_own_views(tmp_path):
    a, b = Lake(tmp_path / "a"), Lake(tmp_path / "b")
    a.land({"findings": [finding(i) for i in range(2)]})
    b.land({"findings": [finding(i) for i in range(7)]})
    assert (count(a, "SELECT count(*) FROM findings"), count(b, "SELECT count(*) FROM findings")) == (2, 7)


def test_queries_from_many_threads_read_one_database(tmp_path, monkeypatch):
    made = _counting_connects(monkeypatch)
    lake = Lake(tmp_path / "lake")
    lake.land({"findings": [finding(i) for i in range(12)]})
    results, errors = [], []

    def reader():
        try:
            for _ in range(15):
                results.append(lake.query("SELECT count(*) AS n, min(\"start\") AS lo FROM findings").to_pylist())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [[{"n": 12, "lo": 0}]] * 90
    assert len(made) == 1


def test_cached_queries_read_time_in_utc(tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.land({"findings": [finding(1)]})
    for _ in range(2):
        assert lake.query("SELECT current_setting('TimeZone') AS tz").to_pylist() == [{"tz": "UTC"}]
        assert lake.query("SELECT strftime(scanned_at, '%H') AS h FROM findings").to_pylist() == [{"h": "00"}]


def test_forget_drops_the_cached_views(tmp_path, monkeypatch):
    made = _counting_connects(monkeypatch)
    lake = Lake(tmp_path / "lake")
    count(lake, "SELECT count(*) FROM findings")
    view_cache.forget(lake.storage)
    count(lake, "SELECT count(*) FROM findings")
    assert len(made) == 2



FORK = """
import os, sys
from vigil.lake import Lake
from tests.lake.test_lake import finding
lake = Lake(sys.argv[1])
lake.land({"findings": [finding(i) for i in range(4)]})
assert lake.query("SELECT count(*) AS n FROM findings").to_pylist() == [{"n": 4}]
statuses = []
for child_queries in (True, False):
    pid = os.fork()
    if pid == 0:
        if child_queries:
            assert lake.query("SELECT count(*) AS n FROM findings").to_pylist() == [{"n": 4}]
        sys.exit(0)  # a normal exit: DuckDB's destructors run in the child
    statuses.append(os.waitpid(pid, 0)[1])
assert lake.query("SELECT count(*) AS n FROM findings").to_pylist() == [{"n": 4}]
print(statuses)
"""


def test_a_forked_child_inherits_no_database(tmp_path):
    """DuckDB does not survive fork(): a child holding an open database crashes when it exits
    (signal 11; one that queries it, at once). The cache closes its databases before a fork."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", FORK, str(tmp_path / "lake")], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[0,", "0]"], done.stdout + done.stderr[-2000:]
