"""SPEC §8 and §9 responses have the shapes of examples/*.json: sessions, their transcripts, code
artifacts, organization settings and group members (same keys, same JSON types)."""

from __future__ import annotations

import pytest

from tests.simulator.test_contract import assert_same_shape, envelope, example
from tests.simulator.test_sessions import artifacts

LOCAL = "/v1/compliance/apps/sessions/local"
REMOTE = "/v1/compliance/apps/sessions/remote"
ARTIFACTS = "/v1/compliance/apps/code/artifacts"


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def test_local_session_list_and_retrieve(api):
    ex = example("local_sessions_list.json")
    ours = api.get(LOCAL, limit=500).json()
    envelope(ours, ex)
    assert "has_more" not in ours and ours["next_page"] is None
    # SPEC §9.1 (Aug 2026): no updated_at; the example shows the later docs' field (§18 switch below)
    for s in ours["data"]:
        assert_same_shape(s, without(ex["data"][0], "updated_at"))
        assert s["type"] == "compliance_local_session" and s["id"].startswith("clls_")
    surfaces = {s["product_surface"] for s in ours["data"]}
    assert {"cowork", "claude_code", None} <= surfaces
    one = ours["data"][0]
    assert api.get(f"{LOCAL}/{one['id']}").json() == one  # same object, no envelope


def test_local_session_updated_at_switch_matches_the_example_exactly(org, serve):
    ours = serve(org, local_session_updates=True).get(LOCAL).json()
    for s in ours["data"]:
        assert_same_shape(s, example("local_sessions_list.json")["data"][0])
        assert s["updated_at"] >= s["created_at"]


def test_local_session_messages(api, org):
    ex = example("local_session_messages.json")
    by_kind = {}
    for s in api.get(LOCAL, limit=500).json()["data"]:
        body = api.get(f"{LOCAL}/{s['id']}/messages", limit=1000).json()
        assert set(body) == set(ex) == {"session", "data", "next_page"}
        assert_same_shape(body["session"], ex["session"])
        assert body["session"]["user"]["email_address"] is None  # always null here
        first = body["data"][0]
        assert first["provenance"] == {"type": "synthetic_marker"}
        assert first["content"] == [{"type": "text", "text": "[system prompt content not shown]", "truncated": True}]
        for m in body["data"]:
            kinds = tuple(b["type"] for b in m["content"])
            by_kind.setdefault(kinds[-1] if kinds else "empty", m)
    ex_by = {m["content"][0]["type"]: m for m in ex["data"][1:]}
    for kind, theirs in ex_by.items():
        ours = by_kind[kind]
        assert_same_shape({**ours, "content": ours["content"][-1:]}, theirs, kind)


def test_remote_sessions_and_messages(api, org):
    ex, exm = example("remote_sessions_list.json"), example("remote_session_messages.json")
    ours = api.get(REMOTE, limit=500).json()
    envelope(ours, ex)
    statuses, owners = set(), set()
    for s in ours["data"]:
        assert_same_shape(s, ex["data"][0])
        statuses.add(s["status"])
        owners.add("agent" if s["agent_id"] else "user")
        assert (s["user"] is None) != (s["agent_id"] is None)  # exactly one of user / agent
        if s["status"] == "pending":
            continue
        body = api.get(f"{REMOTE}/{s['id']}/messages").json()
        assert set(body) == set(exm)
        assert_same_shape(body["session"], exm["session"])
        assert body["session"]["started_by_user"] is None and body["session"]["claude_project_id"] is None
        for m in body["data"]:
            assert_same_shape({**m, "content": [b for b in m["content"] if b["type"] == "text"][:1]},
                              exm["data"][0])
    assert {"pending", "active", "archived", "failed"} <= statuses and owners == {"agent", "user"}


def test_code_artifacts_list_and_delete(api, org, K):
    ex = example("code_artifacts_list.json")
    ours = api.get(ARTIFACTS, limit=100).json()
    envelope(ours, ex)
    modes = set()
    for a in artifacts(api):
        assert_same_shape(a, ex["data"][0])
        modes.add(a["read_mode"])
        assert 1 <= len(a["versions"]) <= 20 and a["published_version_id"] in {v["id"] for v in a["versions"]}
    assert modes == {"owner", "users", "org", "public"}
    r = api.request("DELETE", f"{ARTIFACTS}/{org.code_artifacts[0].id}", key=K.READ)
    assert r.status_code == 403  # deletes need delete:compliance_user_data


def test_code_artifact_delete_body(fresh, K):
    org, api = fresh()
    aid = org.code_artifacts[0].id
    assert api.request("DELETE", f"{ARTIFACTS}/{aid}", key=K.FULL).json() == \
        {"id": aid, "type": example("delete_code_artifact.json")["type"]}
    assert api.request("DELETE", f"{ARTIFACTS}/{aid}", key=K.FULL).status_code == 404  # repeat delete
    assert aid not in {a["id"] for a in artifacts(api)}


def test_settings_rows_and_keys_match_the_example(api, org):
    ex = example("organization_settings.json")
    for unit in (org.claude_org, org.console_org):
        ours = api.get(f"/v1/compliance/organizations/{unit.uuid}/settings").json()
        assert set(ours) == set(ex)
        ex_rows = {r["name"]: r for r in ex["settings"]}
        for row in ours["settings"]:
            assert set(row) == {"name", "type", "value"}
            if row["name"] in ex_rows:
                assert row["type"] == ex_rows[row["name"]]["type"]
                assert_same_shape(row["value"], ex_rows[row["name"]]["value"])
        for k in ours["api_keys"]:
            assert_same_shape(k, ex["api_keys"][0])
        assert {k["is_active"] for k in ours["api_keys"]} == {True, False}  # inactive keys are listed too
    names = {r["name"] for r in api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/settings").json()["settings"]}
    assert {"public_projects_enabled", "claude_ai_chat_sharing_enabled", "data_retention_periods",
            "sso_provisioning_mode", "account_session_duration_seconds", "allowed_invite_domains"} <= names


@pytest.mark.parametrize("path,msg", [
    (f"{LOCAL}/clls_01doesnotexist", "Local session not found."),
    (f"{REMOTE}/cse_01doesnotexist/messages", "Remote session not found."),
    (f"{ARTIFACTS}/cart_01nope/versions/1-abcd", "Code artifact not found."),
])
def test_not_found_bodies(api, path, msg):
    body = api.get(path).json()
    assert body["error"] == {"type": "not_found_error", "message": msg, "details": {"error_visibility": "user_facing"}}
