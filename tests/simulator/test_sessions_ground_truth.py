"""The ground truth of sessions and code artifacts names values really served at their locators;
adding sessions leaves every seed's chats and projects as they were; the same seed gives the
same sessions."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from vigil.simulator import SESSION_KINDS, SyntheticOrg, build_app
from vigil.synth.values import CREDENTIAL_INFOTYPES

from tests.simulator.conftest import Api, keys

LOCAL = "/v1/compliance/apps/sessions/local"
REMOTE = "/v1/compliance/apps/sessions/remote"
ARTIFACTS = "/v1/compliance/apps/code/artifacts"
NOW = 1787000000.0


@pytest.fixture(scope="module")
def org():
    return SyntheticOrg.generate(seed=17, users=12, chats=20, days=20, now=NOW, projects=4,
                                 huge_file_bytes=1 << 20, local_sessions=12, remote_sessions=8, code_artifacts=8)


@pytest.fixture(scope="module")
def api(org, serve):
    return serve(org)


@pytest.fixture(scope="module")
def rows(org):
    return list(org.ground_truth("sessions"))


def block_text(msg, locator):
    kind, _, pos = locator.partition(":")
    if kind == "text":
        return msg["content"][int(pos)]["text"]
    if kind == "tool_use":
        return msg["content"][int(pos)]["input"]
    i, j = pos.split("/")
    return msg["content"][int(i)]["content"][int(j)]["text"]


def test_every_kind_surface_and_locator_is_planted(org, rows):
    assert {r.object_kind for r in rows} == SESSION_KINDS
    local = [r for r in rows if r.object_kind == "local_session_message"]
    assert {r.locator.split(":")[0] for r in local} == {"text", "tool_use", "tool_result"}
    owner = {m["id"]: s for s in org.local_sessions for _, m, _ in org.sessions.local_messages(s)}
    assert {owner[r.object_id].template for r in local} == {"claude_code", "cowork"}
    role = {m["id"]: m["role"] for s in org.local_sessions for _, m, _ in org.sessions.local_messages(s)}
    role.update({m["id"]: m["role"] for s in org.remote_sessions for _, m, _ in org.sessions.remote_messages(s)})
    where = {(r.object_kind, role[r.object_id], r.locator.split(":")[0]) for r in rows if r.object_id in role}
    for kind in ("local_session_message", "remote_session_message"):
        # user prompts, assistant text, tool inputs (assistant) and tool results (user turns)
        assert {(kind, "user", "text"), (kind, "assistant", "text"), (kind, "assistant", "tool_use"),
                (kind, "user", "tool_result")} <= where, kind
    assert {r.infotype for r in rows} & CREDENTIAL_INFOTYPES and "EMAIL_ADDRESS" in {r.infotype for r in rows}
    public = {a.id for a in org.code_artifacts if a.read_mode == "public"}
    secrets_in_public = [r for r in rows if r.object_id in public and r.infotype in CREDENTIAL_INFOTYPES]
    assert secrets_in_public, "a public hosted site leaks a key"
    assert all(r.version for r in rows if r.object_kind == "code_artifact_version")
    assert all(r.version is None for r in rows if r.object_kind != "code_artifact_version")


def test_message_values_are_at_their_locators(api, org, rows):
    served = {}
    for s in org.local_sessions:
        for m in api.get(f"{LOCAL}/{s.id}/messages", limit=1000, tool_result_max_bytes=-1,
                         tool_use_input_max_bytes=-1).json()["data"]:
            served[m["id"]] = m
    for s in org.remote_sessions:
        if s.status != "pending":
            for m in api.get(f"{REMOTE}/{s.id}/messages", limit=1000, tool_result_max_bytes=-1,
                             tool_use_input_max_bytes=-1).json()["data"]:
                served[m["id"]] = m
    checked = Counter()
    for r in rows:
        if r.object_kind == "code_artifact_version":
            continue
        assert r.value in block_text(served[r.object_id], r.locator), r
        checked[r.object_kind] += 1
    assert checked["local_session_message"] > 20 and checked["remote_session_message"] > 5


def test_site_values_are_at_their_lines(api, org, rows):
    bodies = {}
    for r in (r for r in rows if r.object_kind == "code_artifact_version"):
        if (r.object_id, r.version) not in bodies:
            resp = api.get(f"{ARTIFACTS}/{r.object_id}/versions/{r.version}")
            assert resp.status_code == 200
            bodies[r.object_id, r.version] = resp.text.split("\n")
        line = bodies[r.object_id, r.version][int(r.locator[5:]) - 1]
        assert r.value.split("\n")[0] in line, r
    listed = {(a["id"], v["id"]) for a in all_artifacts(api) for v in a["versions"]}
    assert set(bodies) <= listed


def all_artifacts(api):
    out, page = [], None
    while True:
        body = api.get(ARTIFACTS, limit=100, **({"page": page} if page else {})).json()
        out += body["data"]
        page = body["next_page"]
        if not page:
            return out


def test_what_cannot_be_read_is_not_listed(org, rows):
    ids = {r.object_id for r in rows}
    for s in org.local_sessions:
        for _, m, plants in org.sessions.local_messages(s):
            if m["provenance"] and m["provenance"]["type"] == "content_unavailable":
                assert not plants and m["id"] not in ids
    versions = {(r.object_id, r.version) for r in rows if r.version}
    for a in org.code_artifacts:
        for v in a.versions:
            if v.oversize or v not in a.retained():
                assert (a.id, v.id) not in versions


def test_same_seed_same_sessions_whatever_now():
    a = SyntheticOrg.generate(seed=8, users=6, chats=3, days=10, now=NOW)
    b = SyntheticOrg.generate(seed=8, users=6, chats=3, days=10, now=NOW + 12345)
    c = SyntheticOrg.generate(seed=9, users=6, chats=3, days=10, now=NOW)
    key = lambda o: [(r.object_kind, r.object_id, r.version, r.locator, r.value) for r in o.ground_truth("sessions")]
    assert key(a) == key(b) and key(a) != key(c)
    msgs = lambda o: [m for s in o.local_sessions for _, m, _ in o.sessions.local_messages(s)]
    strip = lambda ms: [{k: v for k, v in m.items() if k != "created_at"} for m in ms]
    assert strip(msgs(a)) == strip(msgs(b))


def chats_and_projects_digest(org) -> str:
    """What the chat and project endpoints serve plus their ground truth (files with random
    bytes by design, i.e. encrypted, corrupt and 7z, without md5/size)."""
    api = Api(build_app(org, keys=keys(), rpm=10 ** 9))
    h = hashlib.sha256()
    try:
        body = api.get("/v1/compliance/apps/chats", limit=1000).json()
        h.update(json.dumps(body["data"], sort_keys=True).encode())
        for ch in body["data"]:
            m = api.get(f"/v1/compliance/apps/chats/{ch['id']}/messages", tool_result_max_chars=-1,
                        tool_use_input_max_chars=-1).json()
            for msg in m["chat_messages"]:
                for e in (msg.get("files") or []) + (msg.get("generated_files") or []):
                    f = org.files[e["id"]]
                    if f.variant in ("encrypted", "corrupt") or f.fmt == "7z":
                        e.pop("md5", None), e.pop("size_bytes", None)
            h.update(json.dumps(m, sort_keys=True).encode())
        for p in api.get("/v1/compliance/apps/projects", limit=100).json()["data"]:
            for path in (f"/v1/compliance/apps/projects/{p['id']}",):
                h.update(json.dumps(api.get(path).json(), sort_keys=True).encode())
            for sub in ("attachments", "collaborators"):
                page = api.get(f"/v1/compliance/apps/projects/{p['id']}/{sub}", limit=100).json()["data"]
                h.update(json.dumps(page, sort_keys=True).encode())
    finally:
        api.close()
    truth = [{k: v for k, v in r.as_dict().items() if k != "version"} for r in org.ground_truth("chats")]
    h.update(json.dumps(truth, sort_keys=True).encode())
    return h.hexdigest()


# Computed on the commit before sessions existed (4addad2) with this same function.
BEFORE_SESSIONS = {(11, 8, 40, 14): "d5edb23afb0c753d5a96c28da8ae7c8de407fe5e17a6a9374eee7cef962de612"}


@pytest.mark.parametrize("seed,users,chats,days", list(BEFORE_SESSIONS))
def test_sessions_leave_each_seeds_chats_and_projects_unchanged(seed, users, chats, days):
    kw = dict(seed=seed, users=users, chats=chats, days=days, now=NOW, huge_file_bytes=1 << 20)
    with_sessions = SyntheticOrg.generate(**kw, local_sessions=9, remote_sessions=5, code_artifacts=7)
    without = SyntheticOrg.generate(**kw, local_sessions=0, remote_sessions=0, code_artifacts=0)
    assert [(a.id, a.t, a.type) for a in with_sessions.activities.all()] == \
        [(a.id, a.t, a.type) for a in without.activities.all()]
    digest = chats_and_projects_digest(with_sessions)
    assert digest == chats_and_projects_digest(without) == BEFORE_SESSIONS[seed, users, chats, days]
    assert not list(without.ground_truth("sessions"))


def test_live_session_and_artifact_plants_join_the_ground_truth(fresh):
    org, api = fresh()
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    sid = api.http.post("/_admin/local_sessions", json={"surface": "claude_code", "messages": [
        {"role": "user", "text": "deploy it"},
        {"role": "assistant", "tool_use": {"name": "Bash", "input": {"command": f"STRIPE_KEY={key} ./deploy.sh"}},
         "plants": [{"infotype": "STRIPE_API_KEY", "value": key}]}]}).json()["session_ids"][0]
    mid = api.http.post(f"/_admin/local_sessions/{sid}/messages", json={"messages": [
        {"role": "user", "tool_result": {"name": "Bash", "text": "ops contact: jane.roe@example.com"},
         "plants": [{"infotype": "EMAIL_ADDRESS", "value": "jane.roe@example.com"}]}]}).json()["message_ids"][0]
    rid = api.http.post("/_admin/remote_sessions", json={"messages": [
        {"text": "call me on +1 415 555 0134", "plants": [{"infotype": "PHONE_NUMBER", "value": "+1 415 555 0134"}]}
    ]}).json()["session_ids"][0]
    site = api.http.post("/_admin/code_artifacts", json={
        "read_mode": "public", "content": "<html>\n<script>\nconst K = \"" + key + "\";\n</script>\n</html>\n",
        "plants": [{"infotype": "STRIPE_API_KEY", "value": key}]}).json()
    truth = {(r.object_kind, r.locator, r.infotype, r.version) for r in org.ground_truth("sessions")
             if r.value in (key, "jane.roe@example.com", "+1 415 555 0134")}
    assert ("local_session_message", "tool_use:0", "STRIPE_API_KEY", None) in truth
    assert ("local_session_message", "tool_result:0/0", "EMAIL_ADDRESS", None) in truth
    assert ("remote_session_message", "text:0", "PHONE_NUMBER", None) in truth
    assert ("code_artifact_version", "line:3", "STRIPE_API_KEY", site["version_id"]) in truth
    msgs = api.get(f"{LOCAL}/{sid}/messages").json()["data"]
    assert msgs[-1]["id"] == mid and msgs[0]["created_at"] <= msgs[-1]["created_at"]
    assert api.get(f"{REMOTE}/{rid}/messages").json()["data"][0]["content"][0]["text"].startswith("call me")
    bad = api.http.post(f"/_admin/local_sessions/{sid}/messages", json={"messages": [
        {"text": "hello", "plants": [{"infotype": "EMAIL_ADDRESS", "value": "missing@example.com"}]}]})
    assert bad.status_code == 400
    assert api.http.post("/_admin/local_sessions/clls_01nope/messages", json={"messages": [{"text": "x"}]}).status_code == 404
