"""Pagination models A, B and C: records, cursors, resume from a checkpoint, odd pages."""

from __future__ import annotations

import httpx
import pytest

from vigil.api import ResponseFormatError

CHATS = [{"id": f"claude_chat_{i:03d}", "name": f"c{i}", "created_at": "2026-08-20T14:27:38Z",
          "updated_at": "2026-08-20T14:27:38Z", "href": "x"} for i in range(25)]


def model_a(request: httpx.Request) -> httpx.Response:
    q = request.url.params
    limit = int(q.get("limit", 100))
    start = 0
    if q.get("after_id"):
        start = int(q["after_id"].split("_")[1]) + 1
    rows = CHATS[start:start + limit]
    if not rows:  # SPEC §18: the empty page has null cursors
        return httpx.Response(200, json={"data": [], "has_more": False, "first_id": None, "last_id": None})
    last = start + len(rows) - 1
    return httpx.Response(200, headers={"request-id": f"req_a{start}"}, json={
        "data": rows, "has_more": last < len(CHATS) - 1,
        "first_id": f"cur_{start}", "last_id": f"cur_{last}"})


def test_model_a_walk_and_resume_from_checkpoint(make_client):
    client = make_client(model_a)
    pages = list(client.chats(limit=10).pages())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [p.cursor for p in pages] == ["cur_9", "cur_19", "cur_24"]
    assert [p.has_more for p in pages] == [True, True, False]
    assert pages[1].request_id == "req_a10"
    # a caller that stored page 1 and crashed resumes from its checkpoint: nothing lost or repeated
    resumed = [c.id for c in client.chats(limit=10, cursor=pages[0].cursor)]
    assert resumed == [c["id"] for c in CHATS[10:]]
    # resuming a finished walk yields an empty page that keeps the cursor (null cursors in the body)
    tail = list(client.chats(limit=10, cursor=pages[-1].cursor).pages())
    assert len(tail) == 1 and tail[0].records == [] and tail[0].cursor == "cur_24" and not tail[0].has_more


def test_model_a_sends_filters_with_brackets(make_client):
    seen = []

    def handler(request):
        seen.append(request.url)
        return httpx.Response(200, json={"data": [], "has_more": False, "first_id": None, "last_id": None})

    client = make_client(handler)
    list(client.activities(limit=5000, order="asc", created_at_gte="2026-04-01T00:00:00Z",
                           activity_types=["claude_chat_created", "claude_file_uploaded"],
                           actor_ids=["user_1"], organization_ids=["org_x"]))
    list(client.chats(order_by="updated_at", updated_at_gte="2026-04-01T00:00:00+00:00", cursor="abc"))
    list(client.chats(user_ids=["user_1"], project_ids=["claude_proj_1"], cursor="c1", direction="before"))
    a, b, c = (dict(u.params.multi_items()) | {"_all": u.params.multi_items()} for u in seen)
    assert a["_all"].count(("activity_types[]", "claude_chat_created")) == 1
    assert a["order"] == "asc" and a["created_at.gte"] == "2026-04-01T00:00:00Z" and a["limit"] == "5000"
    assert b["order_by"] == "updated_at" and b["after_id"] == "abc" and "updated_at.gte" in b
    assert c["before_id"] == "c1" and c["user_ids[]"] == "user_1" and c["project_ids[]"] == "claude_proj_1"


@pytest.mark.parametrize("kwargs", [dict(order_by="updated_at", user_ids=["u"]), dict(project_ids=["p"]),
                                    dict(user_ids=["u"], updated_at_gte="2026-01-01T00:00:00Z"),
                                    dict(direction="before"), dict(updated_at_gte="2026-01-01T00:00:00Z"),
                                    dict(created_at_gte="2026-01-01"), dict(limit=1001),
                                    dict(user_ids=[f"u{i}" for i in range(11)])])
