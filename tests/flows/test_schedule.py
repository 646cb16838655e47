"""The forward-scan schedule fires: a real Prefect server, the repository's prefect.yaml, a worker.

Everything runs as it would in production, with three things shortened: the forward interval
(a temporary copy of ``prefect.yaml`` whose interval is rewritten; entrypoints, work pool, pull
step and concurrency limit are the repository's), the server's scheduler loop, and the worker's
polling. The test starts ``prefect server start`` on a free loopback port with its own
PREFECT_HOME, creates the work pool, runs ``prefect deploy`` for the forward scan, starts
``prefect worker start``, and serves a simulated org slowly enough (low rpm) that the first
scheduled run is still scanning when the next one comes due. It then checks, through the
server's REST API, that:

- runs were created by the scheduler (``auto_scheduled``), not by hand;
- the first scheduled run completed and landed a ``scan_runs`` row;
- the next scheduled run was held in ``AwaitingConcurrencySlot`` while the first ran, started
  only after the first ended, and completed too (deployment ``concurrency_limit: 1``);
- no two runs of the deployment ever overlapped.

Every process it started (server, worker and the worker's flow-run processes) is killed at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from vigil.lake import Lake
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENT = "forward-scan"
SEED = 43
INTERVAL_S = 12           # forward interval in the deployed copy (prefect.yaml says 300)
SIMULATOR_RPM = 600
CLIENT_RPM = 150          # the first forward scan needs ~63 requests: ~25 s, twice the interval
DEADLINE_S = 240          # the whole test, server start to second run; it takes ~90 s


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prefect_cli() -> list[str]:
    script = Path(sys.executable).with_name("prefect")
    return [str(script)] if script.exists() else [sys.executable, "-m", "prefect"]


def _deployment_config(prefect_yaml: dict, name: str) -> dict:
    for dep in prefect_yaml["deployments"]:
        if dep["name"] == name:
            return dep
    raise AssertionError(f"prefect.yaml has no deployment named {name!r}")


def _pull_directory_variable(prefect_yaml: dict) -> str | None:
    """The ``{{ $VAR }}`` the pull step's working directory is templated on, if any."""
    for step in prefect_yaml.get("pull") or []:
        for options in step.values():
            directory = str((options or {}).get("directory", ""))
            if "{{" in directory and "$" in directory:
                return directory.split("$", 1)[1].split("}}", 1)[0].strip()
    return None


def shortened_prefect_yaml(source: Path, target: Path, config_path: Path) -> tuple[dict, str | None]:
    """Copy ``prefect.yaml`` with the forward interval shortened and the config path pointed at
    the test's config; everything else (entrypoint, pool, pull, limits) stays as it is."""
    data = yaml.safe_load(source.read_text())
    dep = _deployment_config(data, DEPLOYMENT)
    intervals = [s for s in dep.get("schedules") or [] if "interval" in s]
    assert intervals, f"{DEPLOYMENT} in prefect.yaml has no interval schedule"
    for schedule in intervals:
        schedule["interval"] = INTERVAL_S
    assert "config_path" in (dep.get("parameters") or {}), "the forward deployment takes config_path"
    dep["parameters"] = {**dep["parameters"], "config_path": str(config_path)}
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return dep, _pull_directory_variable(data)


class Processes:
    """Subprocesses started by the test, each in its own session; ``stop`` kills them and every
    descendant (the worker's flow-run processes included)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        proc._log = log  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> list[int]:
        """Kill everything; return the pids still alive afterwards (should be none)."""
        everyone: list[psutil.Process] = []
        for proc in self.started:
            try:
                parent = psutil.Process(proc.pid)
                everyone += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for proc in self.started:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        gone, alive = psutil.wait_procs(everyone, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        gone, alive = psutil.wait_procs(alive, timeout=10)
        for proc in self.started:
            proc.wait(timeout=10)
            proc._log.close()  # type: ignore[attr-defined]
        return [p.pid for p in alive]


def _wait(predicate, timeout: float, what: str, on_timeout=lambda: "", interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")
        time.sleep(interval)


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def prefect_env(tmp_path: Path, port: int) -> dict[str, str]:
    """Environment of every Prefect process: its own home, the test server, short loops."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return dict(
        env,
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="1",
        PREFECT_TASKS_DEFAULT_NO_CACHE="true",
        PREFECT_LOGGING_LEVEL="INFO",
        VIGIL_SCHEDULE_TEST_KEY=default_key(SEED).secret,
        VIGIL_FINGERPRINT_KEY="5d" * 32,
        VIGIL_HOME=str(tmp_path / "vigil-config"),
    )


