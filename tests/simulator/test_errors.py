"""Every documented 400/401/403/404/409 rule, with the documented messages."""

from __future__ import annotations

import pytest

BAD_TS = ('The `{p}` parameter contains an invalid timestamp format. Timestamps must be provided in RFC 3339 '
          'format e.g., "2024-03-01T00:00:00Z". Got "{v}".')


def err(resp, status, etype):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["type"] == etype
    assert resp.headers["request-id"].startswith("req_")
    return body["error"]["message"]


@pytest.mark.parametrize("key", [None, "", "sk-ant-api01-unknown", "CLAUDE_API"])
def test_401_for_missing_unknown_or_claude_api_key(api, K, key):
    headers = {} if key is None else {"x-api-key": getattr(K, key, key)}
    r = api.http.get("/v1/compliance/activities", headers=headers)
    assert err(r, 401, "authentication_error") == "The API key provided is invalid or has been revoked."
    assert "anthropic-ratelimit-requests-remaining" not in r.headers


def test_claude_api_key_is_rejected_even_if_registered(org):
    import httpx

    from vigil.simulator import SyncASGITransport, build_app, make_key

    key = "sk-ant-api03-" + "z" * 40
    http = httpx.Client(transport=SyncASGITransport(build_app(org, keys=[make_key(key, ["read:compliance_activities"])])),
                        base_url="http://sim")
    assert http.get("/v1/compliance/activities", headers={"x-api-key": key}).status_code == 401


def test_403_names_got_and_needed_scopes(api, K):
    msg = err(api.get("/v1/compliance/apps/chats", key=K.ACTIVITIES_ONLY), 403, "permission_error")
    assert msg == "Missing required scopes. Got: ['read:compliance_activities'] Needed: ['read:compliance_user_data']"
    msg = err(api.get("/v1/compliance/organizations", key=K.ACTIVITIES_ONLY), 403, "permission_error")
    assert msg.endswith("Needed: ['read:compliance_org_data']")


def test_admin_key_only_reaches_the_activity_feed(api, K):
    assert api.get("/v1/compliance/activities", key=K.ADMIN).status_code == 200
    for path in ("/v1/compliance/organizations", "/v1/compliance/apps/chats", "/v1/compliance/apps/projects"):
        msg = err(api.get(path, key=K.ADMIN), 403, "permission_error")
        assert msg.startswith("Missing required scopes. Got: ['read:compliance_activities']")


def test_read_key_cannot_delete(api, org):
    chat = org.chats[0]
    msg = err(api.request("DELETE", f"/v1/compliance/apps/chats/{chat.id}"), 403, "permission_error")
    assert msg.endswith("Needed: ['delete:compliance_user_data']")
    assert api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").status_code == 200


@pytest.mark.parametrize("path,maximum", [
    ("/v1/compliance/activities", 5000), ("/v1/compliance/apps/chats", 1000),
    ("/v1/compliance/organizations", 1000), ("/v1/compliance/groups", 1000),
    ("/v1/compliance/apps/projects", 100),
])
def test_limit_bounds(api, path, maximum):
    for bad in (0, maximum + 1, "ten"):
        msg = err(api.get(path, limit=bad), 400, "invalid_request_error")
        assert msg == f"The limit parameter must be between 1 and {maximum}, inclusive. Got {bad}."
    assert api.get(path, limit=maximum).status_code == 200
    assert api.get(path, limit=1).status_code == 200


def test_limit_bounds_on_nested_lists(api, org):
    cases = [(f"/v1/compliance/organizations/{org.claude_org.uuid}/users", 1000),
             (f"/v1/compliance/groups/{org.groups[0].id}/members", 1000),
             (f"/v1/compliance/apps/projects/{org.projects[0].id}/attachments", 100),
             (f"/v1/compliance/apps/projects/{org.projects[0].id}/collaborators", 100),
             (f"/v1/compliance/apps/chats/{org.chats[0].id}/messages", 1000)]
    for path, maximum in cases:
        assert err(api.get(path, limit=maximum + 1), 400, "invalid_request_error").startswith(
            f"The limit parameter must be between 1 and {maximum}")


