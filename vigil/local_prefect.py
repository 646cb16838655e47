"""A local Prefect stack for tests and benchmarks: a real server, the repository's deployments,
a real worker, on loopback.

Everything goes through the ``prefect`` CLI (server, work pool, deploy, schedules, worker,
delete) and the server's REST API (health, reading deployments and flow runs), never through
Prefect's Python API, so this module does not import Prefect and lives in the Prefect-free
package. Every change goes through the CLI: the server answers a change with 503 when its SQLite
database is locked, which happens now and then while its own services write, and Prefect's client
in the CLI retries a 503 (``PREFECT_CLIENT_MAX_RETRIES`` times); this module's REST client is plain
httpx, without retries, and only reads, which SQLite (in WAL mode) does not hold up for a
writer.

    with LocalPrefect(workdir, repo=REPO, fast_loops=True) as stack:   # server up and healthy
        deployment = stack.deploy("watch", interval=10, parameters={"config_path": str(config)})
        stack.resume_schedules(deployment)       # prefect.yaml deploys the watch switched off
        stack.start_worker(deployment.pool, env={"MY_KEY": "..."})
        runs = stack.runs(deployment)
        wait_for(runs.completed, 120, "a completed run", runs.diagnostics)
    # every process started (server, workers, their flow-run processes) is gone here

``deploy`` writes a copy of the repository's ``prefect.yaml`` in which only what the caller
names is changed (one deployment's interval, parameters, schedule ``active`` flag); entrypoint,
work pool, pull step and concurrency limit stay the repository's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

# Prefect's loops shortened for tests (the defaults: scheduler every 60 s, a run held by a
# concurrency limit retried after 30 s, workers polling every 10 s).
FAST_LOOPS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
    "PREFECT_WORKER_QUERY_SECONDS": "1",
    "PREFECT_WORKER_PREFETCH_SECONDS": "1",
}
FINISHED = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
BROKEN = ("FAILED", "CRASHED", "CANCELLED")
# the server's message on a run it cancelled because a CANCEL_NEW deployment was already running
LIMIT_REACHED = "Deployment concurrency limit reached."


def skipped_by_limit(run: Mapping[str, Any]) -> bool:
    """Whether the server cancelled this flow run (REST ``FlowRun``) before it started because its
    deployment's concurrency limit was reached under the ``CANCEL_NEW`` collision strategy."""
    state = run.get("state") or {}
    return run["state_type"] == "CANCELLED" and state.get("message") == LIMIT_REACHED


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_cli() -> list[str]:
    """The ``prefect`` command of the running interpreter's environment."""
    script = Path(sys.executable).with_name("prefect")
    return [str(script)] if script.exists() else [sys.executable, "-m", "prefect"]


