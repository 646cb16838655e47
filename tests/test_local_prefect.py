"""vigil.local_prefect without a server: the deployment copy changes only what is asked, the
environment is the stack's own, and the module never imports Prefect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vigil.local_prefect import prefect_env, pull_directory_variable, write_deployment_copy

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
    assert "PREFECT_WORKER_QUERY_SECONDS" not in prefect_env(tmp_path / "home", 4321)


def test_module_does_not_import_prefect():
    code = "import sys, vigil.local_prefect; print('prefect' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "False"
