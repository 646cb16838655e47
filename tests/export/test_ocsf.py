"""OCSF events validate against the published schema: every infotype, every awkward row, incidents."""

import json

import pytest
from ocsf_json_schema import get_ocsf_schema

from vigil.detect.rules import load_builtin_rules
from vigil.export import OCSF_VERSION, check_lines, event_errors, export_ocsf
from vigil.export import ocsf as mapping


def export_lines(lake, tmp_path, **kw):
    out = tmp_path / "out.jsonl"
    result = export_ocsf(lake, str(out), **kw)
    return result, [json.loads(line) for line in out.read_text().splitlines()]


def test_every_infotype_exports_as_a_valid_data_security_finding(sample_lake, tmp_path):
    lake, findings = sample_lake
    result, events = export_lines(lake, tmp_path, kinds=("findings",))
    assert result.findings == len(findings) == len(events)
    assert {e["unmapped"]["vigil"]["infotype"] for e in events} == {r.infotype for r in load_builtin_rules()}
    for event in events:
        assert event_errors(event) == [], event["finding_info"]["uid"]
        assert event["class_uid"] == 2006 and event["type_uid"] == 200601
        assert event["metadata"]["version"] == OCSF_VERSION == "1.7.0"
    by_id = {e["metadata"]["uid"]: e for e in events}
    for row in findings:
        e = by_id[row["finding_id"]]
        assert e["data_security"]["pattern_match"] == row["masked"]
        assert e["metadata"]["correlation_uid"] == row["fingerprint"]
        assert e["finding_info"]["types"][0] == row["infotype"]
        assert e["resources"][0]["uid"] == row["object_key"]
        assert e["time"] == int(row["scanned_at"].timestamp() * 1000)


def test_awkward_rows_keep_only_what_ocsf_accepts(sample_lake, tmp_path):
    lake, findings = sample_lake
    _, events = export_lines(lake, tmp_path, kinds=("findings",))
    by_id = {e["metadata"]["uid"]: e for e in events}
    bad_email = next(r for r in findings if r["user_email"] == "not an address")
    e = by_id[bad_email["finding_id"]]
    assert "email_addr" not in e["actor"]["user"] and e["actor"]["user"]["name"] == "not an address"
    js_link = next(r for r in findings if r["chat_url"] == "javascript:alert(1)")
    assert "src_url" not in by_id[js_link["finding_id"]]["finding_info"]
    no_user = next(r for r in findings if r["user_email"] is None)
    assert "actor" not in by_id[no_user["finding_id"]]
    project_doc = next(r for r in findings if r["object_kind"] == "project_document")
    pe = by_id[project_doc["finding_id"]]
    assert pe["file"]["name"] == "plan.docx" and pe["file"]["type_id"] == 1
    tricky = next(r for r in findings if r["chat_title"] and r["chat_title"].startswith("<script>"))
    assert by_id[tricky["finding_id"]]["unmapped"]["vigil"]["chat_title"] == tricky["chat_title"]
    assert not any(_has_null(e) for e in events)  # absent values are left out, never written as null


def _has_null(value):
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def test_context_can_be_left_out(sample_lake, tmp_path):
    lake, _ = sample_lake
    _, events = export_lines(lake, tmp_path, kinds=("findings",), with_context=False)
    assert all("context" not in e["unmapped"]["vigil"] for e in events)
    _, events = export_lines(lake, tmp_path, kinds=("findings",))
    assert all("<here>" in e["unmapped"]["vigil"]["context"] for e in events)


def test_enum_captions_match_the_schema():
    """The captions written next to each id are OCSF's own (a SIEM may key on either)."""
    schema = get_ocsf_schema(version=OCSF_VERSION)
    dsf = schema["classes"]["data_security_finding"]["attributes"]
    inc = schema["classes"]["incident_finding"]["attributes"]
    ds = schema["objects"]["data_security"]["attributes"]

    def caption(attrs, name, value_id):
        return attrs[name]["enum"][str(value_id)]["caption"]

    for table, attrs, name in ((mapping.SEVERITY, dsf, "severity_id"), (mapping.CONFIDENCE, dsf, "confidence_id"),
                               (mapping.PRIORITY, inc, "priority_id"), (mapping.INCIDENT_STATUS, inc, "status_id"),
                               (mapping.DATA_CATEGORY, ds, "category_id")):
        for vid, cap in table.values():
            assert caption(attrs, name, vid) == cap, (name, vid)
    assert caption(ds, "data_lifecycle_state_id", mapping.DATA_AT_REST[0]) == mapping.DATA_AT_REST[1]
    assert caption(ds, "detection_system_id", mapping.DSPM[0]) == mapping.DSPM[1]
    assert caption(dsf, "status_id", mapping.FINDING_STATUS[0]) == mapping.FINDING_STATUS[1]
    assert caption(inc, "verdict_id", mapping.FALSE_POSITIVE_VERDICT[0]) == mapping.FALSE_POSITIVE_VERDICT[1]
    assert schema["classes"]["data_security_finding"]["uid"] == mapping.FINDING_CLASS[0]
    assert schema["classes"]["incident_finding"]["uid"] == mapping.INCIDENT_CLASS[0]


