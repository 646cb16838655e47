"""SPEC §8 served completely (users in department groups, cross-functional groups, roles on
groups, settings per linked org) and the posture changes of the admin API: chat sharing,
public projects, shortened retention and a new Compliance key, seen between two reads."""

from __future__ import annotations

from collections import Counter

SETTINGS = "/v1/compliance/organizations/{}/settings"
DEPARTMENTS = {"Finance", "Engineering", "Support", "People Ops", "Legal", "Sales", "Clinical Operations"}


def walk_b(api, path, **params):
    out, page = [], None
    while True:
        body = api.get(path, **params, **({"page": page} if page else {})).json()
        out += body["data"]
        page = body["next_page"]
        if not page:
            return out


def test_every_user_is_in_exactly_one_department(api, org):
    users = {u["id"]: u for u in walk_b(api, f"/v1/compliance/organizations/{org.claude_org.uuid}/users", limit=7)}
    groups = walk_b(api, "/v1/compliance/groups", limit=4)
    assert {g["name"] for g in groups} >= DEPARTMENTS | {"Security Champions", "Claude Code Pilot"}
    memberships = Counter()
    members_of = {}
    for g in groups:
        members = walk_b(api, f"/v1/compliance/groups/{g['id']}/members", limit=5)
        members_of[g["name"]] = {m["user_id"] for m in members}
        for m in members:
            assert users[m["user_id"]]["email"] == m["email"]  # members are current users, same e-mail
            if g["name"] in DEPARTMENTS:
                memberships[m["user_id"]] += 1
    assert set(memberships) == set(users) and set(memberships.values()) == {1}
    assert members_of["Security Champions"] <= members_of["Engineering"]
    coders = {u for u, x in users.items() if x["organization_role"] in ("developer", "claude_code_user")}
    assert coders <= members_of["Engineering"] & members_of["Claude Code Pilot"]
    pilot = next(g for g in groups if g["name"] == "Claude Code Pilot")
    role = api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/roles/{pilot['roles'][0]}").json()
    assert role["name"] == "Claude Code Users"
    perms = api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/roles/{role['id']}/permissions").json()
    assert perms["data"][0]["action"] == "claude_code"
    assert {g["source_type"] for g in groups} == {"scim", "direct"}
    assert len(api.get("/v1/compliance/groups", name_prefix="Clin").json()["data"]) == 1


def test_console_org_members_are_the_developers(api, org):
    console = {u["id"] for u in walk_b(api, f"/v1/compliance/organizations/{org.console_org.uuid}/users")}
    assert console == {u.id for u in org.users if u.role in ("developer", "primary_owner")}


def test_posture_changes_between_two_reads(fresh, K):
    org, api = fresh()
    path = SETTINGS.format(org.claude_org.uuid)
    before = api.get(path).json()
    rows = {r["name"]: r["value"] for r in before["settings"]}
    assert rows["claude_ai_chat_sharing_enabled"] is False and rows["public_projects_enabled"] is False
    assert rows["data_retention_periods"] == {"all": {"type": "fixed", "timescale": "month", "duration": 24}}
    change = {"claude_ai_chat_sharing_enabled": True, "public_projects_enabled": True,
              "data_retention_periods": {"all": {"type": "fixed", "timescale": "day", "duration": 30}}}
    updates = api.http.post("/_admin/settings", json={"settings": change}).json()["updates"]
    assert {u["type"]: (u["previous_value"], u["current_value"]) for u in updates}["public_projects_enabled"] == \
        (False, True)
    created = api.http.post("/_admin/api_keys", json={"name": "Second connector",
                                                      "scopes": ["read:compliance_activities"]}).json()
    after = api.get(path).json()
    now_rows = {r["name"]: r["value"] for r in after["settings"]}
    assert {n for n in rows if rows[n] != now_rows[n]} == set(change)
    new_keys = {k["id"] for k in after["api_keys"]} - {k["id"] for k in before["api_keys"]}
    assert new_keys == {created["id"]}
    key = next(k for k in after["api_keys"] if k["id"] == created["id"])
    assert key["name"] == "Second connector" and key["is_active"] and key["scopes"] == ["read:compliance_activities"]
    assert "sk-ant" not in str(after)  # never the secret
    assert api.get(SETTINGS.format(org.console_org.uuid)).json()["settings"] != after["settings"]  # per org
    # the new key works, and stops working once deactivated (listed as inactive)
    assert api.get("/v1/compliance/activities", key=created["secret"], limit=1).status_code == 200
    api.http.post(f"/_admin/api_keys/{created['id']}/deactivate")
    assert api.get("/v1/compliance/activities", key=created["secret"], limit=1).status_code == 401
    listed = {k["id"]: k["is_active"] for k in api.get(path).json()["api_keys"]}
    assert listed[created["id"]] is False
    acts = api.get("/v1/compliance/activities", limit=5, **{"activity_types[]": "claude_organization_settings_updated"}).json()
    assert acts["data"][0]["updates"] == updates and acts["data"][0]["organization_uuid"] == org.claude_org.uuid
    assert acts["data"][0]["actor"]["type"] == "user_actor"


def test_admin_settings_validation(fresh):
    org, api = fresh()
    cases = [{"settings": {"public_projects_enabled": "yes"}},
             {"settings": {"data_retention_periods": {"all": {"type": "fixed", "timescale": "week", "duration": 2}}}},
             {"settings": {"brand_new_switch": True}},
             {"settings": {}},
             {"settings": {"sso_provisioning_mode": "magic"}}]
    for body in cases:
        assert api.http.post("/_admin/settings", json=body).status_code == 400, body
    ok = api.http.post("/_admin/settings", json={"settings": {"brand_new_switch": True},
                                                 "types": {"brand_new_switch": "boolean"}})
    assert ok.status_code == 200
    assert api.http.post("/_admin/settings", json={"organization_id": org.parent.uuid,
                                                   "settings": {"chat_enabled": False}}).status_code == 404
    assert api.http.post("/_admin/api_keys", json={"secret": "sk-ant-api03-nope"}).status_code == 400
