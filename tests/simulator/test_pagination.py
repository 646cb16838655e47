"""The three pagination models: defaults, walks that see every record exactly once, ordering,
cursors in both directions."""

from __future__ import annotations


def walk_a(api, path, **params):
    pages, items, cursor = 0, [], None
    while True:
        p = dict(params)
        if cursor:
            p["after_id"] = cursor
        body = api.get(path, **p).json()
        pages += 1
        items += body["data"]
        if not body["has_more"]:
            return items, pages
        cursor = body["last_id"]


def walk_b(api, path, **params):
    pages, items, token = 0, [], None
    while True:
        p = dict(params)
        if token:
            p["page"] = token
        body = api.get(path, **p).json()
        pages += 1
        items += body["data"]
        if not body["has_more"]:
            assert body["next_page"] is None
            return items, pages
        token = body["next_page"]


def test_default_limits(api, org):
    assert len(api.get("/v1/compliance/activities").json()["data"]) == 100
    assert len(api.get("/v1/compliance/apps/chats").json()["data"]) == 100
    assert len(api.get("/v1/compliance/apps/projects").json()["data"]) == 20
    chat = max(org.chats, key=lambda c: len(c.turns))
    body = api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").json()
    assert len(body["chat_messages"]) == len(org.content.chat_messages(chat)) > 10 and body["has_more"] is False


