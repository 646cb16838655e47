"""Posture snapshots and their changes, and the directory's refresh (latest wins), on a real lake."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from vigil.lake import Lake
from vigil.posture import changes_since, diff_snapshots, posture_rows, snapshot_row
from vigil.scan.directory import Directory, directory_rows

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
ORG = "e75d787c-49fe-4043-84e6-99013a309729"


def settings(**changes):
    rows = {"claude_ai_chat_sharing_enabled": ("boolean", False), "public_projects_enabled": ("boolean", False),
            "allowed_invite_domains": ("string_list", ["acme-corp.com"]),
            "data_retention_periods": ("data_retention", {"all": {"type": "fixed", "timescale": "month",
                                                                  "duration": 24}})}
    rows.update(changes)
    return [{"name": n, "type": t, "value": v} for n, (t, v) in rows.items()]


def key(key_id, active=True, scopes=("read:compliance_user_data",)):
    return {"type": "compliance_api_key", "id": key_id, "name": f"key {key_id}", "scopes": list(scopes),
            "is_active": active, "created_at": "2026-01-01T00:00:00Z"}


def record(rows, keys):
    return {"organization_id": ORG, "organization_name": "Acme", "settings": rows, "api_keys": keys}


def test_changes_between_two_snapshots():
    before = snapshot_row(record(settings(), [key("k1"), key("k2"), key("k3", active=False), key("k4")]), "r1", T0)
    after = snapshot_row(record(settings(
        claude_ai_chat_sharing_enabled=("boolean", True), public_projects_enabled=("boolean", True),
        data_retention_periods=("data_retention", {"all": {"type": "fixed", "timescale": "day", "duration": 30}}),
        allowed_invite_domains=("string_list", ["acme-corp.com", "gmail.com"]),
        memory_enabled=("boolean", False)),
        [key("k1", active=False), key("k3"), key("k4", scopes=("read:compliance_user_data", "delete:x")),
         key("k5")]), "r2", T0 + timedelta(minutes=5))
    changes = {c["setting"]: c for c in diff_snapshots(before, after)}
    assert {s: c["change"] for s, c in changes.items()} == {
        "claude_ai_chat_sharing_enabled": "turned_on", "public_projects_enabled": "turned_on",
        "data_retention_periods": "shortened", "allowed_invite_domains": "changed", "memory_enabled": "added",
        "api_key:k1": "key_deactivated", "api_key:k2": "key_removed", "api_key:k3": "key_reactivated",
        "api_key:k4": "key_scopes_changed", "api_key:k5": "key_created"}
    retention = changes["data_retention_periods"]
    assert "720 days -> all: 30 days" in retention["description"]
    assert retention["from_value"] == '{"all":{"duration":24,"timescale":"month","type":"fixed"}}'
    assert all(c["previous_taken_at"] == T0 and c["detected_at"] == T0 + timedelta(minutes=5)
               for c in changes.values())
    # Lengthened, and indefinite counts as longer than any period.
    longer = snapshot_row(record(settings(data_retention_periods=("data_retention", {"all": {"type": "indefinite"}})),
                                 []), "r3", T0)
    assert diff_snapshots(before, longer)[0]["change"] == "lengthened"


def test_snapshots_land_once_per_run_and_changes_are_listed_since_a_date(tmp_path):
    lake = Lake(tmp_path, compact_threshold=0)
    first = posture_rows(lake, [record(settings(), [key("k1")])], "run-1", T0)
    assert len(first["posture_snapshots"]) == 1 and first["posture_changes"] == []  # the baseline
    lake.land(first)
    same = posture_rows(lake, [record(settings(), [key("k1")])], "run-2", T0 + timedelta(hours=1))
    assert same["posture_changes"] == []
    lake.land(same)
    flipped = posture_rows(lake, [record(settings(claude_ai_chat_sharing_enabled=("boolean", True)), [key("k1")])],
                           "run-3", T0 + timedelta(hours=2))
    lake.land(flipped)
    lake.land(flipped)  # a replayed page: same ids
    (change,) = changes_since(lake, T0)
    assert change["setting"] == "claude_ai_chat_sharing_enabled" and change["change"] == "turned_on"
    assert change["previous_taken_at"] == T0 + timedelta(hours=1) and change["scan_run_id"] == "run-3"
    assert change["description"] == "claude_ai_chat_sharing_enabled turned on"
    assert changes_since(lake, T0 + timedelta(hours=3)) == []
    assert changes_since(lake, "2026-11-20T00:00:00Z", org_id="another-org") == []


def snapshot(users, groups):
    return {"users": [{"id": u, "email": f"{u}@acme.com", "full_name": u.title(), "organization_role": "user",
                       "created_at": "2026-01-02T03:04:05.123456Z"} for u in users],
            "groups": [{"id": g, "name": g.title(), "source_type": "scim", "roles": None,
                        "created_at": "2026-01-02T03:04:05"} for g in groups],
            "members": {g: [{"user_id": u, "email": f"{u}@acme.com", "created_at": "2026-01-03T00:00:00"}
                            for u in members] for g, members in groups.items()}}


def test_the_directory_lands_what_changed_and_marks_what_left(tmp_path):
    lake = Lake(tmp_path, compact_threshold=0)
    first = directory_rows(snapshot(["ann", "bo", "cy"], {"finance": ["ann", "bo"]}), lake, ORG, "r1", T0)
    assert {t: len(r) for t, r in first.items()} == {"users": 3, "groups": 1, "group_members": 2}
    lake.land(first)
    assert all(not rows for rows in directory_rows(snapshot(["ann", "bo", "cy"], {"finance": ["ann", "bo"]}),
                                                   lake, ORG, "r2", T0).values())
    moved = directory_rows(snapshot(["ann", "cy", "dee"], {"finance": ["ann", "dee"]}), lake, ORG, "r3", T0)
    lake.land(moved)
    users = {r["user_id"]: r["active"] for r in lake.query("SELECT user_id, active FROM users").to_pylist()}
    assert users == {"ann": True, "bo": False, "cy": True, "dee": True}
    members = {r["user_id"]: r["active"] for r in lake.query(
        "SELECT user_id, active FROM group_members").to_pylist()}
    assert members == {"ann": True, "bo": False, "dee": True}
    directory = Directory.load(lake, ORG)
    assert directory.groups_of("dee") == [("finance", "Finance")] and directory.groups_of("bo") == []
    assert directory.email_of("cy") == "cy@acme.com" and directory.groups_of(None, "ANN@acme.com") == [
        ("finance", "Finance")]
    # A key that may not read groups leaves the group tables as they are.
    assert set(directory_rows({"users": [], "groups": None, "members": {}}, lake, ORG, "r4", T0)) == {"users"}
