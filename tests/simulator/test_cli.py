"""`vigil simulator serve` and `vigil simulator manifest`."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from typer.testing import CliRunner

import vigil.cli.simulator  # noqa: F401  (registers the commands)
from vigil.cli.app import app
from vigil.simulator import SyntheticOrg

RUN_APP = "import sys, vigil.cli.simulator; from vigil.cli.app import app; sys.argv[0] = 'vigil'; app()"


def test_manifest_matches_the_org(tmp_path):
    out = tmp_path / "gt.jsonl"
    result = CliRunner().invoke(app, ["simulator", "manifest", "--seed", "3", "--users", "4", "--chats", "6",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    org = SyntheticOrg.generate(seed=3, users=4, chats=6, days=30)
    assert rows == [r.as_dict() for r in org.ground_truth("all")]
    assert {r["object_kind"] for r in rows} >= {"message", "local_session_message", "code_artifact_version"}
    assert f"wrote {len(rows)} planted values" in result.output
    only = tmp_path / "sessions.jsonl"
    result = CliRunner().invoke(app, ["simulator", "manifest", "--seed", "3", "--users", "4", "--chats", "6",
                                      "--local-sessions", "2", "--remote-sessions", "1", "--code-artifacts", "1",
                                      "--kinds", "sessions", "--out", str(only)])
    assert result.exit_code == 0, result.output
    small = SyntheticOrg.generate(seed=3, users=4, chats=6, days=30, local_sessions=2, remote_sessions=1,
                                  code_artifacts=1)
    assert [json.loads(line) for line in only.read_text().splitlines()] == \
        [r.as_dict() for r in small.ground_truth("sessions")]
    bad = CliRunner().invoke(app, ["simulator", "manifest", "--kinds", "everything", "--out", str(only)])
    assert bad.exit_code == 1 and "chats, sessions or all" in bad.output


def test_bad_key_spec_is_a_clear_error():
    result = CliRunner().invoke(app, ["simulator", "serve", "--chats", "1", "--key", "sk-ant-api03-x:read:compliance_user_data"])
    assert result.exit_code == 1
    assert "sk-ant-api01-" in result.output


def test_serve_prints_url_orgs_and_keys_and_serves():
    proc = subprocess.Popen([sys.executable, "-c", RUN_APP, "simulator", "serve", "--port", "0", "--seed", "5",
                             "--users", "3", "--chats", "4", "--key", "sk-ant-api01-cli:read:compliance_org_data",
                             "--key", "sk-ant-admin01-adm:"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while len(lines) < 9:
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        url = lines[0].split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert "claude.ai organization" in text and "key sk-ant-api01-cli  scopes: read:compliance_org_data" in text
        assert "key sk-ant-admin01-adm  scopes: read:compliance_activities" in text
        orgs = None
        for _ in range(50):
            try:
                orgs = httpx.get(url + "/v1/compliance/organizations", headers={"x-api-key": "sk-ant-api01-cli"}).json()
                break
            except httpx.ConnectError:
                import time
                time.sleep(0.1)
        assert [o["name"] for o in orgs["data"]] == ["Acme Corp (claude.ai)", "Acme Corp API Production"]
        assert orgs["data"][0]["uuid"] in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
