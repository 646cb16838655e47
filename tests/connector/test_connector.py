"""Saved connectors: save/load, key resolution, reauth with the org check, delete with/without purge."""

import json
import os
from dataclasses import replace
import stat
import subprocess
import sys
import types

import httpx
import pytest
from typer.testing import CliRunner

from vigil import connector
from vigil.config import ConnectorSettings
from vigil.connector import (
    ConnectorError,
    ConnectorNotFound,
    ConnectorRecord,
    KeyUnavailable,
    OrgMismatch,
)
from vigil.lake import Lake

ORG = "344408a7-2f0b-414a-a80c-0a156b94a21d"
OTHER_ORG = "dc668a53-5be8-4892-aed9-1115d8ca61b7"
KEY = "sk-ant-api01-" + "Q" * 40
NEW_KEY = "sk-ant-api01-" + "R" * 40


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))  # no Prefect database: nothing to start
    monkeypatch.setenv("ANTHROPIC_COMPLIANCE_API_KEY", KEY)
    return tmp_path / "home"


def make(tmp_path, name="default") -> ConnectorRecord:
    return ConnectorRecord(name=name, org_id=ORG, base_url="http://127.0.0.1:9", lake_root=str(tmp_path / "lake"))


def test_save_and_load_never_store_the_key(tmp_path, home):
    path = connector.save(make(tmp_path))
    assert path == home / "connectors" / "default.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert KEY not in text and "Q" * 20 not in text
    assert json.loads(text)["key_source"] == "env:ANTHROPIC_COMPLIANCE_API_KEY"
    rec = connector.load()
    assert rec.org_id == ORG and rec.lake_root == str(tmp_path / "lake")
    assert connector.list_connectors() == ["default"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_records_refuse_a_literal_key_and_bad_names(tmp_path):
    with pytest.raises(ConnectorError) as exc:
        ConnectorRecord(name="x", org_id=ORG, key_source=KEY)
    assert KEY not in str(exc.value)
    with pytest.raises(ConnectorError):
        ConnectorRecord(name="../x", org_id=ORG)
    with pytest.raises(ConnectorNotFound, match="vigil connect"):
        connector.load("missing")


def test_relative_local_lake_roots_are_saved_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    connector.save(ConnectorRecord(name="rel", org_id=ORG, lake_root="data"))
    assert connector.load("rel").lake_root == str(tmp_path / "data")
    connector.save(ConnectorRecord(name="s3", org_id=ORG, lake_root="s3://b/p"))
    assert connector.load("s3").lake_root == "s3://b/p"


def test_resolve_key_from_env(monkeypatch):
    key = connector.resolve_key("env:ANTHROPIC_COMPLIANCE_API_KEY")
    assert key.reveal() == KEY and KEY not in repr(key)
    monkeypatch.delenv("ANTHROPIC_COMPLIANCE_API_KEY")
    with pytest.raises(KeyUnavailable, match="ANTHROPIC_COMPLIANCE_API_KEY is not set"):
        connector.resolve_key("env:ANTHROPIC_COMPLIANCE_API_KEY")
    with pytest.raises(ConnectorError):
        connector.resolve_key(KEY)


def test_env_keys_and_the_connector_store_never_import_prefect():
    code = ("import sys, vigil.connector, vigil.config, vigil.lake, vigil.evidence, vigil.cli.connector, vigil.cli.sql;"
            "vigil.connector.resolve_key('env:K'); assert 'prefect' not in sys.modules, 'prefect imported'")
    env = dict(os.environ, K=KEY)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-500:]


