"""The simulator's responses have the shapes of SPEC and examples/*.json: same keys, same types
(null allowed where either side shows null), per object kind and per union member."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path("/work/shared/compliance-api/examples")
if not EXAMPLES.is_dir():  # the repo copy, when present, wins
    EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "compliance-api" / "examples"


def example(name):
    return json.loads((EXAMPLES / name).read_text())


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    return "dict"


def assert_same_shape(ours, theirs, where="$", exact_keys=True):
    """Recursively compare keys and JSON types; null matches anything on either side."""
    if ours is None or theirs is None:
        return
    assert kind(ours) == kind(theirs), f"{where}: {kind(ours)} != {kind(theirs)}"
    if isinstance(theirs, dict):
        missing = set(theirs) - set(ours)
        assert not missing, f"{where}: missing keys {sorted(missing)}"
        if exact_keys:
            extra = set(ours) - set(theirs)
            assert not extra, f"{where}: extra keys {sorted(extra)}"
        for k in theirs:
            assert_same_shape(ours[k], theirs[k], f"{where}.{k}", exact_keys)
    elif isinstance(theirs, list) and theirs and ours:
        for i, item in enumerate(ours[:20]):
            assert_same_shape(item, theirs[0], f"{where}[{i}]", exact_keys)


def envelope(ours, theirs):
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    for k in theirs:
        if k != "data":
            assert kind(ours[k]) in (kind(theirs[k]), "null") or theirs[k] is None, k


def test_activities(api, org):
    ex = example("activities_list.json")
    api.get("/v1/compliance/organizations")  # ensure a compliance_api_accessed record exists
    ours = api.get("/v1/compliance/activities", limit=5000).json()
    envelope(ours, ex)
    by_type = {}
    while True:
        for a in ours["data"]:
            by_type.setdefault(a["type"], a)
        if not ours["has_more"]:
            break
        ours = api.get("/v1/compliance/activities", limit=5000, after_id=ours["last_id"]).json()
    for theirs in ex["data"]:
        assert theirs["type"] in by_type, f"no {theirs['type']} activity generated"
        assert_same_shape(by_type[theirs["type"]], theirs, theirs["type"])
    assert {"claude_chat_updated", "claude_artifact_created", "claude_project_created", "sso_login_succeeded"} <= set(by_type)


def test_empty_activity_page_shape(api):
    ours = api.get("/v1/compliance/activities", **{"created_at.lt": "2001-01-01T00:00:00Z"}).json()
    assert ours == example("activities_list_empty.json")


def test_chats_and_messages(api, org):
    ex = example("chats_list.json")
    ours = api.get("/v1/compliance/apps/chats", limit=1000).json()
    envelope(ours, ex)
    for c in ours["data"]:
        assert_same_shape(c, ex["data"][1])
    assert any(c["deleted_at"] for c in ours["data"]), "soft-deleted chats are listed"
    assert any(c["project_id"] for c in ours["data"])

    exm = example("chat_messages.json")
    seen_blocks, with_files, with_gen, with_art = {}, None, None, None
    null_or_absent = set()
    for c in ours["data"]:
        body = api.get(f"/v1/compliance/apps/chats/{c['id']}/messages").json()
        assert set(body) == set(exm), sorted(set(body) ^ set(exm))
        for m in body["chat_messages"]:
            for b in m["content"]:
                seen_blocks.setdefault(b["type"], b)
            if m.get("files"):
                with_files = m
            if m.get("generated_files"):
                with_gen = m
            if m.get("artifacts"):
                with_art = m
            for k in ("files", "generated_files", "artifacts"):
                null_or_absent.add("absent" if k not in m else "null" if m[k] is None else "list")
        if with_files and with_gen and with_art and len(seen_blocks) == 3 and len(null_or_absent) == 3:
            break
    assert null_or_absent == {"absent", "null", "list"}
    assert_same_shape({k: with_files[k] for k in ("id", "role", "created_at", "files")},
                      {k: exm["chat_messages"][0][k] for k in ("id", "role", "created_at", "files")})
    assert_same_shape(with_gen["generated_files"], exm["chat_messages"][1]["generated_files"])
    assert_same_shape(with_art["artifacts"], exm["chat_messages"][1]["artifacts"])
    ex_blocks = {b["type"]: b for m in exm["chat_messages"] for b in m["content"]}
    assert set(seen_blocks) == set(ex_blocks) == {"text", "tool_use", "tool_result"}
    for t in ex_blocks:
        assert_same_shape(seen_blocks[t], ex_blocks[t], t)
    assert isinstance(seen_blocks["tool_use"]["input"], str)
    json.loads(seen_blocks["tool_use"]["input"])


def _first(org, pred):
    return next(x for x in org.files.values() if pred(x))


def test_file_generated_artifact_metadata(api, org):
    f = _first(org, lambda f: f.kind == "chat" and f.variant == "plain")
    assert_same_shape(api.get(f"/v1/compliance/apps/chats/files/{f.id}").json(), example("file_metadata.json"))
    g = _first(org, lambda f: f.kind == "generated")
    assert_same_shape(api.get(f"/v1/compliance/apps/chats/generated-files/{g.id}").json(),
                      example("generated_file_metadata.json"))
    a = next(iter(org.artifacts.values()))
    assert_same_shape(api.get(f"/v1/compliance/apps/artifacts/{a.version_id}").json(), example("artifact_metadata.json"))


def test_file_content_headers(api, org):
    ex = example("file_content_response.json")["headers"]
    f = _first(org, lambda f: f.kind == "chat" and f.variant == "plain" and f.fmt == "csv")
    r = api.get(f"/v1/compliance/apps/chats/files/{f.id}/content")
    assert r.status_code == 200
    assert set(ex) <= set(r.headers)
    assert r.headers["content-type"] == "text/csv"
    assert r.headers["content-disposition"] == f"attachment; filename*=utf-8''{f.filename}"
    assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers


@pytest.mark.parametrize("path_fn,example_name,exact", [
    (lambda org: "/v1/compliance/organizations", "organizations_list.json", True),
    (lambda org: f"/v1/compliance/organizations/{org.claude_org.uuid}/users", "organization_users.json", True),
    (lambda org: "/v1/compliance/groups", "groups_list.json", True),
    (lambda org: f"/v1/compliance/groups/{org.groups[0].id}/members", "group_members.json", True),
    (lambda org: f"/v1/compliance/organizations/{org.claude_org.uuid}/roles", "roles_list.json", True),
    (lambda org: "/v1/compliance/apps/projects", "projects_list.json", True),
])
def test_model_b_lists(api, org, path_fn, example_name, exact):
    ex = example(example_name)
    ours = api.get(path_fn(org)).json()
    envelope(ours, ex)
    assert ours["data"], example_name
    for item in ours["data"]:
        assert_same_shape(item, ex["data"][0], example_name, exact)


def test_projects_family(api, org):
    p = next(p for p in org.projects if p.doc_ids and p.file_ids)
    assert_same_shape(api.get(f"/v1/compliance/apps/projects/{p.id}").json(), example("project_details.json"))
    ex = example("project_attachments.json")
    ours = api.get(f"/v1/compliance/apps/projects/{p.id}/attachments").json()
    envelope(ours, ex)
    ex_by = {a["type"]: a for a in ex["data"]}
    assert {a["type"] for a in ours["data"]} == set(ex_by)
    for a in ours["data"]:
        assert_same_shape(a, ex_by[a["type"]], a["type"])
    ex = example("project_collaborators.json")
    ex_by = {c["type"]: c for c in ex["data"]}
    kinds = set()
    for proj in org.projects:
        for c in api.get(f"/v1/compliance/apps/projects/{proj.id}/collaborators").json()["data"]:
            assert_same_shape(c, ex_by[c["type"]], c["type"])
            kinds.add(c["type"])
    assert kinds == set(ex_by)
    d = p.doc_ids[0]
    assert_same_shape(api.get(f"/v1/compliance/apps/projects/documents/{d}").json(),
                      example("project_document_content.json"))
    assert_same_shape(api.get(f"/v1/compliance/apps/projects/documents/{d}/metadata").json(),
                      example("project_document_metadata.json"))


def test_timestamp_styles(api, org):
    assert api.get("/v1/compliance/organizations").json()["data"][0]["created_at"].endswith("+00:00")
    g = api.get("/v1/compliance/groups").json()["data"][0]
    assert g["created_at"][-1].isdigit() and "+" not in g["created_at"]
    a = api.get("/v1/compliance/activities", limit=1).json()["data"][0]
    assert len(a["created_at"]) == len("2026-05-22T15:25:13.701734Z") and a["created_at"].endswith("Z")


def test_error_bodies_match_examples(api, org, K):
    cases = [
        (api.get("/v1/compliance/apps/chats", limit=1500), "error_400_invalid_limit.json"),
        (api.get("/v1/compliance/apps/chats", key=K.ACTIVITIES_ONLY), "error_403_missing_scope.json"),
        (api.get("/v1/compliance/apps/chats/claude_chat_01HZZgqTuJeQftnpJrmvno6p/messages"), "error_404_chat.json"),
    ]
    for resp, name in cases:
        ex = example(name)
        body = resp.json()
        assert body["error"]["message"] == ex["error"]["message"], name
        assert body["error"]["type"] == ex["error"]["type"]
        assert body["type"] == "error" and body["request_id"] == resp.headers["request-id"]
        assert body["request_id"].startswith("req_")


def test_deletes_match_examples(fresh, K):
    org, api = fresh()
    chat = next(c for c in org.chats if c.project is None)
    body = api.request("DELETE", f"/v1/compliance/apps/chats/{chat.id}", key=K.FULL).json()
    assert body == {"id": chat.id, "type": example("delete_chat.json")["type"]}
    f = next(f for f in org.files.values() if f.kind == "chat" and org.file(f.id))
    assert api.request("DELETE", f"/v1/compliance/apps/chats/files/{f.id}", key=K.FULL).json() == \
        {"id": f.id, "type": example("delete_file.json")["type"]}
    d = next(iter(org.docs))
    assert api.request("DELETE", f"/v1/compliance/apps/projects/documents/{d}", key=K.FULL).json() == \
        {"id": d, "type": example("delete_project_document.json")["type"]}


def test_settings_and_role_permissions(api, org):
    ex = example("organization_settings.json")
    ours = api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/settings").json()
    assert set(ours) == set(ex) and ours["organization_id"] == org.claude_org.uuid
    for row in ours["settings"]:
        assert set(row) == {"name", "type", "value"}
    assert {r["type"] for r in ex["settings"]} <= {r["type"] for r in ours["settings"]}
    for k in ours["api_keys"]:
        assert_same_shape(k, ex["api_keys"][0])
    assert all("sk-ant" not in json.dumps(k) for k in ours["api_keys"]), "never the secret"
    ex = example("role_permissions.json")
    role = org.roles[0].id
    ours = api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/roles/{role}/permissions").json()
    envelope(ours, ex)
    assert_same_shape(ours["data"][0], ex["data"][0])
    assert_same_shape(api.get(f"/v1/compliance/organizations/{org.claude_org.uuid}/roles/{role}").json(),
                      example("roles_list.json")["data"][0])
    assert_same_shape(api.get(f"/v1/compliance/groups/{org.groups[0].id}").json(), example("groups_list.json")["data"][0])
