"""``vigil connect`` against the simulator: the per-scope table and every exit code."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import vigil.cli.connect as connect_cli
from vigil.api.diagnostics import ExitCode
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key, make_key

ADMIN = "sk-ant-admin01-" + "b" * 48
NO_ORG_DATA = "sk-ant-api01-" + "c" * 48
ENV = "ANTHROPIC_COMPLIANCE_API_KEY"

# vigil's app gathers every command module; here only ``connect`` is mounted, under a group so
# the command is invoked by name as on the real CLI.
app = typer.Typer()
app.callback()(lambda: None)
app.command("connect", help=connect_cli.CONNECT_HELP)(connect_cli.connect)


@pytest.fixture(autouse=True)
def vigil_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def sim():
    org = SyntheticOrg.generate(seed=9, users=3, chats=2, days=3)
    keys = [default_key(9), make_key(ADMIN, []),
            make_key(NO_ORG_DATA, ["read:compliance_activities", "read:compliance_user_data"])]
    with SimulatorServer(build_app(org, keys=keys, rpm=100_000)) as url:
        yield org, url


def run(args, key=None):
    env = {"COLUMNS": "220", ENV: key or ""}
    return CliRunner().invoke(app, ["connect", *args], env=env)


def test_all_scopes_hold(sim):
    org, url = sim
    res = run(["--org-id", org.claude_org.uuid, "--base-url", url], default_key(9).secret)
    assert res.exit_code == ExitCode.OK, res.output
    for scope in ("read:compliance_activities", "read:compliance_user_data", "read:compliance_org_data"):
        assert scope in res.output
    assert res.output.count("OK") >= 3 and "req_" in res.output
    assert default_key(9).secret not in res.output
    # the connector is saved with where the key lives, never the key
    from vigil import connector

    saved = connector.load("default")
    assert (saved.org_id, saved.base_url, saved.key_source) == (org.claude_org.uuid, url, f"env:{ENV}")
    assert default_key(9).secret not in connector.record_path("default").read_text()


def test_failed_checks_save_nothing(sim, vigil_home):
    org, url = sim
    res = run(["--org-id", org.claude_org.uuid, "--base-url", url], ADMIN)
    assert res.exit_code == ExitCode.SCOPE_MISSING
    from vigil import connector

    assert connector.list_connectors() == []


def test_rejected_key_says_authentication_failed(sim):
    org, url = sim
    res = run(["--org-id", org.claude_org.uuid, "--base-url", url], "sk-ant-api01-" + "x" * 48)
    assert res.exit_code == ExitCode.AUTH_FAILED == 2
    assert "Authentication failed" in res.output and "AUTH FAILED" in res.output and "MISSING" not in res.output


def test_missing_scopes_are_named(sim):
    org, url = sim
    res = run(["--org-id", org.claude_org.uuid, "--base-url", url], ADMIN)
    assert res.exit_code == ExitCode.SCOPE_MISSING == 3
    assert "MISSING" in res.output and "read:compliance_user_data" in res.output.split("lacks scope")[1]
    assert "read:compliance_org_data" in res.output.split("lacks scope")[1]
    res = run(["--org-id", org.claude_org.uuid, "--base-url", url], NO_ORG_DATA)
    assert res.exit_code == 3 and "lacks scope(s): read:compliance_org_data" in res.output


def test_unknown_organization(sim):
    _, url = sim
    res = run(["--org-id", "00000000-0000-4000-8000-000000000000", "--base-url", url], default_key(9).secret)
    assert res.exit_code == ExitCode.ORG_NOT_FOUND == 4 and "not found" in res.output


def test_network_error(monkeypatch):
    monkeypatch.setattr(connect_cli, "RETRY_SLEEP", lambda s: None)
    res = run(["--org-id", "00000000-0000-4000-8000-000000000000", "--base-url", "http://127.0.0.1:9"],
              "sk-ant-api01-" + "x" * 48)
    assert res.exit_code == ExitCode.NETWORK_OR_SERVER == 5 and "network error" in res.output


def test_key_missing_from_env():
    res = run(["--org-id", "00000000-0000-4000-8000-000000000000"])
    assert res.exit_code == ExitCode.KEY_MISSING == 6 and ENV in res.output


def test_bad_or_missing_org_id_exits_1():
    res = run(["--org-id", "not-a-uuid"], "sk-ant-api01-" + "x" * 48)
    assert res.exit_code == 1 and "UUID" in res.output
    res = run([], "sk-ant-api01-" + "x" * 48)
    assert res.exit_code == 1 and "--org-id is required" in res.output


def test_help_documents_exit_codes():
    res = CliRunner().invoke(app, ["connect", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for text in ("authentication failed", "scopes missing", "not found", "network or server", "is not set"):
        assert text in res.output