def parse_time(value: str | None) -> datetime | None:
    """An ISO timestamp from the REST API (``…Z`` or with an offset), or None."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             on_timeout: Callable[[], str] = lambda: "", interval: float = 1.0) -> Any:
    """Call ``predicate`` every ``interval`` s until it returns something truthy (returned);
    ``AssertionError`` naming ``what`` and ``on_timeout()`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")
        time.sleep(interval)


def prefect_env(home: Path, port: int, *, fast_loops: bool = False,
                extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of every Prefect process of a stack: this process's environment without its
    ``PREFECT_*`` settings, its own PREFECT_HOME, the stack's API URL, no analytics or UI,
    and (``fast_loops``) the shortened loops of ``FAST_LOOPS``; ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_TASKS_DEFAULT_NO_CACHE="true",
        PREFECT_LOGGING_LEVEL="INFO",
        # the server logs the error behind each 503 it answers ("database is locked"), which it
        # leaves out by default: the stack's server.log then shows why a request was refused
        PREFECT_SERVER_LOG_RETRYABLE_ERRORS="true",
    )
    if fast_loops:
        env.update(FAST_LOOPS)
    env.update(extra or {})
    return env


def deployment_entry(prefect_yaml: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``deployments`` entry called ``name``; ``KeyError`` when there is none."""
    for dep in prefect_yaml.get("deployments") or []:
        if dep["name"] == name:
            return dep
    raise KeyError(f"prefect.yaml has no deployment named {name!r}")


def pull_directory_variable(prefect_yaml: Mapping[str, Any]) -> str | None:
    """The ``{{ $VAR }}`` the pull step's working directory is templated on, if any."""
    for step in prefect_yaml.get("pull") or []:
        for options in step.values():
            directory = str((options or {}).get("directory", ""))
            if "{{" in directory and "$" in directory:
                return directory.split("$", 1)[1].split("}}", 1)[0].strip()
    return None


@dataclass(frozen=True)
class DeploymentCopy:
    """A deployment as written to the temporary ``prefect.yaml``."""

    name: str
    entry: dict[str, Any]           # the deployment's entry after the overrides
    path: Path                      # the temporary prefect.yaml
    pull_variable: str | None       # environment variable the pull step needs at deploy time

    @property
    def pool(self) -> str:
        return self.entry["work_pool"]["name"]


def write_deployment_copy(source: Path, target: Path, name: str, *, interval: float | None = None,
                          parameters: Mapping[str, Any] | None = None,
                          active: bool | None = None) -> DeploymentCopy:
    """Copy ``source`` (a prefect.yaml) to ``target`` with deployment ``name`` changed only as
    asked: every interval schedule's ``interval`` (and ``active``), parameters merged over its own.
    A requested change the deployment cannot take (no interval schedule, an unknown parameter)
    raises ``ValueError``."""
    data = yaml.safe_load(Path(source).read_text())
    dep = deployment_entry(data, name)
    intervals = [s for s in dep.get("schedules") or [] if "interval" in s]
    if (interval is not None or active is not None) and not intervals:
        raise ValueError(f"deployment {name!r} in {source} has no interval schedule")
    for schedule in intervals:
        if interval is not None:
            schedule["interval"] = interval
        if active is not None:
            schedule["active"] = active
    if parameters:
        own = dep.get("parameters") or {}
        unknown = sorted(set(parameters) - set(own))
        if unknown:
            raise ValueError(f"deployment {name!r} takes no parameter {', '.join(unknown)}")
        dep["parameters"] = {**own, **parameters}
    Path(target).write_text(yaml.safe_dump(data, sort_keys=False))
    return DeploymentCopy(name, dep, Path(target), pull_directory_variable(data))


class Processes:
    """Subprocesses, each in its own session with its output in ``<logs>/<name>.log``; ``stop``
    kills them and every descendant (a worker's flow-run processes included)."""

    def __init__(self, logs: Path):
        self.logs = Path(logs)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen:
        if name in self.started:
            raise ValueError(f"a process named {name!r} was started already")
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        proc._log = log  # type: ignore[attr-defined]
        self.started[name] = proc
        return proc

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *names: str) -> list[int]:
        """Kill the named processes (all when none are named) and their descendants; return the
        pids still alive afterwards (should be none)."""
        chosen = {n: p for n, p in self.started.items() if not names or n in names}
        everyone: list[psutil.Process] = []
        for proc in chosen.values():
            try:
                parent = psutil.Process(proc.pid)
                everyone += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for proc in chosen.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _, alive = psutil.wait_procs(everyone, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(alive, timeout=10)
        for name, proc in chosen.items():
            proc.wait(timeout=10)
            proc._log.close()  # type: ignore[attr-defined]
            del self.started[name]
        return [p.pid for p in alive]


class DeploymentRuns:
    """The flow runs of one deployment, read from the server's REST API."""

    def __init__(self, client: httpx.Client, deployment_id: str, diagnostics: Callable[[], str] = lambda: ""):
        self.client, self.deployment_id, self._logs = client, deployment_id, diagnostics

    def runs(self) -> list[dict]:
        """Every flow run of the deployment (REST ``FlowRun`` objects), by expected start time."""
        found: list[dict] = []
        while True:  # the API answers at most 200 per call
            page = self.client.post("/flow_runs/filter", json={
                "flow_runs": {"deployment_id": {"any_": [self.deployment_id]}},
                "sort": "EXPECTED_START_TIME_ASC", "offset": len(found), "limit": 200})
            page.raise_for_status()
            found += page.json()
            if len(page.json()) < 200:
                return found

    def state_names(self, run_id: str) -> list[str]:
        """Names of every state the run went through, oldest first."""
        found = self.client.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
        return [s["name"] for s in sorted(found, key=lambda s: s["timestamp"])]

    def scheduled(self) -> list[dict]:
        """The runs the scheduler created; ``AssertionError`` once any of them did not complete.
        A run the concurrency limit skipped (``skipped_by_limit``) is not a broken one."""
        runs = [r for r in self.runs() if r["auto_scheduled"]]
        broken = [r for r in runs if r["state_type"] in BROKEN and not skipped_by_limit(r)]
        assert not broken, f"a scheduled run did not complete\n{self.diagnostics()}"
        return runs

    def completed(self) -> list[dict]:
        """The completed scheduled runs, by start time (``AssertionError`` on a broken one)."""
        return sorted((r for r in self.scheduled() if r["state_type"] == "COMPLETED"),
                      key=lambda r: parse_time(r["start_time"]))

    def diagnostics(self) -> str:
        """Every run (state, expected/actual start, end) and the tail of the stack's logs."""
        lines = [f"{r['name']} auto={r['auto_scheduled']} {r['state_type']}/{r['state_name']} "
                 f"expected={r['expected_start_time']} start={r['start_time']} end={r['end_time']}"
                 for r in self.runs()]
        return "runs:\n" + "\n".join(lines) + "\n" + self._logs()


@dataclass(frozen=True)
class Deployment:
    """A deployment on the stack's server."""

    id: str
    name: str
    pool: str
    api: dict[str, Any]             # the server's Deployment object
    copy: DeploymentCopy


class LocalPrefect:
    """A Prefect server on a free loopback port with its own PREFECT_HOME under ``workdir``;
    deployments of ``repo``'s prefect.yaml; workers. ``start()`` (or ``with``) brings the server
    up; ``stop()`` kills everything this stack started."""

    def __init__(self, workdir: Path, repo: Path, *, fast_loops: bool = False,
                 env: Mapping[str, str] | None = None, port: int | None = None):
        self.workdir = Path(workdir)
        self.repo = Path(repo)
        self.port = port or free_port()
        self.env = prefect_env(self.workdir / "prefect-home", self.port, fast_loops=fast_loops, extra=env)
        self.api_url = self.env["PREFECT_API_URL"]
        self.procs = Processes(self.workdir / "logs")
        self.client = httpx.Client(base_url=self.api_url, timeout=30)
        self.prefect = prefect_cli()
        self._pools: set[str] = set()
        self._workers = 0

    # -- lifecycle
    def start(self, timeout: float = 120) -> LocalPrefect:
        """Start ``prefect server start`` and wait until ``/health`` answers."""
        server = self.procs.start("server", [*self.prefect, "server", "start", "--host", "127.0.0.1",
                                             "--port", str(self.port)], self.env, self.workdir)

        def healthy() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited with {server.returncode}\n{self.procs.tail('server')}")
            try:
                return self.client.get("/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout, "the Prefect server", lambda: self.procs.tail("server"), 0.5)
        return self

    def stop(self) -> list[int]:
        """Kill the server, the workers and their flow runs; the pids that survived (none)."""
        self.client.close()
        return self.procs.stop()

    def __enter__(self) -> LocalPrefect:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- CLI
    def cli(self, *args: str, timeout: float = 180, **extra_env: str) -> subprocess.CompletedProcess:
        """Run ``prefect ARGS`` against the stack from the repository root; ``RuntimeError`` with
        its output when it fails."""
        done = subprocess.run([*self.prefect, *args], env=dict(self.env, **extra_env), cwd=self.repo,
                              text=True, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def create_pool(self, name: str, kind: str = "process") -> None:
        """``prefect work-pool create NAME --type KIND`` (once per stack)."""
        if name not in self._pools:
            self.cli("work-pool", "create", name, "--type", kind)
            self._pools.add(name)

    def deploy(self, name: str, *, interval: float | None = None, parameters: Mapping[str, Any] | None = None,
               active: bool | None = None, prefect_yaml: Path | None = None) -> Deployment:
        """Deploy ``name`` from a copy of the repository's prefect.yaml with the overrides of
        ``write_deployment_copy``; creates its work pool first. The pull step's directory
        variable is set to the repository root for the deploy command."""
        source = prefect_yaml or self.repo / "prefect.yaml"
        copy = write_deployment_copy(source, self.workdir / f"prefect-{name}.yaml", name,
                                     interval=interval, parameters=parameters, active=active)
        self.create_pool(copy.pool)
        self.cli("--no-prompt", "deploy", "--prefect-file", str(copy.path), "--name", name,
                 **({copy.pull_variable: str(self.repo)} if copy.pull_variable else {}))
        found = self.client.post("/deployments/filter", json={"deployments": {"name": {"any_": [name]}}})
        found.raise_for_status()
        if len(found.json()) != 1:
            raise RuntimeError(f"expected one deployment named {name!r} on the server, found {len(found.json())}")
        api = found.json()[0]
        return Deployment(api["id"], name, copy.pool, api, copy)

    def full_name(self, deployment: Deployment) -> str:
        """``flow-name/deployment-name``, as the CLI names a deployment."""
        flow = self.client.get(f"/flows/{deployment.api['flow_id']}")
        flow.raise_for_status()
        return f"{flow.json()['name']}/{deployment.name}"

    def schedules(self, deployment: Deployment) -> list[dict]:
        """The deployment's schedules as the server has them now (``active``, ``schedule``, ``id``)."""
        found = self.client.get(f"/deployments/{deployment.id}")
        found.raise_for_status()
        return found.json()["schedules"]

    def resume_schedules(self, deployment: Deployment) -> None:
        """Switch on every inactive schedule of the deployment the way an operator does:
        ``prefect deployment schedule resume FLOW/DEPLOYMENT SCHEDULE_ID``."""
        name = self.full_name(deployment)
        for schedule in self.schedules(deployment):
            if not schedule["active"]:
                self.cli("deployment", "schedule", "resume", name, schedule["id"])

    def delete(self, deployment: Deployment) -> None:
        """Delete the deployment (the server drops its runs still scheduled):
        ``prefect deployment delete --id ID``, whose client retries the server's 503s.

        The server deletes in one deferred SQLite transaction that reads the deployment first, then
        writes; when another connection (the scheduler adding runs, a worker polling) commits in
        between, SQLite refuses the write at once ("database is locked", no busy wait) and the
        server answers 503, meant to be retried."""
        self.cli("--no-prompt", "deployment", "delete", "--id", deployment.id)

    def start_worker(self, pool: str, env: Mapping[str, str] | None = None, name: str | None = None) -> str:
        """Start ``prefect worker start --pool POOL`` from the repository root with ``env`` added
        to the stack's environment (flow runs inherit it); returns its process name."""
        self._workers += 1
        name = name or ("worker" if self._workers == 1 else f"worker-{self._workers}")
        self.procs.start(name, [*self.prefect, "worker", "start", "--pool", pool, "--type", "process"],
                         dict(self.env, **(env or {})), self.repo)
        return name

    def stop_worker(self, name: str) -> list[int]:
        """Kill one worker and its flow-run processes; the pids that survived (none)."""
        return self.procs.stop(name)

    # -- REST
    def runs(self, deployment: Deployment) -> DeploymentRuns:
        """The deployment's flow runs, with this stack's server and worker logs as diagnostics."""
        return DeploymentRuns(self.client, deployment.id, self.log_tails)

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of every process log of the stack (stopped workers' too)."""
        names = sorted(p.stem for p in self.procs.logs.glob("*.log"))
        return "".join(f"--- {name} log ---\n{self.procs.tail(name, lines)}\n" for name in names)
