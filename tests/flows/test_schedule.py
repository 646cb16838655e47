"""The forward-scan schedule fires: a real Prefect server, the repository's prefect.yaml, a worker.

Everything runs as it would in production, with three things shortened: the forward interval
(a temporary copy of ``prefect.yaml`` whose interval is rewritten; entrypoints, work pool, pull
step and concurrency limit are the repository's), the server's scheduler loop, and the worker's
polling. The ``prefect_stack`` fixture (``vigil.local_prefect``) runs ``prefect server start``
on a free loopback port with its own PREFECT_HOME; the test creates the work pool, runs
``prefect deploy`` for the forward scan, starts ``prefect worker start``, and serves a simulated org slowly enough (low rpm) that the first
scheduled run is still scanning when the next one comes due. It then checks, through the
server's REST API, that:

- runs were created by the scheduler (``auto_scheduled``), not by hand;
- the first scheduled run completed and landed a ``scan_runs`` row;
- a scheduled run that came due while another ran was held in ``AwaitingConcurrencySlot``,
  started only after that run ended, and completed too (deployment ``concurrency_limit: 1``);
- no two runs of the deployment ever overlapped.

The worker and its flow-run processes are killed and the deployment deleted at the end of the
test; the server at the end of the session.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vigil.lake import Lake
from vigil.local_prefect import parse_time as _ts
from vigil.local_prefect import wait_for as _wait
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key

pytestmark = [pytest.mark.slow, pytest.mark.waits]  # paced by the schedule's interval and a low rpm

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENT = "forward-scan"
SEED = 43
INTERVAL_S = 12           # forward interval in the deployed copy (prefect.yaml says 300)
SIMULATOR_RPM = 600
# The first scheduled run must still be scanning when the next comes due (twice the interval),
# and not much longer: every run that comes due meanwhile is held, and each held run is offered
# to the worker again every few seconds, so the SQLite server takes more writes the more are
# held. On 2026-12-05 the default org's first forward scan took 50-70 s (119 requests, and
# 17-22 s of CPU on the 16 MiB oversize code artifact, a dense HTML table): six held runs, and
# the server answered one of them 503 "database is locked" often enough that the worker marked
# a run Crashed (3 runs out of 4). The org below has no code artifacts and the client 300 rpm:
# the first scan takes ~20 s again, as when this test was written (~63 requests at 150 rpm).
CLIENT_RPM = 300
DEADLINE_S = 420          # the whole test, server start to second run: ~90 s quiet, over 240 s on 2026-12-04


def held_after_first(runs) -> tuple[dict, dict] | None:
    """(a completed run, a later completed run that came due while the first one ran and waited
    for a slot), once both exist. The pair is not always the first two runs: the worker may
    start a later run before an earlier held one, so a run held at first can come due after
    the first run ended, behind another (seen in CI)."""
    done = runs.completed()
    for held in done[1:]:
        if "AwaitingConcurrencySlot" not in runs.state_names(held["id"]):
            continue
        due = _ts(held["expected_start_time"])
        for running in done:
            if running is not held and _ts(running["start_time"]) <= due < _ts(running["end_time"]):
                return running, held
    return None


def worker_env(tmp_path: Path) -> dict[str, str]:
    """What the worker and its flow runs need besides the stack's Prefect settings."""
    return {"VIGIL_SCHEDULE_TEST_KEY": default_key(SEED).secret, "VIGIL_FINGERPRINT_KEY": "5d" * 32,
            "VIGIL_HOME": str(tmp_path / "vigil-home")}


@pytest.fixture
def slow_org(tmp_path):
    """A small simulated org and a vigil.toml whose client budget makes a forward scan take ~20 s."""
    org = SyntheticOrg.generate(seed=SEED, users=6, chats=12, days=30, now=time.time() - 120, code_artifacts=0)
    with SimulatorServer(build_app(org, rpm=SIMULATOR_RPM)) as base_url:
        config = tmp_path / "vigil.toml"
        config.write_text(
            "[connector]\n"
            f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
            'key_source = "env:VIGIL_SCHEDULE_TEST_KEY"\n'
            f'[lake]\nroot = "{tmp_path / "lake"}"\n'
            f"[rate]\nrpm = {CLIENT_RPM}\n")
        yield config, Lake(str(tmp_path / "lake"))


@pytest.mark.timeout(DEADLINE_S + 60)
def test_scheduled_forward_runs_fire_and_never_overlap(tmp_path, prefect_stack, slow_org):
    t_start = time.monotonic()
    config, lake = slow_org
    stack = prefect_stack
    timings: dict[str, float] = {}
    deployment = worker = None
    try:
        deployment = stack.deploy(DEPLOYMENT, interval=INTERVAL_S, parameters={"config_path": str(config)})
        timings["deployed"] = time.monotonic() - t_start

        assert deployment.api["entrypoint"] == deployment.copy.entry["entrypoint"]
        assert (deployment.api.get("global_concurrency_limit") or {}).get("limit") == 1, deployment.api
        runs = stack.runs(deployment)

        worker = stack.start_worker(deployment.pool, env=worker_env(tmp_path))
        _wait(runs.scheduled, 90, "the scheduler to create a forward run", runs.diagnostics)
        timings["first scheduled run created"] = time.monotonic() - t_start

        first, held = _wait(lambda: held_after_first(runs), DEADLINE_S - (time.monotonic() - t_start),
                            "a scheduled run held by the concurrency limit to complete",
                            runs.diagnostics, 2)
        timings["held run completed"] = time.monotonic() - t_start

        every_run = runs.runs()
        assert all(r["auto_scheduled"] for r in every_run), "only the scheduler created runs"
        # The held run came due while another was running (held_after_first), and started only
        # after that one ended.
        assert _ts(held["start_time"]) >= _ts(first["end_time"]), runs.diagnostics()
        # No two runs of the deployment ever ran at the same time.
        spans = sorted((_ts(r["start_time"]), _ts(r["end_time"])) for r in every_run if r["start_time"])
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end is not None and start >= end, f"two forward runs overlapped\n{runs.diagnostics()}"

        landed = lake.query("SELECT run_type, status FROM scan_runs").to_pylist()
        assert {"run_type": "forward", "status": "completed"} in landed, landed
    finally:
        alive = stack.stop_worker(worker) if worker else []
        if deployment:
            stack.delete(deployment)
        timings["total, worker stopped"] = time.monotonic() - t_start
        print("schedule test timings (s):", {k: round(v, 1) for k, v in timings.items()})
    assert not alive, f"processes survived the teardown: {alive}"