@pytest.mark.parametrize("value", ["2024-01-01", "2024-01-01T00:00:00", "yesterday", "2024-13-01T00:00:00Z"])
def test_rfc3339_validation_names_the_param(api, value):
    msg = err(api.get("/v1/compliance/activities", **{"created_at.gte": value}), 400, "invalid_request_error")
    assert msg == BAD_TS.format(p="created_at.gte", v=value)
    msg = err(api.get("/v1/compliance/apps/chats", order_by="updated_at", **{"updated_at.lt": value}), 400,
              "invalid_request_error")
    assert msg == BAD_TS.format(p="updated_at.lt", v=value)


def test_rfc3339_accepts_offsets_and_fractions(api):
    for v in ("2026-04-01T00:00:00Z", "2026-04-01T00:00:00+00:00", "2026-04-01T02:00:00.123456+02:00"):
        assert api.get("/v1/compliance/activities", **{"created_at.gte": v}).status_code == 200


def test_activity_feed_rules(api):
    r = api.http.get("/v1/compliance/activities?activity_types[]=claude_chat_created"
                     "&exclude_activity_types[]=claude_chat_viewed", headers={"x-api-key": api.key})
    err(r, 400, "invalid_request_error")
    msg = err(api.get("/v1/compliance/activities", after_id="activity_invalid123"), 400, "invalid_request_error")
    assert msg == 'Invalid `after_id`. No activity found for `after_id` "activity_invalid123"'
    err(api.get("/v1/compliance/activities", order="sideways"), 400, "invalid_request_error")
    first = api.get("/v1/compliance/activities", limit=1).json()["first_id"]
    err(api.get("/v1/compliance/activities", after_id=first, before_id=first), 400, "invalid_request_error")
    r = api.http.get("/v1/compliance/activities?actor_ids[]=apikey_01abc", headers={"x-api-key": api.key})
    err(r, 400, "invalid_request_error")


def test_chat_list_mode_rules(api, org):
    uid = org.users[0].id
    h = {"x-api-key": api.key}
    base = "/v1/compliance/apps/chats"
    first = api.get(base, limit=1).json()["last_id"]
    updated_cursor = api.get(base, limit=1, order_by="updated_at").json()["last_id"]
    bad = [
        f"{base}?project_ids[]={org.projects[0].id}",                       # project_ids without user_ids
        f"{base}?user_ids[]={uid}&order_by=updated_at",                     # updated_at with user_ids
        f"{base}?user_ids[]={uid}&updated_at.gte=2026-01-01T00:00:00Z",     # updated_at filter with user_ids
        f"{base}?before_id={first}",                                        # before_id org-wide
        f"{base}?updated_at.gte=2026-01-01T00:00:00Z",                      # filter not matching order_by
        f"{base}?order_by=updated_at&created_at.gte=2026-01-01T00:00:00Z",  # filter not matching order_by
        f"{base}?after_id={updated_cursor}",                                # cursor minted under updated_at
        f"{base}?order_by=updated_at&after_id={first}",                     # cursor minted under created_at
        f"{base}?after_id=not-a-cursor",                                    # malformed
        f"{base}?order_by=name",
        f"{base}?" + "&".join(f"user_ids[]={u.id}" for u in org.users[:11]),  # more than 10 users
    ]
    for url in bad:
        err(api.http.get(url, headers=h), 400, "invalid_request_error")
    ok = [f"{base}?user_ids[]={uid}&before_id={first}", f"{base}?user_ids%5B%5D={uid}&project_ids%5B%5D={org.projects[0].id}",
          f"{base}?order_by=updated_at&updated_at.gte=2026-01-01T00:00:00Z",
          f"{base}?created_at.gte=2026-01-01T00:00:00Z"]
    for url in ok:
        assert api.http.get(url, headers=h).status_code == 200, url