class DeploymentRuns:
    """The flow runs of one deployment, read from the server's REST API."""

    def __init__(self, client: httpx.Client, deployment_id: str, procs: Processes):
        self.client, self.deployment_id, self.procs = client, deployment_id, procs

    def runs(self) -> list[dict]:
        return self.client.post("/flow_runs/filter", json={
            "flow_runs": {"deployment_id": {"any_": [self.deployment_id]}},
            "sort": "EXPECTED_START_TIME_ASC"}).json()

    def state_names(self, run_id: str) -> list[str]:
        found = self.client.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
        return [s["name"] for s in sorted(found, key=lambda s: s["timestamp"])]

    def scheduled(self) -> list[dict]:
        runs = [r for r in self.runs() if r["auto_scheduled"]]
        broken = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED", "CANCELLED")]
        assert not broken, f"a scheduled run did not complete\n{self.diagnostics()}"
        return runs

    def held_after_first(self) -> tuple[dict, dict] | None:
        """(first completed run, a later completed run that waited for a slot), once both exist."""
        done = sorted((r for r in self.scheduled() if r["state_type"] == "COMPLETED"),
                      key=lambda r: _ts(r["start_time"]))
        held = [r for r in done[1:] if "AwaitingConcurrencySlot" in self.state_names(r["id"])]
        return (done[0], held[0]) if held else None

    def diagnostics(self) -> str:
        lines = [f"{r['name']} auto={r['auto_scheduled']} {r['state_type']}/{r['state_name']} "
                 f"expected={r['expected_start_time']} start={r['start_time']} end={r['end_time']}"
                 for r in self.runs()]
        return ("runs:\n" + "\n".join(lines) + "\n--- server log ---\n" + self.procs.tail("server")
                + "\n--- worker log ---\n" + self.procs.tail("worker"))


@pytest.fixture
def slow_org(tmp_path):
    """A small simulated org and a vigil.toml whose client budget makes a forward scan take ~25 s."""
    org = SyntheticOrg.generate(seed=SEED, users=6, chats=12, days=30, now=time.time() - 120)
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
def test_scheduled_forward_runs_fire_and_never_overlap(tmp_path, slow_org):
    t_start = time.monotonic()
    config, lake = slow_org
    (tmp_path / "logs").mkdir()
    port = _free_port()
    env = prefect_env(tmp_path, port)
    prefect = _prefect_cli()
    procs = Processes(tmp_path / "logs")
    timings: dict[str, float] = {}

    def cli(*args: str, **extra_env: str) -> None:
        done = subprocess.run([*prefect, *args], env=dict(env, **extra_env), cwd=REPO, text=True,
                              capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"

    try:
        server = procs.start("server", [*prefect, "server", "start", "--host", "127.0.0.1",
                                        "--port", str(port)], env, tmp_path)
        with httpx.Client(base_url=env["PREFECT_API_URL"], timeout=10) as client:
            def healthy() -> bool:
                assert server.poll() is None, f"prefect server exited\n{procs.tail('server')}"
                try:
                    return client.get("/health").status_code == 200
                except httpx.TransportError:
                    return False

            _wait(healthy, 120, "the Prefect server", lambda: procs.tail("server"), 0.5)
            timings["server up"] = time.monotonic() - t_start

            deployment, pull_var = shortened_prefect_yaml(REPO / "prefect.yaml", tmp_path / "prefect.yaml",
                                                          config)
            pool = deployment["work_pool"]["name"]
            cli("work-pool", "create", pool, "--type", "process")
            cli("--no-prompt", "deploy", "--prefect-file", str(tmp_path / "prefect.yaml"), "--name", DEPLOYMENT,
                **({pull_var: str(REPO)} if pull_var else {}))
            timings["deployed"] = time.monotonic() - t_start

            found = client.post("/deployments/filter", json={
                "deployments": {"name": {"any_": [DEPLOYMENT]}}}).json()
            assert len(found) == 1 and found[0]["entrypoint"] == deployment["entrypoint"]
            assert (found[0].get("global_concurrency_limit") or {}).get("limit") == 1, found[0]
            runs = DeploymentRuns(client, found[0]["id"], procs)

            procs.start("worker", [*prefect, "worker", "start", "--pool", pool, "--type", "process"],
                        env, REPO)
            _wait(runs.scheduled, 90, "the scheduler to create a forward run", runs.diagnostics)
            timings["first scheduled run created"] = time.monotonic() - t_start

            first, held = _wait(runs.held_after_first, DEADLINE_S - (time.monotonic() - t_start),
                                "a scheduled run held by the concurrency limit to complete",
                                runs.diagnostics, 2)
            timings["held run completed"] = time.monotonic() - t_start

            every_run = runs.runs()
            assert all(r["auto_scheduled"] for r in every_run), "only the scheduler created runs"
            # The held run came due while the first was running, and started only after it ended.
            assert _ts(held["expected_start_time"]) < _ts(first["end_time"]), runs.diagnostics()
            assert _ts(held["start_time"]) >= _ts(first["end_time"]), runs.diagnostics()
            # No two runs of the deployment ever ran at the same time.
            spans = sorted((_ts(r["start_time"]), _ts(r["end_time"])) for r in every_run if r["start_time"])
            for (_, end), (start, _) in zip(spans, spans[1:]):
                assert end is not None and start >= end, f"two forward runs overlapped\n{runs.diagnostics()}"

        landed = lake.query("SELECT run_type, status FROM scan_runs").to_pylist()
        assert {"run_type": "forward", "status": "completed"} in landed, landed
    finally:
        alive = procs.stop()
        timings["total, processes stopped"] = time.monotonic() - t_start
        print("schedule test timings (s):", {k: round(v, 1) for k, v in timings.items()})
    assert not alive, f"processes survived the teardown: {alive}"
