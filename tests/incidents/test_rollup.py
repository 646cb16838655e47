"""Incidents are recomputed from findings: one per value per policy, exactly once."""

from __future__ import annotations

from datetime import timedelta

from vigil.incidents import IncidentPolicy, Match, refresh_incidents
from vigil.lake.ids import stable_id

from .conftest import T0, finding


def _incidents(lake, policy="all"):
    return {r["fingerprint"]: r for r in lake.query(
        "SELECT * FROM incidents WHERE policy = $p", {"p": policy}).to_pylist()}


def _rollup_files(lake):
    return lake.storage.glob(lake.storage.path("incident_rollups", "dt=*", "*.parquet"))


def test_one_incident_per_value_with_its_aggregate(lake):
    users = ["ana@example.com", "bo@example.com", "cy@example.com"]
    rows = [finding("fp-key", chat=f"chat-{i:02d}", user=users[i % 3], minutes=i,
                    severity="high" if i else "critical", project="p1" if i % 2 else None)
            for i in range(40)]
    rows.append(finding("fp-ssn", infotype="US_SOCIAL_SECURITY_NUMBER", category="national_id",
                        severity="high", masked="***-**-6789", minutes=5))
    lake.land({"findings": rows})

    result = refresh_incidents(lake)
    assert (result.mode, result.written, result.new) == ("full", 2, 2)
    inc = _incidents(lake)
    key = inc["fp-key"]
    assert key["incident_id"] == stable_id("incident", "all", "fp-key")
    assert (key["occurrences"], key["users"], key["chats"], key["projects"]) == (40, 3, 40, 1)
    assert key["severity"] == "critical" and key["infotype"] == "AWS_CREDENTIALS"
    assert key["category"] == "credential" and key["masked"] == "AKIA************WXYZ"
    assert key["first_seen"] == T0 and key["last_seen"] == T0 + timedelta(minutes=39)
    assert key["chat_url"] == "https://claude.ai/chat/chat-00"
    assert key["latest_chat_url"] == "https://claude.ai/chat/chat-39"
    assert key["object_key"] == rows[0]["object_key"] and key["latest_object_key"] == rows[39]["object_key"]
    assert key["status"] == "open" and key["assignee"] is None and key["first_user"] == "ana@example.com"
    ssn = inc["fp-ssn"]
    assert (ssn["occurrences"], ssn["users"], ssn["chats"], ssn["projects"]) == (1, 1, 1, 0)
    assert ssn["category"] == "national_id" and ssn["severity"] == "high"


def test_rerun_and_replay_change_nothing(lake):
    rows = [finding("fp-a", minutes=i, chat=f"c{i}") for i in range(3)] + [finding("fp-b")]
    lake.land({"findings": rows})
    refresh_incidents(lake)
    before = lake.query("SELECT * EXCLUDE (updated_at) FROM incidents ORDER BY incident_id")
    files = _rollup_files(lake)

    assert refresh_incidents(lake).written == 0            # same findings, incremental
    assert refresh_incidents(lake, full=True).written == 0  # same findings, everything recomputed
    lake.land({"findings": rows})                            # a replayed page: same ids again
    again = refresh_incidents(lake)
    assert again.mode == "incremental" and again.written == 0
    assert _rollup_files(lake) == files
    assert lake.query("SELECT * EXCLUDE (updated_at) FROM incidents ORDER BY incident_id").equals(before)


def test_new_occurrence_updates_the_incident_and_keeps_its_creation(lake):
    lake.land({"findings": [finding("fp-a", chat="c1"), finding("fp-other")]})
    first = refresh_incidents(lake, now=T0 + timedelta(hours=2))
    created = _incidents(lake)["fp-a"]["created_at"]
    lake.land({"findings": [finding("fp-a", chat="c2", user="bo@example.com", minutes=30,
                                    severity="medium")]})
    second = refresh_incidents(lake, now=T0 + timedelta(hours=3))
    assert (first.written, second.mode, second.written, second.new) == (2, "incremental", 1, 0)
    inc = _incidents(lake)["fp-a"]
    assert (inc["occurrences"], inc["users"], inc["chats"]) == (2, 2, 2)
    assert inc["severity"] == "critical"  # the highest, not the latest
    assert inc["latest_chat_url"].endswith("/c2") and inc["chat_url"].endswith("/c1")
    assert inc["created_at"] == created


def test_latest_copy_of_a_finding_counts(lake):
    row = finding("fp-a", severity="low")
    lake.land({"findings": [row]})
    lake.land({"findings": [dict(row, severity="high", masked="AKIA****NEW1")]})
    refresh_incidents(lake)
    inc = _incidents(lake)["fp-a"]
    assert (inc["occurrences"], inc["severity"], inc["masked"]) == (1, "high", "AKIA****NEW1")


def test_policies_filter_and_count_per_object(lake):
    ssn = dict(infotype="US_SOCIAL_SECURITY_NUMBER", category="national_id", severity="high")
    bulk = [finding(f"ssn-{i}", obj="file-1", start=i * 30, **ssn) for i in range(5)]
    few = [finding(f"ssn-x{i}", obj="file-2", start=i * 30, **ssn) for i in range(4)]
    rows = bulk + few + [
        finding("key-1", severity="critical"),
        finding("key-low", severity="low", likelihood="POSSIBLE"),
        finding("email-1", infotype="EMAIL_ADDRESS", category="pii", severity="low"),
        finding("key-fin", user="FIN@example.com", project="proj-9", project_name="Finance"),
    ]
    lake.land({"findings": rows})
    policies = [
        IncidentPolicy("bulk-ssn", Match(infotypes=("US_SOCIAL_SECURITY_NUMBER",), min_per_object=5)),
        IncidentPolicy("keys", Match(categories=("credential",), min_severity="high",
                                     min_likelihood="LIKELY")),
        IncidentPolicy("finance", Match(users=("fin@example.com",), projects=("finance",))),
    ]
    refresh_incidents(lake, policies)
    assert set(_incidents(lake, "bulk-ssn")) == {f"ssn-{i}" for i in range(5)}
    assert set(_incidents(lake, "keys")) == {"key-1", "key-fin"}
    assert set(_incidents(lake, "finance")) == {"key-fin"}
    assert len(_incidents(lake, "all")) == len(rows)

    # a fifth SSN lands in file-2: it crosses the threshold, its four others join the policy
    lake.land({"findings": [finding("ssn-x4", obj="file-2", start=200, **ssn)]})
    result = refresh_incidents(lake, policies)
    assert result.mode == "incremental"
    assert len(_incidents(lake, "bulk-ssn")) == 10


def test_a_changed_policy_set_recomputes_and_retires(lake):
    lake.land({"findings": [finding("key-1"), finding("email-1", infotype="EMAIL_ADDRESS",
                                                      category="pii", severity="low")]})
    refresh_incidents(lake, [IncidentPolicy("pii", Match(categories=("pii",)))])
    assert set(_incidents(lake, "pii")) == {"email-1"}
    result = refresh_incidents(lake, [IncidentPolicy("keys", Match(categories=("credential",)))])
    assert result.mode == "full" and result.retired == 1
    assert _incidents(lake, "pii") == {} and set(_incidents(lake, "keys")) == {"key-1"}
    assert lake.query("SELECT count(*) AS n FROM incident_rollups WHERE occurrences = 0").column("n")[0].as_py() == 1
