"""vigil.local_prefect without a Prefect server: the deployment copy changes only what is asked,
the environment is the stack's own, the module never imports Prefect, and a delete rides out the
503s a Prefect server answers while its SQLite database is locked (against a stand-in server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil.local_prefect import (LIMIT_REACHED, Deployment, LocalPrefect, prefect_env,
                                 pull_directory_variable, skipped_by_limit, write_deployment_copy)

REPO = Path(__file__).resolve().parents[1]


def test_copy_changes_only_the_named_deployment_and_settings(tmp_path):
    original = yaml.safe_load((REPO / "prefect.yaml").read_text())
    copy = write_deployment_copy(REPO / "prefect.yaml", tmp_path / "p.yaml", "watch", interval=7, active=True,
                                 parameters={"config_path": "/x/vigil.toml"})
    written = yaml.safe_load(copy.path.read_text())
    watch = next(d for d in written["deployments"] if d["name"] == "watch")
    before = next(d for d in original["deployments"] if d["name"] == "watch")
    assert watch["schedules"] == [{**before["schedules"][0], "interval": 7, "active": True}]
    assert watch["parameters"] == {**before["parameters"], "config_path": "/x/vigil.toml"}
    assert {k: v for k, v in watch.items() if k not in ("schedules", "parameters")} == \
        {k: v for k, v in before.items() if k not in ("schedules", "parameters")}
    assert [d for d in written["deployments"] if d["name"] != "watch"] == \
        [d for d in original["deployments"] if d["name"] != "watch"]
    assert written["pull"] == original["pull"] and copy.pool == "local-process"
    assert copy.pull_variable == pull_directory_variable(original) == "VIGIL_PROJECT_DIR"


def test_copy_refuses_what_the_deployment_cannot_take(tmp_path):
    with pytest.raises(ValueError, match="no interval schedule"):
        write_deployment_copy(REPO / "prefect.yaml", tmp_path / "p.yaml", "historical-scan", interval=5)
    with pytest.raises(ValueError, match="takes no parameter confg_path"):
        write_deployment_copy(REPO / "prefect.yaml", tmp_path / "p.yaml", "watch", parameters={"confg_path": "x"})
    with pytest.raises(KeyError, match="no deployment named 'nope'"):
        write_deployment_copy(REPO / "prefect.yaml", tmp_path / "p.yaml", "nope")
    assert not (tmp_path / "p.yaml").exists()


def test_env_is_the_stacks_own(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://elsewhere:4200/api")
    monkeypatch.setenv("PREFECT_PROFILE", "prod")
    env = prefect_env(tmp_path / "home", 4321, fast_loops=True, extra={"VIGIL_X": "1"})
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4321/api" and "PREFECT_PROFILE" not in env
    assert env["PREFECT_HOME"] == str(tmp_path / "home") and env["VIGIL_X"] == "1"
    assert env["PREFECT_WORKER_QUERY_SECONDS"] == "1"
    assert env["PREFECT_SERVER_LOG_RETRYABLE_ERRORS"] == "true"  # the cause of a 503 in server.log
    assert "PREFECT_WORKER_QUERY_SECONDS" not in prefect_env(tmp_path / "home", 4321)


def test_module_does_not_import_prefect():
    code = "import sys, vigil.local_prefect; print('prefect' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "False"


DEPLOYMENT_ID = "6f962054-c28a-481e-b441-64be7f288188"
LOCKED = {"exception_message": "Service Unavailable"}  # Prefect's answer to "database is locked"


def stand_in_prefect(httpserver, tmp_path, **env: str) -> tuple[LocalPrefect, Deployment]:
    """A LocalPrefect pointed at ``httpserver`` as its (never started) server, and a deployment on it.
    The server answers what a Prefect server with CSRF protection off (its default) answers
    Prefect's client before a change."""
    httpserver.expect_request("/api/csrf-token").respond_with_json(
        {"detail": "CSRF protection is disabled."}, status=422)
    stack = LocalPrefect(tmp_path / "stack", REPO, port=httpserver.port, env=env)
    copy = write_deployment_copy(REPO / "prefect.yaml", tmp_path / "p.yaml", "watch")
    return stack, Deployment(DEPLOYMENT_ID, "watch", copy.pool, {"id": DEPLOYMENT_ID}, copy)


def deletes(httpserver) -> list[int]:
    return [response.status_code for request, response in httpserver.log
            if request.method == "DELETE" and request.path == f"/api/deployments/{DEPLOYMENT_ID}"]


@pytest.mark.slow  # a prefect CLI process and Prefect's client's backoff (about 2 s)
def test_delete_is_retried_when_the_server_answers_503(httpserver, tmp_path):
    """A Prefect server answers 503 when SQLite reports "database is locked"; deleting a deployment
    meets it while the scheduler writes (tests/flows/test_watch.py failed so in CI). Prefect's own
    client retries a 503; the stack's delete must go through it."""
    stack, deployment = stand_in_prefect(httpserver, tmp_path)
    path = f"/api/deployments/{DEPLOYMENT_ID}"
    httpserver.expect_oneshot_request(path, method="DELETE").respond_with_json(LOCKED, status=503)
    httpserver.expect_request(path, method="DELETE").respond_with_data("", status=204)
    try:
        stack.delete(deployment)
    finally:
        stack.stop()
    assert deletes(httpserver) == [503, 204]


@pytest.mark.slow
def test_delete_gives_up_after_prefects_client_retries(httpserver, tmp_path):
    """The retries are Prefect's client's (PREFECT_CLIENT_MAX_RETRIES, 5 by default; 1 here): a
    server that stays locked fails the delete with its 503 after them."""
    stack, deployment = stand_in_prefect(httpserver, tmp_path, PREFECT_CLIENT_MAX_RETRIES="1")
    httpserver.expect_request(f"/api/deployments/{DEPLOYMENT_ID}", method="DELETE").respond_with_json(
        LOCKED, status=503)
    try:
        with pytest.raises(RuntimeError, match="(?i)503 Service Unavailable"):
            stack.delete(deployment)
    finally:
        stack.stop()
    assert deletes(httpserver) == [503, 503]


def test_only_a_run_the_concurrency_limit_cancelled_counts_as_skipped():
    """A watch tick cancelled by ``CANCEL_NEW`` is skipped; a cancelled run with another
    message, or a crashed one, is still broken (``DeploymentRuns.scheduled`` raises)."""
    def run(state_type, message):
        return {"state_type": state_type, "state": {"type": state_type, "message": message}}

    assert skipped_by_limit(run("CANCELLED", LIMIT_REACHED))
    assert not skipped_by_limit(run("CANCELLED", "Cancelled by the user."))
    assert not skipped_by_limit(run("CRASHED", LIMIT_REACHED))
    assert not skipped_by_limit({"state_type": "CANCELLED", "state": None})
