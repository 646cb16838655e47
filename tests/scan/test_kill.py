"""``kill -9`` at several points of a scan: the next run resumes to exactly a clean run's rows.

The scan runs as ``vigil scan historical --no-prefect`` in a subprocess against the simulator
served over real HTTP; the test kills it with SIGKILL when the simulator has seen a given number
of API calls, restarts it, kills again later, and finally lets it finish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vigil.lake import Lake
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key
from vigil.simulator.chaos import Chaos

# CPU-bound and self-contained: runs in the `waits` stream after its clock-bound tests, so the two
# streams end together (docs/testing.md, "Balancing the streams").
pytestmark = pytest.mark.late

SEED = 61
KEY_ENV = "VIGIL_KILL_TEST_KEY"


def _config(path: Path, base_url: str, org_id: str, lake: Path) -> Path:
    path.write_text("[connector]\n"
                    f'org_id = "{org_id}"\nbase_url = "{base_url}"\nkey_source = "env:{KEY_ENV}"\n'
                    f'[lake]\nroot = "{lake}"\ncompact_threshold = 0\n[rate]\nrpm = 100000\n')
    return path


def _scan(config: Path, env: dict, kill_after: int | None, chaos: Chaos) -> int:
    """Run one historical scan; SIGKILL it once the simulator has served ``kill_after`` more calls."""
    start = chaos.requests
    proc = subprocess.Popen([sys.executable, "-c", "from vigil.cli import main; main()", "scan", "historical",
                             "--days", "30", "--no-prefect", "--config", str(config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None:
            if kill_after is not None and chaos.requests - start >= kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode


def _content(lake: Lake) -> dict[str, set]:
    q = {"findings": "SELECT finding_id, masked, fingerprint, infotype FROM findings",
         "chat_events": "SELECT event_id, scan_status, findings_count FROM chat_events",
         "objects": "SELECT object_key, status, reason, findings_count FROM objects"}
    return {t: {tuple(r.values()) for r in lake.query(sql).to_pylist()} for t, sql in q.items()}


@pytest.mark.slow
def test_kill_9_at_several_points_then_resume_equals_a_clean_run(tmp_path):
    org = SyntheticOrg.generate(seed=SEED, users=8, chats=40, days=30, now=time.time() - 120)
    chaos = Chaos(build_app(org, rpm=1_000_000, code_artifact_max_bytes=256 * 1024))
    env = dict(os.environ, **{KEY_ENV: default_key(SEED).secret, "VIGIL_FINGERPRINT_KEY": "6b" * 32,
                              "VIGIL_HOME": str(tmp_path / "home")})
    with SimulatorServer(chaos) as base_url:
        clean_lake = tmp_path / "clean"
        clean_cfg = _config(tmp_path / "clean.toml", base_url, org.parent.uuid, clean_lake)
        before = chaos.requests
        assert _scan(clean_cfg, env, None, chaos) == 0
        total = chaos.requests - before
        assert total > 100

        lake_dir = tmp_path / "killed"
        cfg = _config(tmp_path / "killed.toml", base_url, org.parent.uuid, lake_dir)
        # Kill early (listing), in the middle of chats, late, and right after a restart.
        points = [total // 20, total // 3, total // 3, 5]
        for kill_after in points:
            assert _scan(cfg, env, kill_after, chaos) == -signal.SIGKILL
        assert _scan(cfg, env, None, chaos) == 0

    clean, killed = Lake(str(clean_lake)), Lake(str(lake_dir))
    assert _content(killed) == _content(clean)
    runs = killed.query("SELECT status FROM scan_runs ORDER BY started_at").to_pylist()
    assert [r["status"] for r in runs] == ["interrupted"] * len(points) + [runs[-1]["status"]]
    assert runs[-1]["status"] in ("completed", "completed_with_skips")
    leftovers = [p for p in lake_dir.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
