"""SPEC §9 behaviours: model C pages (no has_more, byte budget), cursors bound to session and
order that expire 24 h after the walk began, created_at moving forward as calls age out, byte
caps and their 400s, provenance, the local-session 404/503 cases, remote owners, 404 while
pending and the remote budget, code-artifact versions, uploads in flight, rotation, oversize
aborts and short pages."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from vigil.simulator import SimulatorServer, SyntheticOrg, build_app
from vigil.simulator.sessions import SERVER_MAX_BYTES, VERSIONS_KEPT

from tests.simulator.conftest import NOW, READ, Api, keys

LOCAL = "/v1/compliance/apps/sessions/local"
REMOTE = "/v1/compliance/apps/sessions/remote"
ARTIFACTS = "/v1/compliance/apps/code/artifacts"
DAY = 86400.0


class Clock:
    def __init__(self, t=NOW + 3600):
        self.t = t

    def __call__(self):
        return self.t


def walk(api, path, key="data", **params):
    """Every page of a model C walk; asserts the envelope never carries has_more."""
    pages, page = [], None
    while True:
        body = api.get(path, **params, **({"page": page} if page else {})).json()
        assert "has_more" not in body, body
        pages.append(body)
        page = body["next_page"]
        if page is None:
            return pages


def artifacts(api, **params):
    """Every code artifact (model B, continued until next_page is null)."""
    out, page = [], None
    while True:
        body = api.get(ARTIFACTS, limit=100, **params, **({"page": page} if page else {})).json()
        out += body["data"]
        page = body["next_page"]
        if not page:
            return out


@pytest.fixture
def clocked():
    """Factory: a small org served in-process on a fake clock (``Clock``)."""
    made = []

    def make(seed=5, **kw):
        clock = Clock()
        org = SyntheticOrg.generate(seed=seed, users=8, chats=10, days=10, now=NOW, projects=3,
                                    huge_file_bytes=1 << 20)
        api = Api(build_app(org, keys=keys(), rpm=1_000_000, clock=clock, **kw))
        made.append(api)
        return org, api, clock

    yield make
    for a in made:
        a.close()


def showcase(org, feature):
    return next(s for s in org.local_sessions if feature in s.features)


# --- local sessions: pages and cursors -----------------------------------------------------

def test_local_list_pages_newest_first_without_has_more(api, org):
    pages = walk(api, LOCAL, limit=2)
    items = [s for p in pages for s in p["data"]]
    assert len(pages) == -(-len(org.local_sessions) // 2) and all(len(p["data"]) <= 2 for p in pages)
    assert sorted(s["id"] for s in items) == sorted(s.id for s in org.local_sessions)
    keys_ = [(s["created_at"], s["id"]) for s in items]
    assert keys_ == sorted(keys_, reverse=True)


def test_pages_end_early_at_the_byte_budget(org, serve):
    api = serve(org, session_page_bytes=800)
    s = showcase(org, "long")
    whole = api.get(f"{LOCAL}/{s.id}/messages", limit=1000).json()
    assert whole["next_page"] is not None and len(whole["data"]) < 1000  # short before the end
    pages = walk(api, f"{LOCAL}/{s.id}/messages", limit=1000)
    ids = [m["id"] for p in pages for m in p["data"]]
    assert len(pages) > 2 and ids == [m["id"] for _, m, _ in org.sessions.local_messages(s)]
    desc = [m["id"] for p in walk(api, f"{LOCAL}/{s.id}/messages", limit=3, order="desc") for m in p["data"]]
    assert desc == ids[::-1]


def test_cursors_are_bound_to_session_order_and_filters(api, org):
    a, b = org.local_sessions[0], org.local_sessions[1]
    token = api.get(f"{LOCAL}/{a.id}/messages", limit=1).json()["next_page"]
    assert token.startswith("page_")
    msg = "The page parameter is not a valid cursor for this request."
    for path, params in ((f"{LOCAL}/{b.id}/messages", {"limit": 1, "page": token}),
                         (f"{LOCAL}/{a.id}/messages", {"limit": 1, "page": token, "order": "desc"}),
                         (LOCAL, {"page": token}),
                         (f"{LOCAL}/{a.id}/messages", {"page": "page_bm90LWpzb24"}),
                         (f"{LOCAL}/{a.id}/messages", {"page": "garbage"})):
        r = api.get(path, **params)
        assert r.status_code == 400 and r.json()["error"]["message"] == msg, (path, params)
    listed = api.get(LOCAL, limit=1, **{"created_at.gte": "2020-01-01T00:00:00Z"}).json()["next_page"]
    r = api.get(LOCAL, limit=1, page=listed)  # same walk without its filter
    assert r.status_code == 400
    assert api.get(f"{LOCAL}/{a.id}/messages", limit=1, page=token).status_code == 200


def test_cursors_expire_24_hours_after_the_walk_began(clocked):
    org, api, clock = clocked()
    s = org.local_sessions[0]
    first = api.get(f"{LOCAL}/{s.id}/messages", limit=1).json()
    listed = api.get(LOCAL, limit=1).json()
    clock.t += 20 * 3600
    second = api.get(f"{LOCAL}/{s.id}/messages", limit=1, page=first["next_page"]).json()
    clock.t += 4 * 3600 + 1  # 24 h after the walk began, though page 2 is only 4 h old
    for path, token in ((f"{LOCAL}/{s.id}/messages", second["next_page"]), (LOCAL, listed["next_page"])):
        r = api.get(path, limit=1, page=token)
        assert r.status_code == 400 and r.json()["error"]["message"] == (
            "The page cursor has expired. Restart the walk without a page parameter; results will reflect "
            "the current retention boundary.")
    assert api.get(f"{LOCAL}/{s.id}/messages", limit=1).status_code == 200  # a new walk works


def test_created_at_moves_forward_as_old_calls_age_out(clocked):
    org, api, clock = clocked()
    s = showcase(org, "long")  # two prompts 2-3 days apart
    first_prompt = [c.t for c in s.calls if c.prompt == 0]
    second_prompt = [c.t for c in s.calls if c.prompt == 1]
    before = api.get(f"{LOCAL}/{s.id}").json()
    n_before = len(api.get(f"{LOCAL}/{s.id}/messages", limit=1000).json()["data"])
    # 30 days of retention, and the clock moved on until the first prompt's calls are older than that
    org.update_settings({"data_retention_periods": {"all": {"type": "fixed", "timescale": "day", "duration": 30}}})
    clock.t = max(first_prompt) + 30 * DAY + 1
    assert clock.t < min(second_prompt) + 30 * DAY
    after = api.get(f"{LOCAL}/{s.id}").json()
    assert after["created_at"] > before["created_at"]
    msgs = api.get(f"{LOCAL}/{s.id}/messages", limit=1000).json()["data"]
    assert 0 < len(msgs) < n_before and all(m["provenance"] != {"type": "synthetic_marker"} for m in msgs)
    listed = {x["id"]: x for x in api.get(LOCAL, limit=500).json()["data"]}
    assert listed[s.id]["created_at"] == after["created_at"]
    victim = min((x for x in org.local_sessions if x is not s), key=lambda x: x.calls[-1].t)
    clock.t = max(clock.t, victim.calls[-1].t + 30 * DAY + 1)  # every call of this one aged out
    listed = {x["id"]: x for x in api.get(LOCAL, limit=500).json()["data"]}
    assert victim.id not in listed and len(listed) < len(org.local_sessions)
    assert api.get(f"{LOCAL}/{victim.id}").json()["error"]["message"] == "Local session not found."
    truth = {r.object_id for r in org.ground_truth({"local_session_message"})}
    assert truth and truth <= {m["id"] for x in listed for m in api.get(f"{LOCAL}/{x}/messages", limit=1000,
                                                                        tool_result_max_bytes=-1).json()["data"]}


def test_list_time_window(api, org):
    everything = [s["id"] for s in api.get(LOCAL, limit=500).json()["data"]]
    mid = api.get(f"{LOCAL}/{everything[len(everything) // 2]}").json()["created_at"]
    newer = [s["id"] for s in api.get(LOCAL, limit=500, **{"created_at.gte": mid}).json()["data"]]
    older = [s["id"] for s in api.get(LOCAL, limit=500, **{"created_at.lt": mid}).json()["data"]]
    assert newer + older == everything and newer and older
    r = api.get(LOCAL, **{"created_at.gte": mid, "created_at.lt": mid})
    assert r.status_code == 400 and r.json()["error"]["message"] == "created_at.lt must be strictly after created_at.gte."
    r = api.get(LOCAL, **{"created_at.gte": "2026-08-01"})
    assert r.status_code == 400 and "RFC 3339" in r.json()["error"]["message"]
    assert api.get(LOCAL, limit=501).status_code == 400


# --- byte caps, provenance, markers -----------------------------------------------------------

def test_tool_result_byte_caps(api, org):
    s = org.local_sessions[0]  # its CI-token log line lies past 12,000 bytes of log
    row = next(r for r in org.ground_truth({"local_session_message"}) if r.infotype == "GITHUB_TOKEN"
               and r.object_id in {m["id"] for _, m, _ in org.sessions.local_messages(s)})
    by_id = lambda **p: {m["id"]: m for m in api.get(f"{LOCAL}/{s.id}/messages", limit=1000, **p).json()["data"]}
    default = by_id()[row.object_id]["content"][0]
    assert default["truncated"] is True and row.value not in default["content"][0]["text"]
    text = default["content"][0]["text"]
    assert text.endswith("\u2026[truncated; pass tool_result_max_bytes=-1 for the server max]")
    assert len(text.split("\u2026[truncated")[0].encode()) <= 10_000
    full = by_id(tool_result_max_bytes=-1)[row.object_id]["content"][0]
    assert full["truncated"] is False and row.value in full["content"][0]["text"]
    assert by_id(tool_result_max_bytes=10 ** 9) == by_id(tool_result_max_bytes=-1)  # larger values are clamped
    small = by_id(tool_result_max_bytes=100)[row.object_id]["content"][0]["content"][0]["text"]
    assert len(small.split("\u2026")[0].encode()) <= 100
    for bad in ("0", "-2", "ten"):
        for name in ("tool_result_max_bytes", "tool_use_input_max_bytes"):
            r = api.get(f"{LOCAL}/{s.id}/messages", **{name: bad})
            assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", (name, bad)


def test_tool_use_input_byte_cap_and_the_server_maximum(api, org):
    s = showcase(org, "huge")
    msgs = api.get(f"{LOCAL}/{s.id}/messages", limit=1000, tool_result_max_bytes=-1,
                   tool_use_input_max_bytes=20).json()["data"]
    inputs = [b for m in msgs for b in m["content"] if b["type"] == "tool_use"]
    assert inputs and all(b["truncated"] and b["input"].endswith(
        "\u2026[truncated; pass tool_use_input_max_bytes=-1 for the server max]") for b in inputs)
    huge = [b for m in msgs for b in m["content"] if b["type"] == "tool_result" and b["truncated"]]
    assert len(huge) == 1  # over the server maximum even at -1
    text = huge[0]["content"][0]["text"]
    assert text.endswith("\u2026[truncated at the server maximum]")
    assert SERVER_MAX_BYTES - 4 <= len(text.split("\u2026[truncated")[0].encode()) <= SERVER_MAX_BYTES
    full = api.get(f"{LOCAL}/{s.id}/messages", limit=1000, tool_result_max_bytes=-1,
                   tool_use_input_max_bytes=-1).json()["data"]
    text = "".join(json.dumps(m, ensure_ascii=False) for m in full)
    plants = [r for r in org.ground_truth({"local_session_message"}) if r.object_id in {m["id"] for m in msgs}]
    assert plants and all(json.dumps(r.value, ensure_ascii=False)[1:-1] in text for r in plants)


def test_provenance_reasons_and_markers(api, org):
    seen_reasons, verified, asserted, image = set(), 0, 0, 0
    for s in org.local_sessions:
        for m in api.get(f"{LOCAL}/{s.id}/messages", limit=1000).json()["data"]:
            p = m["provenance"]
            if p is None:
                verified += 1
            elif p["type"] == "content_unavailable":
                seen_reasons.add(p["reason"])
                assert m["content"] == []
            elif p["type"] == "client_asserted":
                asserted += 1
            image += any(b.get("text") == "[image content not shown]" for b in m["content"])
    assert seen_reasons == {"not_captured", "cmek_key_revoked", "retention_elapsed", "oversize"}
    assert verified and asserted and image == 1


def test_ids_are_validated(api):
    for path in (f"{LOCAL}/not-a-session", f"{LOCAL}/cse_01abc/messages", f"{REMOTE}/clls_01abc/messages"):
        r = api.get(path)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", path


def test_local_sessions_unavailable_and_the_503s(fresh, K):
    org, api = fresh()
    s = org.local_sessions[0]
    api.http.post("/_admin/local_sessions/switches", json={"available": False})
    for path in (LOCAL, f"{LOCAL}/{s.id}", f"{LOCAL}/{s.id}/messages"):
        assert api.get(path).json()["error"]["message"] == "Local sessions are not available."
    assert api.get(REMOTE).status_code == 200 and api.get(ARTIFACTS).status_code == 200
    api.http.post("/_admin/local_sessions/switches", json={"available": True})
    api.http.post(f"/_admin/local_sessions/{s.id}/retention_error", json={"failing": True})
    r = api.get(f"{LOCAL}/{s.id}/messages")
    assert r.status_code == 503 and r.json()["error"] == {
        "type": "overloaded_error", "details": {"error_visibility": "user_facing"},
        "message": "The local-sessions index cannot currently evaluate retention overrides for this session. "
                   "Try again later."}
    assert api.get(f"{LOCAL}/{org.local_sessions[1].id}/messages").status_code == 200
    api.http.post("/_admin/local_sessions/switches", json={"list_retention_error": True})
    assert "for this page" in api.get(LOCAL).json()["error"]["message"]
    api.http.post("/_admin/local_sessions/switches", json={"list_retention_error": False})
    api.http.post("/_admin/faults", json={"p_local_503": 1.0})
    assert api.get(LOCAL).json()["error"]["message"] == "The local-sessions index is temporarily unavailable. Try again shortly."
    assert api.get(f"{LOCAL}/{org.local_sessions[1].id}/messages").json()["error"]["message"] == \
        "Captured content is temporarily unavailable. Try again shortly."
    assert api.get(REMOTE).status_code == 200 and api.get("/v1/compliance/apps/chats").status_code == 200


# --- remote sessions ------------------------------------------------------------------------

def test_remote_filters_owners_and_pending(api, org):
    everything = api.get(REMOTE, limit=500).json()["data"]
    agent = next(s for s in everything if s["agent_id"])
    assert agent["agent_id"].startswith("cagt_") and agent["started_by_user"]["id"].startswith("user_")
    starter = agent["started_by_user"]["id"]
    mine = api.get(REMOTE, **{"user_ids[]": starter}).json()["data"]
    assert all(s["agent_id"] is None and s["user"]["id"] == starter for s in mine)  # agent sessions left out
    users = [s["user"]["id"] for s in everything if s["user"]][:2]
    both = api.get(REMOTE, **{"user_ids[]": users}).json()["data"]
    assert {s["user"]["id"] for s in both} == set(users)
    assert api.get(REMOTE, **{"organization_ids[]": org.console_org.uuid}).json()["data"] == []
    assert len(api.get(REMOTE, **{"organization_ids[]": org.claude_org.tagged_id}).json()["data"]) == len(everything)
    assert api.get(REMOTE, **{"user_ids[]": [f"user_{i}" for i in range(11)]}).status_code == 400
    body = api.get(f"{REMOTE}/{agent['id']}/messages").json()
    sent = [m["sent_by_user_id"] for m in body["data"] if m["role"] == "user" and m["content"][0]["type"] == "text"]
    assert sent and set(sent) == {starter}
    pending = next(s for s in everything if s["status"] == "pending")
    assert api.get(f"{REMOTE}/{pending['id']}/messages").json()["error"]["message"] == "Remote session not found."
    failed = next(s for s in everything if s["status"] == "failed")
    msgs = api.get(f"{REMOTE}/{failed['id']}/messages").json()["data"]
    assert any(m["content_unavailable"] and m["content"] == [] for m in msgs)


def test_pending_session_gets_its_transcript_when_it_starts(fresh):
    org, api = fresh()
    seeded = next(s for s in org.remote_sessions if s.status == "pending")
    api.http.post(f"/_admin/remote_sessions/{seeded.id}/status", json={"status": "archived"})
    assert api.get(f"{REMOTE}/{seeded.id}/messages").json()["data"]
    sid = api.http.post("/_admin/remote_sessions", json={"status": "pending", "messages": [
        {"text": "Wire the deposit to DE89 3704 0044 0532 0130 00 today.",
         "plants": [{"infotype": "IBAN_CODE", "value": "DE89 3704 0044 0532 0130 00"}]}]}).json()["session_ids"][0]
    pending = org.remote_session(sid)
    assert api.get(f"{REMOTE}/{sid}/messages").status_code == 404
    before = {r.object_id for r in org.ground_truth({"remote_session_message"})}
    assert not {m["id"] for _, m, _ in org.sessions.remote_messages(pending)} & before
    api.http.post(f"/_admin/remote_sessions/{pending.id}/status", json={"status": "active"})
    body = api.get(f"{REMOTE}/{pending.id}/messages").json()
    assert body["data"] and body["session"]["status"] == "active"
    assert body["data"][-1]["created_at"] <= body["session"]["updated_at"]
    new = {r.object_id for r in org.ground_truth({"remote_session_message"})} - before
    assert new and new <= {m["id"] for m in body["data"]}  # its plants join the ground truth once readable


def test_remote_endpoints_have_their_own_budget(org):
    clock = Clock()
    api = Api(build_app(org, keys=keys(), rpm=1000, remote_rpm=3, clock=clock))
    try:
        codes = [api.get(REMOTE).status_code for _ in range(3)]
        r = api.get(REMOTE)
        assert codes == [200, 200, 200] and r.status_code == 429
        assert r.headers["retry-after"] == "1" and r.json()["error"]["type"] == "rate_limit_error"
        assert int(r.headers["anthropic-ratelimit-requests-remaining"]) == 1000 - 4  # the shared budget's headers
        assert r.headers["anthropic-ratelimit-requests-limit"] == "1000"
        assert api.get(LOCAL).status_code == 200  # local sessions use the shared budget only
        clock.t += 60
        assert api.get(REMOTE).status_code == 200
    finally:
        api.close()


# --- code artifacts -------------------------------------------------------------------------

def test_versions_are_the_20_most_recent_and_rotated_ones_404(fresh):
    org, api = fresh()
    a = next(x for x in org.code_artifacts if len(x.versions) > VERSIONS_KEPT)
    listed = next(x for x in artifacts(api) if x["id"] == a.id)
    assert [v["id"] for v in listed["versions"]] == [v.id for v in reversed(a.versions[-VERSIONS_KEPT:])]
    rotated = a.versions[0].id
    r = api.get(f"{ARTIFACTS}/{a.id}/versions/{rotated}")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Code artifact version not found."
    oldest_listed = listed["versions"][-1]["id"]
    assert api.get(f"{ARTIFACTS}/{a.id}/versions/{oldest_listed}").status_code == 200
    new = api.http.post(f"/_admin/code_artifacts/{a.id}/versions", json={"read_mode": "public"}).json()
    assert new["read_mode"] == "public"
    assert api.get(f"{ARTIFACTS}/{a.id}/versions/{oldest_listed}").status_code == 404  # rotated out now
    again = next(x for x in artifacts(api) if x["id"] == a.id)
    assert again["read_mode"] == "public" and again["published_version_id"] == new["version_id"]
    assert again["versions"][0]["id"] == new["version_id"] and len(again["versions"]) == VERSIONS_KEPT


def test_content_headers_and_md5_only_for_identity_storage(api, org):
    seen = set()
    for a in org.code_artifacts:
        for v in a.retained()[-2:]:
            if v.oversize:
                continue
            r = api.get(f"{ARTIFACTS}/{a.id}/versions/{v.id}")
            assert r.status_code == 200 and "content-length" not in r.headers
            assert r.headers["content-disposition"] == f"attachment; filename*=utf-8''{a.id}-{v.id}.txt"
            assert r.headers["cache-control"] == "no-store, private"
            assert r.headers["content-type"].split(";")[0] in ("text/html", "text/markdown")
            if v.encoding == "identity":
                assert base64.b64decode(r.headers["content-md5"]) == hashlib.md5(r.content).digest()
            else:
                assert "content-md5" not in r.headers
            seen.add(v.encoding)
    assert seen == {"identity", "gzip"}


def test_upload_in_flight_is_503_until_done(clocked):
    org, api, clock = clocked()
    a = org.code_artifacts[0]
    before = next(x for x in artifacts(api) if x["id"] == a.id)
    vid = api.http.post(f"/_admin/code_artifacts/{a.id}/versions", json={"upload_seconds": 30}).json()["version_id"]
    r = api.get(f"{ARTIFACTS}/{a.id}/versions/{vid}")
    assert r.status_code == 503 and r.json()["error"]["type"] == "overloaded_error"
    listed = next(x for x in artifacts(api) if x["id"] == a.id)
    assert listed["versions"][0]["id"] == vid and listed["published_version_id"] == before["published_version_id"]
    assert vid not in {r.version for r in org.ground_truth({"code_artifact_version"})}
    clock.t += 31
    assert api.get(f"{ARTIFACTS}/{a.id}/versions/{vid}").status_code == 200
    assert vid in {r.version for r in org.ground_truth({"code_artifact_version"})}
    gone = api.http.post(f"/_admin/code_artifacts/{a.id}/versions", json={"abandoned": True}).json()["version_id"]
    clock.t += 10 * DAY
    assert api.get(f"{ARTIFACTS}/{a.id}/versions/{gone}").status_code == 503


@pytest.mark.parametrize("transport", ["socket", "in-process"])
def test_oversized_encoded_content_aborts_mid_stream(org, transport):
    a = next(x for x in org.code_artifacts if any(v.oversize for v in x.versions))
    v = next(v for v in a.versions if v.oversize)
    app = build_app(org, keys=keys(), rpm=1_000_000, code_artifact_max_bytes=300_000)
    path = f"{ARTIFACTS}/{a.id}/versions/{v.id}"
    got = bytearray()

    def read(http):
        with http.stream("GET", path, headers={"x-api-key": READ}) as r:
            assert r.status_code == 200 and "content-md5" not in r.headers
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in r.iter_bytes():
                    got.extend(chunk)

    if transport == "socket":
        with SimulatorServer(app) as url, httpx.Client(base_url=url) as http:
            read(http)
    else:
        api = Api(app)
        try:
            read(api.http)
        finally:
            api.close()
    assert 0 < len(got) <= 300_000 and got.startswith(b"<!doctype html>")
    assert not [r for r in org.ground_truth({"code_artifact_version"}) if r.version == v.id]


def test_artifact_pages_may_be_short_or_empty_while_next_page_is_set(api, org):
    page, pages = None, []
    while True:
        body = api.get(ARTIFACTS, limit=2, **({"page": page} if page else {})).json()
        pages.append(body)
        assert body["has_more"] == (body["next_page"] is not None)
        page = body["next_page"]
        if page is None:
            break
    ids = [a["id"] for p in pages for a in p["data"]]
    assert sorted(ids) == sorted(a.id for a in org.code_artifacts if not a.deleted) and len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # by artifact id, not time
    early = [p for p in pages[:-1] if len(p["data"]) < 2]
    assert early or not pages[-1]["data"], "some page before the end is short, or the last one is empty"
    assert any(not p["data"] for p in pages)  # the console organization's batch is empty


def test_artifact_filters(api, org):
    legacy = next(a for a in org.code_artifacts if not a.indexed)
    everything = {a["id"] for a in artifacts(api)}
    since = {a["id"] for a in artifacts(api, **{"updated_at.gte": "2000-01-01T00:00:00Z"})}
    assert legacy.id in everything and legacy.id not in since and since == everything - {legacy.id}
    owner = next(a for a in org.code_artifacts if a.owner is not None)
    mine = artifacts(api, **{"user_ids[]": org.users[owner.owner].id})
    assert mine and all(a["owner_user_id"] == org.users[owner.owner].id for a in mine)
    assert api.get(ARTIFACTS, **{"user_ids[]": [f"user_{i}" for i in range(201)]}).status_code == 400
    assert api.get(ARTIFACTS, limit=101).status_code == 400
