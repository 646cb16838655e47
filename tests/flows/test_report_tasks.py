"""The Prefect tasks around the export and the run digest, run inside a flow (real local Prefect)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from vigil.lake import Lake
from vigil.synth.lake import generate_lake


def test_export_step_and_run_digest_artifacts(tmp_path):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from tasks.export import export_ocsf_step
    from tasks.run_report import publish_run_digest

    now = datetime.now(timezone.utc).replace(microsecond=0)
    lake = Lake(tmp_path / "lake")
    generate_lake(lake, 3_000, days=3, now=now)
    run_id = lake.query("SELECT scan_run_id FROM findings WHERE severity = 'critical' "
                        "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").column(0)[0].as_py()
    out = str(tmp_path / "siem")

    @flow(name="report-tasks-test")
    def run() -> dict:
        first = export_ocsf_step(str(tmp_path / "lake"), out)
        second = export_ocsf_step(str(tmp_path / "lake"), out)
        digest = publish_run_digest(str(tmp_path / "lake"), run_id)
        return {"first": first, "second": second, "digest": digest}

    state = run(return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result["first"]["findings"] == 3_000 and len(result["first"]["files"]) == 1
    assert result["second"]["findings"] == 0 and result["second"]["files"] == []
    assert result["digest"]["incident_rows"] > 0
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    arts = {a.key: a for a in found if a.key}
    assert {"forward-scan-run-summary-default", "forward-scan-severe-incidents-default",
            "forward-scan-severe-incidents-table-default"} <= set(arts)
    summary = json.loads(arts["forward-scan-run-summary-default"].data)
    assert {"metric": "run", "value": run_id} in summary
    table = arts.get("forward-scan-severe-incidents-table-default")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert rows and all(r["link"].startswith("https://claude.ai/chat/") and r["user"] for r in rows)
    assert "open chat" in arts["forward-scan-severe-incidents-default"].data
    assert now - timedelta(days=4) < datetime.fromisoformat(rows[0]["time"])
