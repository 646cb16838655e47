"""The per-run digest behind the scan artifacts: a summary table and the newest severe incidents."""

from datetime import timedelta

import pytest

from vigil.lake import finding_id
from vigil.report.digest import digest_markdown, md_escape, run_digest


def test_digest_lists_severe_leaked_values_not_rows(with_incidents):
    lake, con, findings, incidents = with_incidents
    digest = run_digest(con, "forward-run-1")
    assert digest.found_run and digest.status == "completed"
    rows = digest.incidents
    assert 0 < len(rows) <= 10
    assert {r["severity"] for r in rows} <= {"critical", "high"}
    ranks = [0 if r["severity"] == "critical" else 1 for r in rows]
    assert ranks == sorted(ranks)
    per_type = {}
    for r in rows:
        per_type[r["infotype"]] = per_type.get(r["infotype"], 0) + 1
    assert max(per_type.values()) <= 2
    fp = {(i["fingerprint"], i["infotype"]) for i in incidents if i["status"] == "false_positive"}
    ids = {i["incident_id"] for i in incidents if (i["fingerprint"], i["infotype"]) in fp}
    assert not ids & {r["incident_id"] for r in rows}
    assert all(r["incident_id"] and r["status"] in ("open", "acknowledged", "resolved") for r in rows)
    for r in rows:
        assert r["masked"] in r["title"] and r["infotype"] in r["title"]


def test_one_noisy_infotype_cannot_fill_the_digest(sample_lake, now):
    lake, findings = sample_lake
    aws = next(f for f in findings if f["infotype"] == "AWS_CREDENTIALS")
    noisy = [dict(aws, finding_id=finding_id("message", f"noisy{i}", "", "text:0", "aws", 0, 9),
                  fingerprint=f"{i:032x}", masked=f"AKIA****{i:04d}", scan_run_id="forward-run-2",
                  event_time=now - timedelta(minutes=i)) for i in range(30)]
    other = [dict(f, finding_id=f["finding_id"][:-3] + "zzz", scan_run_id="forward-run-2")
             for f in findings if f["severity"] == "critical" and f["infotype"] != "AWS_CREDENTIALS"][:3]
    lake.land({"findings": noisy + other})
    con = lake.connect()
    digest = run_digest(con, "forward-run-2")
    con.close()
    assert digest.found_run and digest.run_type == "forward"
    aws_rows = [r for r in digest.incidents if r["infotype"] == "AWS_CREDENTIALS"]
    assert [r["masked"] for r in aws_rows] == ["AKIA****0000", "AKIA****0001"]  # the newest two
    assert len(digest.incidents) == 2 + len({f["fingerprint"] for f in other})
    summary = {r["metric"]: r["value"] for r in digest.summary}
    assert summary["findings"] == 33 and summary["API requests"] == 100 and summary["429 responses"] == 0
    assert summary["status"] == "completed"


def test_digest_markdown_is_escaped_and_links_only_to_the_web(with_incidents):
    lake, con, _, _ = with_incidents
    digest = run_digest(con, "forward-run-1", limit=50, per_infotype=50, min_severity="low")
    text = digest_markdown(digest)
    assert "<script>" not in text and "&lt;script&gt;" in text and r"\[red\]" in text
    assert "javascript:" not in text and "[open chat](https://claude.ai/chat/" in text
    lines = [x for x in text.splitlines() if x.startswith("| ")]
    assert all(x.count(" | ") == 6 for x in lines[2:])  # escaped pipes never add a column
    assert md_escape("a|b\nc [x](y)") == r"a\|b c \[x\]\(y\)"
    with pytest.raises(ValueError, match="min_severity"):
        run_digest(con, "forward-run-1", min_severity="urgent")


def test_digest_of_a_run_without_severe_findings(sample_lake):
    lake, _ = sample_lake
    con = lake.connect()
    digest = run_digest(con, "forward-run-3")
    con.close()
    assert digest.incidents == [] and "No high or critical" in digest_markdown(digest)
    assert {r["metric"]: r["value"] for r in digest.summary}["findings"] == 0
