"""The Prefect flows end to end: historical then forward scan of a served simulator."""

from __future__ import annotations

import json
import random
import time

import pytest

from vigil.lake import Lake
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key
from vigil.synth import values

SEED = 31


@pytest.fixture
def served(tmp_path, monkeypatch):
    org = SyntheticOrg.generate(seed=SEED, users=8, chats=25, days=30, now=time.time() - 120)
    monkeypatch.setenv("VIGIL_FLOW_TEST_KEY", default_key(SEED).secret)
    monkeypatch.setenv("VIGIL_FINGERPRINT_KEY", "3c" * 32)
    with SimulatorServer(build_app(org, rpm=100_000, code_artifact_max_bytes=256 * 1024)) as base_url:
        config = tmp_path / "vigil.toml"
        config.write_text(
            "[connector]\n"
            f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
            'key_source = "env:VIGIL_FLOW_TEST_KEY"\n'
            f'[lake]\nroot = "{tmp_path / "lake"}"\n'
            f'[export]\nocsf_target = "{tmp_path / "ocsf"}"\n'
            "[rate]\nrpm = 100000\n")
        yield org, config, Lake(str(tmp_path / "lake"))


def _artifacts(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.type: a for a in found} | {a.key: a for a in found if a.key}


def test_historical_then_forward_flow(served):
    from flows.forward_scan import forward_scan
    from flows.historical_scan import historical_scan

    org, config, lake = served
    state = historical_scan(max_last_modified_days=30, config_path=str(config), return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result["status"] in ("completed", "completed_with_skips") and result["counts"]["findings"] > 0
    planted_ids = {g.object_id for g in org.ground_truth()}
    found = lake.query("SELECT DISTINCT object_id FROM findings").column("object_id").to_pylist()
    assert set(found) & planted_ids
    assert lake.query("SELECT count(*) AS n FROM findings").column("n")[0].as_py() == result["counts"]["findings"]
    # Sessions of every surface and Claude Code sites went through the same Prefect tasks.
    kinds = {r["object_kind"]: r["n"] for r in lake.query(
        "SELECT object_kind, count(*) AS n FROM findings GROUP BY ALL").to_pylist()}
    assert kinds.get("local_session_message") and kinds.get("remote_session_message")
    assert kinds.get("code_artifact_version")
    surfaces = set(lake.query("SELECT DISTINCT product_surface FROM findings WHERE session_id IS NOT NULL")
                   .column("product_surface").to_pylist())
    assert {"cowork", "claude_code", "cowork_remote"} <= surfaces
    assert lake.query("SELECT count(*) AS n FROM posture_snapshots").column("n")[0].as_py() == 2
    assert lake.query("SELECT rules_version FROM scan_runs").column("rules_version")[0].as_py()

    arts = _artifacts(state.state_details.flow_run_id)
    assert "objects scanned" in arts["historical-scan-summary-default"].data
    assert "historical-scan-top-findings-default" in arts
    assert float(arts["historical-scan-progress-default"].data) == 100.0

    ssn = values.generate("US_SOCIAL_SECURITY_NUMBER", random.Random(5))
    new_chat = org.add_chat(messages=[{"text": f"new joiner, social security number {ssn}",
                                       "plants": [["US_SOCIAL_SECURITY_NUMBER", ssn]]}])
    state = forward_scan(config_path=str(config), return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result["counts"]["chats_fetched"] == 1 and result["status"] == "completed"
    rows = lake.query(f"SELECT infotype, masked FROM findings WHERE chat_id = '{new_chat}'").to_pylist()
    assert any(r["infotype"] == "US_SOCIAL_SECURITY_NUMBER" and r["masked"].endswith(ssn[-4:])
               and ssn[:6] not in r["masked"] for r in rows)
    runs = lake.query("SELECT run_type, status FROM scan_runs ORDER BY started_at").to_pylist()
    assert [(r["run_type"], r["status"]) for r in runs] == [("historical", runs[0]["status"]),
                                                             ("forward", "completed")]
    assert "forward-scan-summary-default" in _artifacts(state.state_details.flow_run_id)

    # The forward flow's optional SIEM step exported every finding once, as valid OCSF.
    from vigil.export.validate import event_errors

    assert result["incidents"]["incidents_new"] > 0
    exported = [json.loads(line) for f in sorted((config.parent / "ocsf").rglob("*.jsonl"))
                for line in f.read_text().splitlines()]
    findings = [e for e in exported if e["class_uid"] == 2006]
    total = lake.query("SELECT count(*) AS n FROM findings").column("n")[0].as_py()
    assert result["export"]["findings"] == len(findings) == total
    assert not [err for e in exported[:200] for err in event_errors(e)]