def test_chat_mode_misuse_is_rejected_before_sending(make_client, kwargs):
    client = make_client(lambda r: pytest.fail("no request should be sent"))
    with pytest.raises(ValueError):
        client.chats(**kwargs)


def test_model_b_tokens_and_resume(make_client):
    tokens = {None: ("page_1", [0, 1]), "page_1": ("page_2", [2, 3]), "page_2": (None, [4])}

    def handler(request):
        nxt, ids = tokens[request.url.params.get("page")]
        return httpx.Response(200, json={"data": [{"id": f"claude_proj_{i}", "name": "p", "is_private": False}
                                                  for i in ids], "has_more": nxt is not None, "next_page": nxt})

    client = make_client(handler)
    pages = list(client.projects(limit=2).pages())
    assert [p.cursor for p in pages] == ["page_1", "page_2", None]
    assert [p.id for p in client.projects(limit=2, page=pages[0].cursor)] == [f"claude_proj_{i}" for i in (2, 3, 4)]


def test_model_b_until_next_page_null_crosses_empty_pages(make_client):
    # code artifacts: short or empty pages while a token is still returned (SPEC §3.4)
    script = {None: ("t1", [0]), "t1": ("t2", []), "t2": ("t3", []), "t3": (None, [1, 2])}

    def handler(request):
        nxt, ids = script[request.url.params.get("page")]
        return httpx.Response(200, json={"data": [{"id": f"cart_{i}"} for i in ids], "has_more": False,
                                         "next_page": nxt})

    client = make_client(handler)
    assert [a.id for a in client.code_artifacts()] == ["cart_0", "cart_1", "cart_2"]


def test_model_c_stops_at_null_token(make_client):
    script = {None: ("page_x", ["clls_1", "clls_2"]), "page_x": (None, ["clls_3"])}

    def handler(request):
        nxt, ids = script[request.url.params.get("page")]
        return httpx.Response(200, json={"data": [{"id": i, "type": "compliance_local_session"} for i in ids],
                                         "next_page": nxt})

    client = make_client(handler)
    pages = list(client.local_sessions().pages())
    assert [p.cursor for p in pages] == ["page_x", None] and [p.has_more for p in pages] == [True, False]
    assert [s.id for s in client.local_sessions(page="page_x")] == ["clls_3"]


def test_has_more_without_a_cursor_is_an_error_not_a_loop(make_client):
    client = make_client(lambda r: httpx.Response(200, json={"data": [{"id": "activity_1"}], "has_more": True,
                                                             "first_id": None, "last_id": None}))
    with pytest.raises(ResponseFormatError):
        list(client.activities())


def test_chat_transcript_pages_huge_chat(make_client):
    msgs = [{"id": f"claude_chat_msg_{i}", "role": "user", "created_at": "2026-08-20T14:27:41Z",
             "content": [{"type": "text", "text": f"m{i}"}]} for i in range(7)]
    seen = []

    def handler(request):
        q = request.url.params
        seen.append(q)
        start = int(q.get("after_id", "-1")) + 1
        limit = int(q["limit"]) if "limit" in q else len(msgs)
        rows = msgs[start:start + limit]
        last = start + len(rows) - 1
        return httpx.Response(200, json={"id": "claude_chat_1", "name": "n", "href": "h",
                                         "chat_messages": rows, "has_more": last < len(msgs) - 1,
                                         "first_id": str(start), "last_id": str(last)})

    client = make_client(handler)
    whole = client.chat_transcript("claude_chat_1")
    paged = client.chat_transcript("claude_chat_1", page_size=3)
    assert [m.id for m in whole.messages] == [m.id for m in paged.messages] == [m["id"] for m in msgs]
    assert paged.id == "claude_chat_1" and len(seen) == 1 + 3
    assert "limit" not in seen[0] and seen[0]["tool_result_max_chars"] == "-1"
    assert seen[0]["tool_use_input_max_chars"] == "-1"
