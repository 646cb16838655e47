"""Changes while serving (Python API and /_admin endpoints) show up through the API: new chats
and messages after a saved updated_at cursor, new files, soft and hard deletes, activities and
ground truth."""

from __future__ import annotations

import base64


def walk_updated(api, cursor=None):
    out = []
    while True:
        params = {"order_by": "updated_at", "limit": 1000} | ({"after_id": cursor} if cursor else {})
        body = api.get("/v1/compliance/apps/chats", **params).json()
        out += body["data"]
        cursor = body["last_id"] or cursor
        if not body["has_more"]:
            return out, cursor


def test_forward_scan_sees_changes_after_its_cursor(fresh):
    org, api = fresh()
    _, cursor = walk_updated(api)
    assert walk_updated(api, cursor)[0] == []
    old = org.chats[3]
    before = api.get(f"/v1/compliance/apps/chats/{old.id}/messages").json()
    new_ids = api.http.post("/_admin/chats", json={"count": 2}).json()["chat_ids"]
    msg_ids = api.http.post(f"/_admin/chats/{old.id}/messages", json={"turns": 1}).json()["message_ids"]
    changed, cursor2 = walk_updated(api, cursor)
    assert [c["id"] for c in changed] == new_ids + [old.id]
    after = api.get(f"/v1/compliance/apps/chats/{old.id}/messages").json()
    assert after["updated_at"] > before["updated_at"]
    assert [m["id"] for m in after["chat_messages"]][-2:] == msg_ids
    assert len(after["chat_messages"]) == len(before["chat_messages"]) + 2
    assert walk_updated(api, cursor2)[0] == []
    types = [a["type"] for a in api.get("/v1/compliance/activities", limit=20,
                                        **{"exclude_activity_types[]": "compliance_api_accessed"}).json()["data"]]
    assert types.count("claude_chat_created") >= 2 and "claude_chat_updated" in types


def test_python_api_message_with_plants_joins_ground_truth(fresh):
    org, api = fresh()
    rows_before = {(r.object_id, r.value) for r in org.ground_truth()}
    chat_id = org.add_chat(user=org.users[1].id, name="Live chat", messages=[
        {"text": "Please update the vendor record, card 4111 1111 1111 1111 is wrong; use 5500 0000 0000 0004.",
         "plants": [("CREDIT_CARD_NUMBER", "5500 0000 0000 0004")]}])
    mid = org.add_message(chat_id, "Done. The contact is jane.roe@example.com.", role="assistant",
                          plants=[("EMAIL_ADDRESS", "jane.roe@example.com")])
    rows = {(r.object_id, r.locator, r.value) for r in org.ground_truth()}
    new = {r for r in rows if (r[0], r[2]) not in rows_before}
    assert (mid, "text:0", "jane.roe@example.com") in new and len(new) == 2
    body = api.get(f"/v1/compliance/apps/chats/{chat_id}/messages").json()
    assert body["name"] == "Live chat" and body["user"]["id"] == org.users[1].id
    assert body["chat_messages"][1]["content"][0]["text"] == "Done. The contact is jane.roe@example.com."
    listed = api.get("/v1/compliance/apps/chats", limit=1000, **{"user_ids[]": org.users[1].id}).json()["data"]
    assert chat_id in [c["id"] for c in listed]


