"""Triage: status changes are append-only events; false positives suppress a value everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vigil.incidents import (IncidentPolicy, Match, TriageError, find_incident, history,
                             list_incidents, occurrences, refresh_incidents, set_status, suppressed)

from .conftest import T0, finding

POLICIES = [IncidentPolicy("keys", Match(categories=("credential",)))]


@pytest.fixture
def triaged(lake):
    lake.land({"findings": [finding("fp-key", chat="c1", title="[red]deploy[/red] notes"),
                            finding("fp-key", chat="c2", minutes=10, user="bo@example.com"),
                            finding("fp-mail", infotype="EMAIL_ADDRESS", category="pii",
                                    severity="low", masked="a***@example.com")]})
    refresh_incidents(lake, POLICIES)
    return lake


def _by(lake, policy, fingerprint):
    return lake.query("SELECT * FROM incidents WHERE policy = $p AND fingerprint = $f",
                      {"p": policy, "f": fingerprint}).to_pylist()[0]


def test_status_changes_are_events(triaged):
    inc = _by(triaged, "all", "fp-key")
    set_status(triaged, inc["incident_id"][:8], status="acknowledged", assignee="sec@example.com",
               who="alice", now=T0)
    set_status(triaged, inc["incident_id"], note="rotating the key", who="bob", now=T0 + timedelta(minutes=5))
    set_status(triaged, inc["incident_id"], status="resolved", note="rotated", who="alice",
               now=T0 + timedelta(minutes=9))
    row = _by(triaged, "all", "fp-key")
    assert row["status"] == "resolved" and row["assignee"] == "sec@example.com"
    assert row["notes"].splitlines() == ["2026-11-02 09:05 bob: rotating the key",
                                         "2026-11-02 09:09 alice: rotated"]
    landed = triaged.query("SELECT max(landed_at) AS t FROM incident_rollups").column("t")[0].as_py()
    assert row["updated_at"] == max(landed, T0 + timedelta(minutes=9))  # aggregate or triage, the later
    events = history(triaged, inc["incident_id"]).to_pylist()
    assert [(e["who"], e["from_status"], e["to_status"]) for e in events] == [
        ("alice", "open", "acknowledged"), ("bob", "acknowledged", "acknowledged"),
        ("alice", "acknowledged", "resolved")]
    # the other policy's incident of the same value keeps its own status
    assert _by(triaged, "keys", "fp-key")["status"] == "open"


def test_false_positive_suppresses_the_value_under_every_policy(triaged):
    inc = _by(triaged, "keys", "fp-key")
    set_status(triaged, inc["incident_id"], status="false_positive", note="documentation example",
               who="alice", now=T0)
    assert _by(triaged, "all", "fp-key")["status"] == "false_positive"
    assert _by(triaged, "keys", "fp-key")["status"] == "false_positive"
    rows = suppressed(triaged).to_pylist()
    assert [(r["fingerprint"], r["marked_by"], r["note"], r["incidents"]) for r in rows] == [
        ("fp-key", "alice", "documentation example", 2)]
    # reopening any incident of the value lifts the suppression
    other = _by(triaged, "all", "fp-key")
    set_status(triaged, other["incident_id"], status="open", who="bob", now=T0 + timedelta(hours=1))
    assert suppressed(triaged).num_rows == 0
    assert _by(triaged, "keys", "fp-key")["status"] == "open"


def test_list_filters_and_occurrences(triaged):
    assert {r["fingerprint"] for r in list_incidents(triaged, min_severity="high").to_pylist()} == {"fp-key"}
    assert list_incidents(triaged, policy="keys").num_rows == 1
    assert list_incidents(triaged, since=T0 + timedelta(minutes=5)).num_rows == 2  # fp-key in both policies
    inc = _by(triaged, "all", "fp-key")
    set_status(triaged, inc["incident_id"], status="acknowledged", who="a")
    assert [r["policy"] for r in list_incidents(triaged, status=["acknowledged"]).to_pylist()] == ["all"]
    occ = occurrences(triaged, find_incident(triaged, inc["incident_id"][:6]), POLICIES).to_pylist()
    assert [o["chat_url"] for o in occ] == ["https://claude.ai/chat/c1", "https://claude.ai/chat/c2"]
    assert occ[0]["chat_title"] == "[red]deploy[/red] notes" and occ[0]["context"] == "key is AKIA************WXYZ ok"


def test_bad_requests_are_refused(triaged):
    inc = _by(triaged, "all", "fp-key")
    with pytest.raises(TriageError, match="unknown status"):
        set_status(triaged, inc["incident_id"], status="closed")
    with pytest.raises(TriageError, match="no incident"):
        set_status(triaged, "ffff0000", status="resolved")
    with pytest.raises(TriageError, match="nothing to change"):
        set_status(triaged, inc["incident_id"])
    with pytest.raises(TriageError, match="hexadecimal"):
        find_incident(triaged, "x' OR 1=1 --")
    assert triaged.query("SELECT count(*) AS n FROM incident_events").column("n")[0].as_py() == 0