def _fake_prefect(monkeypatch, load):
    """Stand-in for ``prefect.blocks.system`` so the branch is tested without Prefect."""
    for name in ("prefect", "prefect.blocks"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    system = types.ModuleType("prefect.blocks.system")
    system.Secret = type("Secret", (), {"load": staticmethod(load)})
    monkeypatch.setitem(sys.modules, "prefect.blocks.system", system)


def test_resolve_key_from_a_prefect_secret_block(monkeypatch):
    class Block:
        def __init__(self, value):
            self.value = value

        def get(self):
            return self.value

    loaded = []
    _fake_prefect(monkeypatch, lambda name: loaded.append(name) or Block(NEW_KEY))
    assert connector.resolve_key("prefect-secret:compliance-key").reveal() == NEW_KEY
    assert loaded == ["compliance-key"]

    def missing(name):
        raise ValueError(f"Unable to find block document named {name} " + NEW_KEY)

    _fake_prefect(monkeypatch, missing)
    with pytest.raises(KeyUnavailable, match=r"cannot load Prefect Secret block 'compliance-key' \(ValueError\)") as exc:
        connector.resolve_key("prefect-secret:compliance-key")
    assert NEW_KEY not in str(exc.value) and exc.value.__cause__ is None
    _fake_prefect(monkeypatch, lambda name: Block(""))
    with pytest.raises(KeyUnavailable, match="does not hold a key"):
        connector.resolve_key("prefect-secret:compliance-key")


def test_reauth_accepts_a_key_of_the_same_org(tmp_path, monkeypatch):
    connector.save(make(tmp_path))
    monkeypatch.setenv("ROTATED_KEY", NEW_KEY)
    seen = []

    def probe(key, base_url, org_id):
        seen.append((key.reveal(), base_url, org_id))
        return [ORG, OTHER_ORG]

    rec = connector.reauth("default", "env:ROTATED_KEY", probe=probe)
    assert seen == [(NEW_KEY, "http://127.0.0.1:9", ORG)]
    assert rec.key_source == "env:ROTATED_KEY" and connector.load().key_source == "env:ROTATED_KEY"


def test_reauth_refuses_an_org_mismatch_and_changes_nothing(tmp_path, monkeypatch):
    path = connector.save(make(tmp_path))
    before = path.read_text()
    monkeypatch.setenv("ROTATED_KEY", NEW_KEY)
    with pytest.raises(OrgMismatch, match=f"does not reach org {ORG}") as exc:
        connector.reauth("default", "env:ROTATED_KEY", probe=lambda key, url, org: [OTHER_ORG])
    assert NEW_KEY not in str(exc.value)
    assert path.read_text() == before

    def failing_probe(key, url, org):
        raise RuntimeError("401 invalid key")

    with pytest.raises(RuntimeError):
        connector.reauth("default", "env:ROTATED_KEY", probe=failing_probe)
    monkeypatch.delenv("ROTATED_KEY")
    with pytest.raises(KeyUnavailable):
        connector.reauth("default", "env:ROTATED_KEY", probe=lambda key, url, org: [ORG])
    assert path.read_text() == before


def test_reauth_through_the_real_client_against_the_simulator(tmp_path, monkeypatch):
    from vigil.simulator import SyncASGITransport, SyntheticOrg, build_app, make_key

    scopes = ("read:compliance_activities", "read:compliance_user_data", "read:compliance_org_data")
    org = SyntheticOrg.generate(seed=3, users=4, chats=3, days=5)
    other = SyntheticOrg.generate(seed=4, users=2, chats=1, days=5)
    keys = [make_key(NEW_KEY, scopes), make_key("sk-ant-api01-" + "S" * 40, scopes[:1])]
    transport = SyncASGITransport(build_app(org, keys=keys))
    probe = connector.api_org_probe(transport)
    for org_id in (org.parent.uuid, org.claude_org.uuid):  # parent and linked orgs both verify
        connector.save(ConnectorRecord(name="default", org_id=org_id, base_url="http://127.0.0.1:9",
                                       lake_root=str(tmp_path / "lake")))
        monkeypatch.setenv("ROTATED_KEY", NEW_KEY)
        assert connector.reauth("default", "env:ROTATED_KEY", probe=probe).key_source == "env:ROTATED_KEY"
    # a connector of another org: the new key does not reach it, nothing changes
    connector.save(ConnectorRecord(name="other", org_id=other.claude_org.uuid, base_url="http://127.0.0.1:9"))
    with pytest.raises(OrgMismatch):
        connector.reauth("other", "env:ROTATED_KEY", probe=probe)
    assert connector.load("other").key_source == "env:ANTHROPIC_COMPLIANCE_API_KEY"
    # a key missing scopes, and a key the API rejects: refused, named, and the key never shown
    monkeypatch.setenv("ROTATED_KEY", "sk-ant-api01-" + "S" * 40)
    with pytest.raises(ConnectorError, match="lacks scopes: read:compliance_user_data"):
        connector.reauth("other", "env:ROTATED_KEY", probe=probe)
    monkeypatch.setenv("ROTATED_KEY", "sk-ant-api01-" + "W" * 40)
    with pytest.raises(ConnectorError) as exc:
        connector.reauth("default", "env:ROTATED_KEY", probe=probe)
    assert "401" in str(exc.value) and "W" * 40 not in str(exc.value)
    assert connector.load().key_source == "env:ROTATED_KEY"


def _lake_with_data(root, org=ORG) -> Lake:
    lake = Lake(root)
    lake.land({"scan_runs": [{"scan_run_id": "r1", "status": "completed"}]})
    lake.checkpoints("forward", org_id=org).update(chats_after_id="c1")
    (root / "README.txt").write_text("not vigil's")
    return lake


def test_delete_keeps_data_unless_purge_is_asked(tmp_path):
    root = tmp_path / "lake"
    lake = _lake_with_data(root)
    connector.save(make(tmp_path))
    result = connector.delete("default")
    assert result.purged == [] and connector.list_connectors() == []
    assert lake.query("SELECT count(*) FROM scan_runs").column(0)[0].as_py() == 1
    assert lake.checkpoints("forward", org_id=ORG).load()["chats_after_id"] == "c1"

    connector.save(make(tmp_path, "second"))
    result = connector.delete("second", purge_data=True)
    assert sorted(result.purged) == sorted([f"{root}: scan_runs", f"{root}: _state/{ORG}"])
    assert lake.query("SELECT count(*) FROM scan_runs").column(0)[0].as_py() == 0
    assert lake.checkpoints("forward", org_id=ORG).load() == {}
    assert (root / "README.txt").exists()  # only vigil's own directories go
    with pytest.raises(ConnectorNotFound):
        connector.delete("second")


def test_purge_removes_evidence_and_artifacts_and_spares_a_shared_lake(tmp_path):
    root = tmp_path / "lake"
    lake = _lake_with_data(root)
    lake.checkpoints("forward", org_id=OTHER_ORG).update(chats_after_id="other")
    evidence = tmp_path / "evidence"
    (evidence / ORG / "file" / "f1").mkdir(parents=True)
    (evidence / ORG / "file" / "f1" / "a.txt").write_text("secret")
    (evidence / OTHER_ORG).mkdir()
    connector.save(replace(make(tmp_path, "mine"), evidence=str(evidence)))
    connector.save(replace(make(tmp_path, "theirs"), org_id=OTHER_ORG))
    removed_for = []
    result = connector.delete("mine", purge_data=True,
                              artifact_remover=lambda name: removed_for.append(name) or 3)
    assert removed_for == ["mine"] and "3 Prefect artifact(s)" in result.purged
    assert not (evidence / ORG).exists() and (evidence / OTHER_ORG).exists()
    assert lake.checkpoints("forward", org_id=ORG).load() == {}
    assert lake.checkpoints("forward", org_id=OTHER_ORG).load()["chats_after_id"] == "other"
    # The tables are shared with "theirs": kept, and the result says so.
    assert lake.query("SELECT count(*) FROM scan_runs").column(0)[0].as_py() == 1
    assert any("shared with connector(s) theirs" in k for k in result.kept)

    def broken(name):
        raise ConnectionError("no Prefect API")

    result = connector.delete("theirs", purge_data=True, artifact_remover=broken)
    assert any("Prefect artifacts" in k and "ConnectionError" in k for k in result.kept)


def test_a_saved_connector_keeps_its_lake_and_evidence(tmp_path):
    connector.save(replace(make(tmp_path, "saved"), evidence=str(tmp_path / "ev")))
    bound = connector.bind(ConnectorSettings(name="saved"), "data", "none")
    assert bound.record.org_id == ORG and bound.saved
    assert bound.lake_root == str(tmp_path / "lake") and bound.evidence == str(tmp_path / "ev")
    assert connector.bind(ConnectorSettings(name="saved"), str(tmp_path / "lake"), "none").lake_root == \
        str(tmp_path / "lake")
    with pytest.raises(ConnectorError, match="lake.root: connector 'saved' was saved with"):
        connector.bind(ConnectorSettings(name="saved"), str(tmp_path / "elsewhere"), "none")
    with pytest.raises(ConnectorError, match="evidence.target"):
        connector.bind(ConnectorSettings(name="saved"), "data", str(tmp_path / "other-ev"))
    inline = connector.bind(ConnectorSettings(name="x", org_id=OTHER_ORG), "s3://b/p", "none")
    assert inline.record.org_id == OTHER_ORG and inline.lake_root == "s3://b/p" and not inline.saved


# -- CLI ---------------------------------------------------------------------------------------
def cli():
    import vigil.cli.connector  # noqa: F401 - registers reauth/delete
    from vigil.cli.app import app

    return app


def test_cli_delete_asks_and_respects_the_answer(tmp_path):
    root = tmp_path / "lake"
    lake = _lake_with_data(root)
    connector.save(make(tmp_path))
    runner = CliRunner()
    res = runner.invoke(cli(), ["delete", "--purge-data"], input="n\n")
    assert res.exit_code == 1 and "nothing deleted" in res.output
    assert connector.list_connectors() == ["default"]
    res = runner.invoke(cli(), ["delete", "--purge-data", "--yes"])
    assert res.exit_code == 0, res.output
    assert "purged" in res.output and connector.list_connectors() == []
    assert lake.query("SELECT count(*) FROM scan_runs").column(0)[0].as_py() == 0
    res = runner.invoke(cli(), ["delete", "--name", "nope", "--yes"])
    assert res.exit_code == 1 and "no connector named 'nope'" in res.output


def test_cli_reauth_reports_a_missing_key_without_a_traceback(tmp_path, monkeypatch):
    connector.save(make(tmp_path))
    monkeypatch.delenv("ANTHROPIC_COMPLIANCE_API_KEY")
    res = CliRunner().invoke(cli(), ["reauth"])
    assert res.exit_code == 1 and "is not set" in res.output