def test_added_file_is_downloadable_with_rfc5987_name(fresh):
    org, api = fresh()
    chat = org.chats[0]
    content = "Name,Card\nJane,4242 4242 4242 4242\n"
    fid = api.http.post(f"/_admin/chats/{chat.id}/files", json={
        "filename": "résumé 2026.csv", "content": content, "mime_type": "text/csv",
        "plants": [{"locator": "line:2", "infotype": "CREDIT_CARD_NUMBER", "value": "4242 4242 4242 4242"}]}).json()["file_id"]
    r = api.get(f"/v1/compliance/apps/chats/files/{fid}/content")
    assert r.content == content.encode()
    assert r.headers["content-disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%202026.csv"
    import hashlib
    assert base64.b64decode(r.headers["content-md5"]) == hashlib.md5(content.encode()).digest()
    meta = api.get(f"/v1/compliance/apps/chats/files/{fid}").json()
    assert meta["claude_chat_ids"] == [chat.id] and meta["md5"] == hashlib.md5(content.encode()).hexdigest()
    last = api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").json()["chat_messages"][-1]
    assert last["files"][0]["id"] == fid and meta["message_ids"] == [last["id"]]
    assert ("file", fid, "line:2") in {(r.object_kind, r.object_id, r.locator) for r in org.ground_truth()}
    gen = org.add_file(chat.id, fmt="docx")
    assert api.get(f"/v1/compliance/apps/chats/files/{gen}/content").content[:2] == b"PK"


def test_soft_delete_keeps_chat_readable(fresh):
    org, api = fresh()
    chat = next(c for c in org.chats if c.deleted is None)
    body = api.http.post(f"/_admin/chats/{chat.id}/soft_delete").json()
    assert body["deleted_at"]
    listed = {c["id"]: c for c in api.get("/v1/compliance/apps/chats", limit=1000).json()["data"]}
    assert listed[chat.id]["deleted_at"] == body["deleted_at"] == listed[chat.id]["updated_at"]
    assert api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").json()["chat_messages"]


def test_hard_delete_removes_chat_and_its_files(fresh, K):
    org, api = fresh()
    chat = next(c for c in org.chats if any(t.file_ids for t in c.turns) and c.art_id)
    files = [f for t in chat.turns for f in t.file_ids]
    arts = [t.art for t in chat.turns if t.art]
    assert api.request("DELETE", f"/v1/compliance/apps/chats/{chat.id}", key=K.FULL).status_code == 200
    assert api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").json()["error"]["message"] == f"Chat {chat.id} not found."
    assert chat.id not in [c["id"] for c in api.get("/v1/compliance/apps/chats", limit=1000).json()["data"]]
    for fid in files:
        assert api.get(f"/v1/compliance/apps/chats/files/{fid}/content").status_code == 404
    for v in arts:
        assert api.get(f"/v1/compliance/apps/artifacts/{v}/content").status_code == 404
    assert api.request("DELETE", f"/v1/compliance/apps/chats/{chat.id}", key=K.FULL).status_code == 404
    assert not [r for r in org.ground_truth() if r.object_id in files or r.object_id in arts]
    deleted = api.get("/v1/compliance/activities", limit=5, **{"activity_types[]": "claude_chat_deleted"}).json()["data"]
    assert deleted[0]["claude_chat_id"] == chat.id and deleted[0]["actor"]["type"] == "api_actor"


def test_admin_validation_errors(fresh):
    org, api = fresh()
    assert api.http.post("/_admin/chats/claude_chat_01nope/messages", json={"turns": 1}).status_code == 404
    assert api.http.post("/_admin/chats", json={"count": 0}).status_code == 400
    assert api.http.post("/_admin/faults", json={"p500": 2}).status_code == 400
    assert api.http.post("/_admin/faults", json={"bogus": 0.1}).status_code == 400
    r = api.http.post(f"/_admin/chats/{org.chats[0].id}/messages",
                      json={"text": "hello", "plants": [{"infotype": "EMAIL_ADDRESS", "value": "not-in-text@x.io"}]})
    assert r.status_code == 400
    state = api.http.get("/_admin/state").json()
    assert state["chats"] == len(org.chats) and state["organizations"]["claude_ai"] == org.claude_org.uuid


def test_spec18_switches(fresh):
    org, api = fresh(deleted_chats="emptied", activity_nulls=False)
    chat = next(c for c in org.chats if c.deleted)
    body = api.get(f"/v1/compliance/apps/chats/{chat.id}/messages").json()
    assert body["name"] == "" and body["deleted_at"] and body["chat_messages"] == []
    api.get("/v1/compliance/organizations")
    acts = api.get("/v1/compliance/activities", limit=5000).json()["data"]
    access = next(a for a in acts if a["type"] == "compliance_api_accessed")
    assert "organization_id" not in access and access["request_body"] is None
    uploads = [a for a in acts if a["type"] == "claude_file_uploaded"]
    assert any("claude_chat_id" not in a for a in uploads) and any("claude_chat_id" in a for a in uploads)