def test_the_validator_rejects_broken_events(sample_lake, tmp_path):
    lake, _ = sample_lake
    _, events = export_lines(lake, tmp_path, kinds=("findings",))
    good = events[0]
    broken = json.loads(json.dumps(good))
    del broken["metadata"]["version"]
    broken["severity_id"] = 42
    broken["finding_info"]["made_up"] = 1
    broken["actor"] = {"user": {"email_addr": "nope"}}
    problems = "\n".join(event_errors(broken))
    assert "metadata: fails 'required'" in problems and "severity_id: fails 'enum'" in problems
    assert "finding_info: fails 'additionalProperties'" in problems and "made_up" in problems
    assert "actor.user.email_addr: fails 'pattern'" in problems
    assert "nope" not in problems  # the value itself is never echoed
    assert event_errors({"class_uid": 999999}) == [f"class_uid: 999999 is not a class of OCSF {OCSF_VERSION}"]
    report = check_lines([json.dumps(good), "{not json", json.dumps(broken)])
    assert (report.checked, report.failed, report.ok) == (3, 2, False)


def test_incidents_export_as_valid_incident_findings(with_incidents, tmp_path):
    lake, con, findings, incidents = with_incidents
    result = export_ocsf(lake, str(tmp_path / "all.jsonl"), con=con)
    events = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert result.findings == len(findings) and result.incidents == len(incidents)
    inc_events = [e for e in events if e["class_uid"] == 2005]
    assert len(inc_events) == len(incidents)
    assert check_lines([json.dumps(e) for e in events]).ok
    by_id = {e["unmapped"]["vigil"]["incident_id"]: e for e in inc_events}
    finding_ids = {f["finding_id"]: f for f in findings}
    for row in incidents:
        e = by_id[row["incident_id"]]
        assert e["count"] == row["occurrences"] and e["metadata"]["correlation_uid"] == row["incident_id"]
        related = [fi["uid"] for fi in e["finding_info_list"]]
        assert related and all(finding_ids[u]["fingerprint"] == row["fingerprint"] for u in related)
        assert len(related) == min(row["occurrences"], mapping.RELATED_FINDINGS_PER_INCIDENT)
        if row["status"] == "false_positive":
            assert (e["status_id"], e["verdict_id"], e["activity_id"]) == (5, 1, 3)
            assert e["comment"] == "test key from the docs"
        elif row["status"] == "resolved":
            assert (e["status_id"], e["activity_id"]) == (4, 3)
        elif row["status"] == "acknowledged":
            assert e["status_id"] == 2 and e["assignee"]["email_addr"] == "alice@acme-corp.com"
        else:
            assert (e["status_id"], e["activity_id"]) == (1, 1)
        assert e["assignee_group"]["name"] == row["policy"]
    repeated = [r for r in incidents if r["occurrences"] > 1]
    assert repeated, "the sample repeats one secret across rules"


def test_incident_counts_may_be_lists(with_incidents, tmp_path):
    """The contract names users/chats/projects; whether counts or lists, events stay valid."""
    lake, con, _, _ = with_incidents
    con.execute("CREATE OR REPLACE TABLE incidents AS SELECT * REPLACE "
                "(['u1', 'u2'] AS users, ['c1'] AS chats, []::VARCHAR[] AS projects) FROM incidents")
    export_ocsf(lake, str(tmp_path / "i.jsonl"), con=con, kinds=("incidents",))
    events = [json.loads(x) for x in (tmp_path / "i.jsonl").read_text().splitlines()]
    assert events and all(event_errors(e) == [] for e in events)
    assert all("2 user(s), 1 chat(s)" in e["desc"] for e in events)


def test_no_incidents_yet_exports_findings_and_a_broken_table_is_an_error(sample_lake, tmp_path):
    from vigil.export import ExportError

    lake, _ = sample_lake
    result, events = export_lines(lake, tmp_path)  # incidents never refreshed: the view is empty
    assert result.incidents == 0 and len(events) == result.findings > 0
    con = lake.connect()
    con.execute("DROP VIEW incidents")
    con.execute("CREATE TABLE incidents (incident_id VARCHAR, fingerprint VARCHAR)")
    with pytest.raises(ExportError, match="lacks column"):
        export_ocsf(lake, str(tmp_path / "x.jsonl"), con=con)
    assert not (tmp_path / "x.jsonl").exists()


def test_since_limits_by_content_time_and_gz_compresses(sample_lake, tmp_path, now):
    import gzip
    from datetime import timedelta

    lake, findings = sample_lake
    since = now - timedelta(hours=20)
    out = tmp_path / "recent.jsonl.gz"
    result = export_ocsf(lake, str(out), since=since, kinds=("findings",))
    expected = [f for f in findings if f["event_time"] >= since]
    assert 0 < result.findings == len(expected) < len(findings)
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert {json.loads(x)["metadata"]["uid"] for x in lines} == {f["finding_id"] for f in expected}