def test_bad_page_tokens(api, org):
    for path in ("/v1/compliance/apps/projects", "/v1/compliance/organizations",
                 f"/v1/compliance/organizations/{org.claude_org.uuid}/users"):
        for token in ("garbage", "page_eyJ4IjogMX0=", "page_!!!"):
            err(api.get(path, page=token), 400, "invalid_request_error")
    # a token of one list is not valid for another
    token = api.get("/v1/compliance/apps/projects", limit=1).json()["next_page"]
    assert token and token.startswith("page_")
    err(api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/users", page=token), 400, "invalid_request_error")


def test_message_cursor_and_cap_params(api, org):
    chat = org.chats[0]
    path = f"/v1/compliance/apps/chats/{chat.id}/messages"
    err(api.get(path, after_id="eyJtc2dfdXVpZCI6ICJub3BlIn0="), 400, "invalid_request_error")
    err(api.get(path, tool_result_max_chars=-5), 400, "invalid_request_error")
    err(api.get(path, order="random"), 400, "invalid_request_error")


def test_documented_404_texts(api, org):
    cases = [
        ("/v1/compliance/apps/chats/claude_chat_01nope/messages", "Chat claude_chat_01nope not found."),
        ("/v1/compliance/apps/chats/files/claude_file_01nope", "No file found with provided id, or it has already been deleted."),
        ("/v1/compliance/apps/chats/files/claude_file_01nope/content", "No file found with provided id, or it has already been deleted."),
        ("/v1/compliance/apps/projects/claude_proj_01nope", "No project is found with the provided id."),
        ("/v1/compliance/apps/projects/documents/claude_proj_doc_01nope",
         "No project document found with provided id, or it has already been deleted."),
        ("/v1/compliance/organizations/00000000-0000-4000-8000-000000000000/users",
         'The "00000000-0000-4000-8000-000000000000" organization does not exist or the requester is not authorized to access it.'),
        (f"/v1/compliance/organizations/{org.claude_org.uuid}/roles/rbac_role_01nope", "Role not found."),
        ("/v1/compliance/groups/rbac_group_01nope", "Group not found."),
        (f"/v1/compliance/organizations/{org.parent.uuid}/settings",
         f"organization `{org.parent.uuid}` not found in this organization's hierarchy"),
    ]
    for path, message in cases:
        assert err(api.get(path), 404, "not_found_error") == message, path
    # a generated-file ID is not an uploaded-file ID and vice versa
    g = next(f for f in org.files.values() if f.kind == "generated")
    assert api.get(f"/v1/compliance/apps/chats/files/{g.id}").status_code == 404
    assert api.get(f"/v1/compliance/apps/chats/generated-files/{g.id}").status_code == 200


def test_project_delete_with_chats_is_409(fresh, K):
    org, api = fresh()
    proj = next(p for p in org.projects if org.project_chat_count(p))
    msg = err(api.request("DELETE", f"/v1/compliance/apps/projects/{proj.id}", key=K.FULL), 409, "conflict_error")
    assert msg == (f'The "{proj.id}" project cannot be deleted as it has chats attached to it. Delete or detach all '
                   "chats, and try deleting the project again.")
    for c in list(org.chats):
        if c.project == proj.id:
            assert api.request("DELETE", f"/v1/compliance/apps/chats/{c.id}", key=K.FULL).status_code == 200
    assert api.request("DELETE", f"/v1/compliance/apps/projects/{proj.id}", key=K.FULL).status_code == 200
    assert api.get(f"/v1/compliance/apps/projects/{proj.id}").status_code == 404
    assert proj.id not in [p["id"] for p in api.get("/v1/compliance/apps/projects", limit=100).json()["data"]]


def test_unknown_route_is_json_404_with_request_id(api):
    r = api.get("/v1/compliance/nothing-here")
    err(r, 404, "not_found_error")