def test_org_wide_chat_walks(api, org):
    n = sum(1 for _ in org.live_chats())
    for order_by, field in (("created_at", "created_at"), ("updated_at", "updated_at")):
        items, pages = walk_a(api, "/v1/compliance/apps/chats", limit=37, order_by=order_by)
        ids = [c["id"] for c in items]
        assert len(ids) == len(set(ids)) == n
        assert pages == -(-n // 37)
        keys = [c[field] for c in items]
        assert keys == sorted(keys)


def test_user_filtered_chats_walk_both_ways(api, org):
    u = max(org.users, key=lambda u: sum(1 for c in org.chats if c.user == u.idx))
    expected = sorted((c for c in org.chats if c.user == u.idx), key=lambda c: (c.created, c.uuid))
    fwd, _ = walk_a(api, "/v1/compliance/apps/chats", limit=3, **{"user_ids[]": u.id})
    assert [c["id"] for c in fwd] == [c.id for c in expected]
    # walk backwards from the end with before_id
    last_page = api.get("/v1/compliance/apps/chats", limit=1000, **{"user_ids[]": u.id}).json()
    cursor, back = last_page["last_id"], []
    tail = last_page["data"][-1:]
    while True:
        body = api.get("/v1/compliance/apps/chats", limit=2, before_id=cursor, **{"user_ids[]": u.id}).json()
        back = body["data"] + back
        if not body["has_more"]:
            break
        cursor = body["first_id"]
    assert [c["id"] for c in back + tail] == [c.id for c in expected]


def test_project_filter_needs_and_uses_users(api, org):
    c = next(c for c in org.chats if c.project)
    u = org.users[c.user].id
    data = api.http.get(f"/v1/compliance/apps/chats?user_ids[]={u}&project_ids[]={c.project}&limit=1000",
                        headers={"x-api-key": api.key}).json()["data"]
    assert c.id in [d["id"] for d in data] and all(d["project_id"] == c.project for d in data)


def test_chat_time_filters(api, org):
    cut = sorted(c.updated for c in org.chats)[len(org.chats) // 2]
    from vigil.simulator.ids import ts_z
    items, _ = walk_a(api, "/v1/compliance/apps/chats", limit=1000, order_by="updated_at",
                      **{"updated_at.gte": ts_z(cut)})
    assert {c["id"] for c in items} == {c.id for c in org.chats if c.updated >= cut}


def test_activity_feed_orders_and_cursors(api, org):
    base = {"activity_types[]": "claude_chat_created"}
    desc, _ = walk_a(api, "/v1/compliance/activities", limit=50, **base)
    ids = [a["id"] for a in desc]
    assert len(ids) == len(set(ids)) == len(org.chats)
    keys = [(a["created_at"], a["id"]) for a in desc]
    assert keys == sorted(keys, reverse=True)
    asc, _ = walk_a(api, "/v1/compliance/activities", limit=50, order="asc", **base)
    assert [a["id"] for a in asc] == ids[::-1]
    # before_id walks back towards newer records (catch-up pattern)
    oldest = desc[-1]["id"]
    cursor, newer = oldest, []
    while True:
        body = api.get("/v1/compliance/activities", limit=40, before_id=cursor, **base).json()
        newer = body["data"] + newer
        if not body["has_more"]:
            break
        cursor = body["first_id"]
    assert [a["id"] for a in newer] == ids[:-1]


def test_activity_filters(api, org):
    user = org.users[3]
    r = api.get("/v1/compliance/activities", limit=5000, **{"actor_ids[]": user.id}).json()["data"]
    assert r and all(a["actor"].get("user_id") == user.id for a in r)
    r2 = api.get("/v1/compliance/activities", limit=5000, **{"user_ids[]": user.id}).json()["data"]
    assert [a["id"] for a in r] == [a["id"] for a in r2]
    ex = api.get("/v1/compliance/activities", limit=5000,
                 **{"exclude_activity_types[]": "compliance_api_accessed"}).json()["data"]
    assert ex and all(a["type"] != "compliance_api_accessed" for a in ex)
    by_org = api.get("/v1/compliance/activities", limit=5000,
                     **{"organization_ids[]": org.claude_org.uuid}).json()["data"]
    assert by_org and all(a["organization_uuid"] == org.claude_org.uuid for a in by_org)
    from vigil.simulator.ids import ts_z
    lo, hi = ts_z(org.now - 5 * 86400), ts_z(org.now - 2 * 86400)
    win = api.get("/v1/compliance/activities", limit=5000, **{"created_at.gte": lo, "created_at.lt": hi}).json()["data"]
    assert win and all(lo <= a["created_at"] < hi for a in win)


def test_messages_paging(api, org):
    chat = max(org.chats, key=lambda c: len(c.turns))
    path = f"/v1/compliance/apps/chats/{chat.id}/messages"
    whole = [m["id"] for m in api.get(path).json()["chat_messages"]]
    got, cursor = [], None
    while True:
        params = {"limit": 4} | ({"after_id": cursor} if cursor else {})
        body = api.get(path, **params).json()
        got += [m["id"] for m in body["chat_messages"]]
        if not body["has_more"]:
            break
        cursor = body["last_id"]
    assert got == whole
    desc = [m["id"] for m in api.get(path, order="desc").json()["chat_messages"]]
    assert desc == whole[::-1]
    first_page = api.get(path, limit=4, after_id=api.get(path, limit=4).json()["last_id"]).json()
    back = api.get(path, limit=4, before_id=first_page["first_id"]).json()
    assert [m["id"] for m in back["chat_messages"]] == whole[:4] and back["has_more"] is False


def test_model_b_walks(api, org):
    users, pages = walk_b(api, f"/v1/compliance/organizations/{org.claude_org.uuid}/users", limit=7)
    assert [u["id"] for u in users] == [u.id for u in sorted(org.users, key=lambda u: (u.created, u.id))]
    assert pages == -(-len(org.users) // 7)
    projects, _ = walk_b(api, "/v1/compliance/apps/projects", limit=4)
    assert [p["id"] for p in projects] == [p.id for p in sorted(org.projects, key=lambda p: (p.created, p.id))]
    created = [p["created_at"] for p in projects]
    assert created == sorted(created)
    p = max(org.projects, key=lambda p: len(p.doc_ids) + len(p.file_ids))
    att, _ = walk_b(api, f"/v1/compliance/apps/projects/{p.id}/attachments", limit=1)
    assert sorted(a["id"] for a in att) == sorted(p.doc_ids + p.file_ids)
    assert api.get("/v1/compliance/organizations").json()["data"][0]["uuid"] == org.claude_org.uuid


def test_cursor_survives_key_rotation(api, K):
    first = api.get("/v1/compliance/apps/chats", limit=5).json()
    a = api.get("/v1/compliance/apps/chats", limit=5, after_id=first["last_id"]).json()
    b = api.get("/v1/compliance/apps/chats", key=K.FULL, limit=5, after_id=first["last_id"]).json()
    assert a["data"] == b["data"]
