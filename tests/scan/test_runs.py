"""Runs are visible, exclusive and bound to their organization (plain Python, no Prefect)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from vigil.lake import CheckpointError, Lake
from vigil.lake.lease import Lease, LeaseHeld
from vigil.lake.storage import tmp_owner
from vigil.scan.setup import OrgNotReachable

OTHER_ORG = "dc668a53-5be8-4892-aed9-1115d8ca61b7"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_is_recorded_as_running_while_it_runs(make_sim):
    sim = make_sim(seed=51, users=6, chats=20)
    seen = []

    def look(source, page, summary):
        seen.append(sim.rows(f"SELECT status, connector, org_id FROM scan_runs "
                             f"WHERE scan_run_id = '{summary.run_id}'"))

    summary = sim.scan("historical", days=30, on_page=look)
    assert seen and seen[0] == [{"status": "running", "connector": "default", "org_id": sim.org.parent.uuid}]
    final = sim.rows(f"SELECT status, owner FROM scan_runs WHERE scan_run_id = '{summary.run_id}'")
    assert final[0]["status"] == summary.status and final[0]["owner"].endswith(f":{os.getpid()}")


def test_a_second_scan_of_the_same_kind_is_refused_while_one_runs(make_sim):
    sim = make_sim(seed=52, users=6, chats=20)
    inside, release = threading.Event(), threading.Event()
    errors = []

    def hold(source, page, summary):
        inside.set()
        release.wait(30)

    def first():
        try:
            sim.scan("historical", days=30, on_page=hold)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert inside.wait(30)
        with pytest.raises(LeaseHeld, match=r"historical is held by .* pid \d+ \(run historical-"):
            sim.scan("historical", days=30)
        forward = sim.scan("forward")  # another kind of scan is not blocked
        assert forward.status in ("completed", "completed_with_skips")
    finally:
        release.set()
        t.join(60)
    assert not errors


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(make_sim):
    sim = make_sim(seed=53, users=6, chats=15)
    org = sim.org.parent.uuid
    lake = sim.lake
    lake.land({"scan_runs": [{"scan_run_id": "historical-dead", "run_type": "historical", "status": "running",
                              "org_id": org, "started_at": "2026-11-01T00:00:00Z"}]})
    # Its lease file names a process of this host that no longer exists.
    lease = Lease(lake.storage, "historical", org_id=org)
    lease.storage.write_bytes_atomic(lease.path, (
        '{"token": "x", "host": "%s", "pid": %d, "run_id": "historical-dead", "expires": 4102444800}'
        % (__import__("socket").gethostname(), _dead_pid())).encode())
    # And it left a half-written file behind.
    orphan_dir = os.path.join(sim.lake_root, "findings", "dt=2026-11-01")
    os.makedirs(orphan_dir)
    orphan = os.path.join(orphan_dir, f".part-x.parquet.{tmp_owner().split('~')[0]}~{_dead_pid()}.0123abcd.tmp")
    open(orphan, "wb").write(b"PAR1 half")

    summary = sim.scan("historical", days=30)
    rows = {r["scan_run_id"]: r for r in sim.rows("SELECT scan_run_id, status, error FROM scan_runs")}
    assert rows["historical-dead"]["status"] == "interrupted" and "stopped" in rows["historical-dead"]["error"]
    assert rows[summary.run_id]["status"] == summary.status
    params = sim.rows(f"SELECT parameters_json FROM scan_runs WHERE scan_run_id = '{summary.run_id}'")
    assert "historical-dead" in params[0]["parameters_json"]
    assert not os.path.exists(orphan)


def test_a_config_naming_another_org_stops_before_scanning(make_sim):
    sim = make_sim(seed=54, users=6, chats=10)
    sim.settings = {"connector": {"org_id": OTHER_ORG, "base_url": "http://127.0.0.1:9",
                                  "key_source": "env:VIGIL_TEST_SIM_KEY"}}
    with pytest.raises(OrgNotReachable, match=f"organization {OTHER_ORG} is not the one this key reads"):
        sim.scan("historical", days=30)
    paths = [p for _t, p, _s in sim.chaos.log]
    assert paths and not [p for p in paths if "/apps/" in p or "/activities" in p]
    assert Lake(sim.lake_root).query("SELECT count(*) AS n FROM scan_runs").to_pylist() == [{"n": 0}]


def test_cursors_of_one_org_are_refused_for_another(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    org = "344408a7-2f0b-414a-a80c-0a156b94a21d"
    lake.checkpoints("forward", org_id=org).update(chats={"after_id": "c1"})
    stolen = tmp_path / "lake" / "_state" / OTHER_ORG / "forward.json"
    stolen.parent.mkdir(parents=True)
    stolen.write_bytes((tmp_path / "lake" / "_state" / org / "forward.json").read_bytes())
    with pytest.raises(CheckpointError, match=f"belongs to organization {org}, not {OTHER_ORG}"):
        lake.checkpoints("forward", org_id=OTHER_ORG).load()
    assert lake.checkpoints("forward", org_id=org).load()["chats"] == {"after_id": "c1"}


def test_a_run_says_whether_the_detection_engine_runs_compiled(monkeypatch, caplog):
    """The scan's log names the engine it runs: compiled, the Python source by choice
    (``VIGIL_NATIVE=0``), or the Python source for want of a current build (a warning)."""
    from vigil.detect import native
    from vigil.scan.setup import log_engine_build

    missing = "no build in /srv/site-packages/build/native"
    cases = [({"active": True, "reason": "compiled", "directory": "/opt/build/native"},
              "INFO", "detection engine: compiled (/opt/build/native)"),
             ({"active": False, "reason": "VIGIL_NATIVE=0"}, "INFO", "detection engine: Python source (VIGIL_NATIVE=0)"),
             ({"active": False, "reason": missing}, "WARNING",
              f"detection engine: Python source, not compiled ({missing}); `vigil native build` compiles it")]
    for state, level, message in cases:
        monkeypatch.setattr(native, "_state", state)
        caplog.clear()
        with caplog.at_level("INFO", logger="vigil.scan.setup"):
            log_engine_build()
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [(level, message)]
