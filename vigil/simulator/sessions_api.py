"""HTTP handlers of SPEC §9: local sessions (Cowork in Claude Desktop, Claude Code), remote
sessions (cloud Cowork) and Claude Code hosted artifacts. Registered by ``build_app``.

Pagination model C for sessions (``data`` + ``next_page``, no ``has_more``; pages end early when
a page's bytes reach ``session_page_bytes``): tokens are ``page_`` + base64 JSON bound to the
endpoint, the session, the order and the filters; local-session tokens carry the time the walk
began and expire 24 hours later. Code artifacts use model B with pages that never cross an
organization batch, so pages may be short or empty while ``next_page`` is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from vigil.simulator.app import (ApiError, Query, SimulatedDisconnect, bad_request, in_range, json_response,
                                 not_found)
from vigil.simulator.ids import ts_z
from vigil.simulator.sessions import SERVER_MAX_BYTES, CodeArtifact, LocalSession, RemoteSession

if TYPE_CHECKING:
    from vigil.simulator.app import Simulator
    from vigil.simulator.auth import ApiKey

DEFAULT_TOOL_MAX_BYTES = 10_000
WALK_TTL_S = 24 * 3600.0
MSG_PAGE = "The page parameter is not a valid cursor for this request."
MSG_EXPIRED = ("The page cursor has expired. Restart the walk without a page parameter; results will reflect the "
               "current retention boundary.")
MSG_LT_GTE = "created_at.lt must be strictly after created_at.gte."
MSG_LOCAL_OFF = "Local sessions are not available."
MSG_LOCAL_404 = "Local session not found."
MSG_REMOTE_404 = "Remote session not found."
MSG_INDEX_503 = "The local-sessions index is temporarily unavailable. Try again shortly."
MSG_CONTENT_503 = "Captured content is temporarily unavailable. Try again shortly."
MSG_RETENTION_503 = ("The local-sessions index cannot currently evaluate retention overrides for this {what}. "
                     "Try again later.")
MSG_ARTIFACT_404 = "Code artifact not found."
MSG_VERSION_404 = "Code artifact version not found."
MSG_UPLOAD_503 = "The content of this artifact version is not available yet; its upload is in progress. Try again shortly."
_LOCAL_ID = re.compile(r"^clls_[A-Za-z0-9]{1,64}$")
_REMOTE_ID = re.compile(r"^cse_[A-Za-z0-9]{1,64}$")


# ------------------------------------------------------------------------------------- tokens
def _mint(tag: str, **fields: Any) -> str:
    raw = json.dumps({"e": tag, **fields}, separators=(",", ":")).encode()
    return "page_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read(token: str | None, tag: str, bind: dict[str, Any]) -> dict[str, Any] | None:
    """The decoded token, or None without one; 400 when it is malformed or was minted for
    another endpoint, session, order or filter."""
    if token is None:
        return None
    data = None
    if token.startswith("page_"):
        body = token[5:]
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            data = None
    if not isinstance(data, dict) or data.get("e") != tag or any(data.get(k) != v for k, v in bind.items()) \
            or not isinstance(data.get("k"), list) or not isinstance(data.get("w"), (int, float)):
        raise bad_request(MSG_PAGE)
    return data


def _filters_hash(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _walk_start(sim: "Simulator", token: dict[str, Any] | None, expires: bool) -> float:
    now = sim.clock()
    if token is None:
        return now
    if expires and now - token["w"] > WALK_TTL_S:
        raise bad_request(MSG_EXPIRED)
    return token["w"]


def _page(items: list[tuple[list, dict[str, Any]]], token: dict[str, Any] | None, descending: bool, limit: int,
          budget: int) -> tuple[list[dict[str, Any]], list | None]:
    """Model C: ``items`` sorted in walk order as ``(key, rendered)``; returns the page and the
    key to continue after (None at the end). A page ends early once its bytes reach ``budget``."""
    if token is not None:
        after = token["k"]
        items = [(k, r) for k, r in items if (k < after if descending else k > after)]
    page: list[tuple[list, dict[str, Any]]] = []
    size = 0
    for k, r in items:
        if len(page) == limit or (page and size >= budget):
            break
        page.append((k, r))
        size += len(json.dumps(r, ensure_ascii=False))
    more = len(page) < len(items)
    return [r for _, r in page], (page[-1][0] if more else None)


def _byte_cap(q: Query, name: str) -> tuple[int, bool]:
    """(cap in bytes, whether it is the server maximum): default 10,000; -1 = server max;
    larger values are clamped; 0, other negatives and non-integers are a 400."""
    raw = q.one(name)
    if raw is None:
        return DEFAULT_TOOL_MAX_BYTES, False
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise bad_request(f"The {name} parameter must be -1 or a positive integer. Got {raw}.")
    if value == -1 or value >= SERVER_MAX_BYTES:
        return SERVER_MAX_BYTES, True
    return value, False


def _cut(text: str, cap: int, at_max: bool, name: str) -> tuple[str, bool]:
    raw = text.encode("utf-8")
    if len(raw) <= cap:
        return text, False
    head = raw[:cap].decode("utf-8", "ignore")
    tail = "\u2026[truncated at the server maximum]" if at_max else \
        f"\u2026[truncated; pass {name}=-1 for the server max]"
    return head + tail, True


def _capped(msg: dict[str, Any], caps: tuple[tuple[int, bool], tuple[int, bool]]) -> dict[str, Any]:
    """The message with tool inputs/results cut to the requested byte caps (``truncated`` set)."""
    (in_cap, in_max), (res_cap, res_max) = caps
    blocks = []
    for b in msg["content"]:
        if b["type"] == "tool_use":
            text, cut = _cut(b["input"], in_cap, in_max, "tool_use_input_max_bytes")
            if cut:
                b = {**b, "input": text, "truncated": True}
        elif b["type"] == "tool_result":
            items, any_cut = [], False
            for c in b["content"]:
                text, cut = _cut(c.get("text", ""), res_cap, res_max, "tool_result_max_bytes")
                items.append({**c, "text": text} if cut else c)
                any_cut = any_cut or cut
            if any_cut:
                b = {**b, "content": items, "truncated": True}
        blocks.append(b)
    return {**msg, "content": blocks}


def _transcript_query(request: Request, sim: "Simulator", tag: str, session_id: str, expires: bool):
    """The parameters of a transcript request: limit, order, byte caps, the token (bound to
    this session and order) and the time its walk began."""
    q = Query(request)
    limit = q.limit(100, 1000)
    order = q.one("order") or "asc"
    if order not in ("asc", "desc"):
        raise bad_request(f"Invalid `order` value \"{order}\". Expected one of: asc, desc.")
    caps = (_byte_cap(q, "tool_use_input_max_bytes"), _byte_cap(q, "tool_result_max_bytes"))
    token = _read(q.one("page"), tag, {"s": session_id, "o": order})
    return limit, order, caps, token, _walk_start(sim, token, expires)


# ------------------------------------------------------------------------------------- local sessions
def _local_gate(sim: "Simulator", what: str) -> None:
    if not sim.local_sessions_available:
        raise not_found(MSG_LOCAL_OFF)
    if sim.faults.p_local_503 and sim.faults.chance(sim.faults.p_local_503):
        raise ApiError(503, "overloaded_error", MSG_CONTENT_503 if what == "messages" else MSG_INDEX_503)


def _local_or_error(sim: "Simulator", session_id: str) -> tuple[LocalSession, float]:
    if not _LOCAL_ID.match(session_id):
        raise bad_request(f"Invalid local session ID \"{session_id}\".")
    s = sim.org.local_session(session_id)
    created = sim.org.local_created(s, sim.clock()) if s is not None else None
    if created is None:
        raise not_found(MSG_LOCAL_404)
    if s.retention_error:
        raise ApiError(503, "overloaded_error", MSG_RETENTION_503.format(what="session"))
    return s, created


def local_json(sim: "Simulator", s: LocalSession, created: float, with_email: bool = True) -> dict[str, Any]:
    u = sim.org.users[s.user] if s.user is not None else None
    d = {"type": "compliance_local_session", "id": s.id, "organization_uuid": sim.org.claude_org.uuid,
         "workspace_id": s.workspace_id,
         "user": {"id": u.id, "email_address": u.email if with_email else None} if u else None,
         "product_surface": s.surface, "created_at": ts_z(created)}
    if sim.local_session_updates and with_email:  # SPEC §18: later docs add updated_at
        kept = sim.org.retained_calls(s)
        d["updated_at"] = ts_z(s.calls[kept[-1]].t)
    return d


def h_local_sessions(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    _local_gate(sim, "list")
    q = Query(request)
    limit = q.limit(100, 500)
    bounds = {op: v for op, v in q.times("created_at").items() if op in ("gte", "lt")}
    if "gte" in bounds and "lt" in bounds and bounds["lt"] <= bounds["gte"]:
        raise bad_request(MSG_LT_GTE)
    updated = {op: v for op, v in q.times("updated_at").items() if op == "gte"} if sim.local_session_updates else {}
    token = _read(q.one("page"), "local_sessions", {"q": _filters_hash(bounds, updated)})
    walk = _walk_start(sim, token, expires=True)
    if sim.local_list_retention_error:
        raise ApiError(503, "overloaded_error", MSG_RETENTION_503.format(what="page"))
    now = sim.clock()
    rows = []
    for s in list(sim.org.local_sessions):
        kept = sim.org.retained_calls(s, now)
        if not kept:
            continue
        created = s.calls[kept[0]].t
        if not in_range(created, bounds) or (updated and not in_range(s.calls[kept[-1]].t, updated)):
            continue
        rows.append(([created, s.id], local_json(sim, s, created)))
    rows.sort(key=lambda r: r[0], reverse=True)
    data, last = _page(rows, token, True, limit, sim.session_page_bytes)
    nxt = _mint("local_sessions", w=walk, q=_filters_hash(bounds, updated), k=last) if last else None
    return json_response({"data": data, "next_page": nxt})


def h_local_session(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    _local_gate(sim, "retrieve")
    s, created = _local_or_error(sim, request.path_params["session_id"])
    return json_response(local_json(sim, s, created))


def h_local_messages(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    _local_gate(sim, "messages")
    s, created = _local_or_error(sim, request.path_params["session_id"])
    limit, order, caps, token, walk = _transcript_query(request, sim, "local_messages", s.id, expires=True)
    kept = set(sim.org.retained_calls(s))
    items = []
    for n, (ci, msg, _) in enumerate(sim.org.sessions.local_messages(s)):
        if ci in kept:
            if sim.local_session_updates:
                model = "claude-opus-4-7" if s.template == "claude_code" else "claude-sonnet-4-6"
                msg = {**msg, "model": model if msg["role"] == "assistant" else None}
            items.append(([n], msg))
    if order == "desc":
        items.reverse()
    rendered = [(k, _capped(m, caps)) for k, m in items]
    data, last = _page(rendered, token, order == "desc", limit, sim.session_page_bytes)
    nxt = _mint("local_messages", w=walk, s=s.id, o=order, k=last) if last else None
    return json_response({"session": local_json(sim, s, created, with_email=False), "data": data, "next_page": nxt})


# ------------------------------------------------------------------------------------- remote sessions
def remote_json(sim: "Simulator", s: RemoteSession, listing: bool = True) -> dict[str, Any]:
    users = sim.org.users
    owner = users[s.user] if s.user is not None else None
    starter = users[s.started_by] if s.started_by is not None else None
    return {"id": s.id, "organization_uuid": sim.org.claude_org.uuid,
            "user": {"id": owner.id, "email_address": owner.email if listing else None} if owner else None,
            "agent_id": s.agent_id,
            "started_by_user": {"id": starter.id, "email_address": starter.email} if starter and listing else None,
            "status": s.status, "created_at": ts_z(s.created), "updated_at": ts_z(s.updated),
            "product_surface": "cowork_remote", "claude_project_id": s.project_id if listing else None}


def h_remote_sessions(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    q = Query(request)
    limit = q.limit(100, 500)
    orgs = q.many("organization_ids")
    users = q.many("user_ids")
    if len(orgs) > 500:
        raise bad_request(f"`organization_ids[]` accepts at most 500 values. Got {len(orgs)}.")
    if len(users) > 10:
        raise bad_request(f"`user_ids[]` accepts between 1 and 10 values. Got {len(users)}.")
    bounds = q.times("created_at")
    token = _read(q.one("page"), "remote_sessions", {"q": _filters_hash(sorted(orgs), sorted(users), bounds)})
    walk = _walk_start(sim, token, expires=False)
    org_ok = not orgs or any((u := sim.org.resolve_org(o)) is not None and u.kind in ("claude_ai", "parent")
                             for o in orgs)
    wanted = {sim.org.users_by_id[u].idx for u in users if u in sim.org.users_by_id}
    rows = [([s.created, s.id], remote_json(sim, s)) for s in list(sim.org.remote_sessions)
            if org_ok and in_range(s.created, bounds) and (not users or (s.user is not None and s.user in wanted))]
    rows.sort(key=lambda r: r[0], reverse=True)
    data, last = _page(rows, token, True, limit, sim.session_page_bytes)
    nxt = _mint("remote_sessions", w=walk, q=_filters_hash(sorted(orgs), sorted(users), bounds), k=last) \
        if last else None
    return json_response({"data": data, "next_page": nxt})


def h_remote_messages(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    session_id = request.path_params["session_id"]
    if not _REMOTE_ID.match(session_id):
        raise bad_request(f"Invalid remote session ID \"{session_id}\".")
    s = sim.org.remote_session(session_id)
    if s is None or s.status == "pending":  # documented: 404 while pending
        raise not_found(MSG_REMOTE_404)
    limit, order, caps, token, walk = _transcript_query(request, sim, "remote_messages", s.id, expires=False)
    items = [([n], _capped(msg, caps)) for n, (_, msg, _) in enumerate(sim.org.sessions.remote_messages(s))]
    if order == "desc":
        items.reverse()
    data, last = _page(items, token, order == "desc", limit, sim.session_page_bytes)
    nxt = _mint("remote_messages", w=walk, s=s.id, o=order, k=last) if last else None
    return json_response({"session": remote_json(sim, s, listing=False), "data": data, "next_page": nxt})


# ------------------------------------------------------------------------------------- code artifacts
def artifact_json(sim: "Simulator", a: CodeArtifact) -> dict[str, Any]:
    now = sim.clock()
    owner = sim.org.users[a.owner] if a.owner is not None else None
    published = sim.org.published_version(a, now)
    return {"id": a.id, "organization_uuid": sim.org.claude_org.uuid,
            "owner_user_id": owner.id if owner else None,
            "published_version_id": published.id if published else None, "read_mode": a.read_mode,
            "updated_at": ts_z(a.updated), "user": {"id": owner.id, "email_address": owner.email} if owner else None,
            "versions": [{"id": v.id, "created_at": ts_z(v.created), "name": v.name} for v in reversed(a.retained())]}


def h_code_artifacts(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    q = Query(request)
    limit = q.limit(20, 100)
    orgs, users = q.many("organization_ids"), q.many("user_ids")
    if len(orgs) > 500:
        raise bad_request(f"`organization_ids[]` accepts at most 500 values. Got {len(orgs)}.")
    if len(users) > 200:
        raise bad_request(f"`user_ids[]` accepts at most 200 values. Got {len(users)}.")
    updated = q.times("updated_at")
    fh = _filters_hash(sorted(orgs), sorted(users), updated)
    raw = q.one("page")
    token = None
    if raw is not None:  # model B token: {"e", "q", "b": batch, "k": [last id]}
        token = _read(raw, "code_artifacts", {"q": fh})
        if not isinstance(token.get("b"), int):
            raise bad_request(MSG_PAGE)
    units = sorted(sim.org.org_units(), key=lambda o: o.uuid)  # batches: one per linked organization
    if orgs:
        picked = {u.uuid for o in orgs if (u := sim.org.resolve_org(o)) is not None}
        if sim.org.parent.uuid in picked:
            picked |= {u.uuid for u in units}
        units = [u for u in units if u.uuid in picked]
    owners = {sim.org.users_by_id[u].idx for u in users if u in sim.org.users_by_id}
    claude = sim.org.claude_org.uuid

    def batch(unit) -> list[CodeArtifact]:
        arts = [a for a in list(sim.org.code_artifacts) if not a.deleted and unit.uuid == claude
                and (not users or a.owner in owners) and (not updated or (a.indexed and in_range(a.updated, updated)))]
        return sorted(arts, key=lambda a: a.id)

    b = token["b"] if token else 0
    after = token["k"][0] if token and token["k"] else ""
    if b >= len(units):
        return json_response({"data": [], "has_more": False, "next_page": None})
    rest = [a for a in batch(units[b]) if a.id > after]
    page = rest[:limit]
    if len(rest) > limit:
        nxt = _mint("code_artifacts", w=0, q=fh, b=b, k=[page[-1].id])
    elif b + 1 < len(units):
        nxt = _mint("code_artifacts", w=0, q=fh, b=b + 1, k=[])
    else:
        nxt = None
    return json_response({"data": [artifact_json(sim, a) for a in page], "has_more": nxt is not None,
                          "next_page": nxt})


class ChunkedBody(StreamingResponse):
    """A chunked body from a generator (no ``content-length``). A ``SimulatedDisconnect`` raised
    by the generator aborts the stream: headers and the first bytes arrive, the rest never does."""

    def __init__(self, chunks: Iterator[bytes], headers: dict[str, str]):
        super().__init__(chunks, headers=headers)

    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _aborting(chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield from chunks
    raise SimulatedDisconnect("encoded content over the size limit: stream aborted")


def h_code_version(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    a = sim.org.code_artifact(request.path_params["artifact_id"])
    if a is None:
        raise not_found(MSG_ARTIFACT_404)
    vid = request.path_params["version_id"]
    v = next((v for v in a.retained() if v.id == vid), None)
    if v is None:  # never published, or rotated out of the kept history: re-list
        raise not_found(MSG_VERSION_404)
    if not sim.org.version_ready(v, sim.clock()):
        raise ApiError(503, "overloaded_error", MSG_UPLOAD_503)
    headers = {"content-disposition": "attachment; filename*=utf-8''" + quote(f"{a.id}-{v.id}.txt", safe=""),
               "cache-control": "no-store, private"}
    if v.oversize:
        mime = "text/html"
        body: Iterator[bytes] = _aborting(sim.org.sessions.oversize_chunks(a, v, sim.code_artifact_max_bytes))
    else:
        mime, text, _ = sim.org.sessions.site(a, v)
        raw = text.encode("utf-8")
        if v.encoding == "identity":  # stored as-is: the server can vouch for the bytes
            headers["content-md5"] = base64.b64encode(hashlib.md5(raw).digest()).decode()
        body = iter([raw[i:i + 65536] for i in range(0, len(raw), 65536)])
    headers["content-type"] = f"{mime}; charset=utf-8"
    return ChunkedBody(body, headers)


def h_code_delete(request: Request, sim: "Simulator", key: "ApiKey") -> Response:
    aid = request.path_params["artifact_id"]
    if not sim.org.delete_code_artifact(aid):
        raise not_found(MSG_ARTIFACT_404)
    return json_response({"id": aid, "type": "code_artifact_deleted"})


def routes(api: Callable, user_scope: str, delete_scope: str, remote_budget) -> list:
    """The §9 routes, wrapped by ``build_app``'s request pipeline (``api``)."""
    from starlette.routing import Route

    p = "/v1/compliance/apps"
    return [
        Route(f"{p}/sessions/local", api(user_scope, h_local_sessions)),
        Route(f"{p}/sessions/local/{{session_id}}", api(user_scope, h_local_session)),
        Route(f"{p}/sessions/local/{{session_id}}/messages", api(user_scope, h_local_messages)),
        Route(f"{p}/sessions/remote", api(user_scope, h_remote_sessions, extra_limiter=remote_budget)),
        Route(f"{p}/sessions/remote/{{session_id}}/messages",
              api(user_scope, h_remote_messages, extra_limiter=remote_budget)),
        Route(f"{p}/code/artifacts", api(user_scope, h_code_artifacts)),
        Route(f"{p}/code/artifacts/{{artifact_id}}/versions/{{version_id}}", api(user_scope, h_code_version)),
        Route(f"{p}/code/artifacts/{{artifact_id}}", api(delete_scope, h_code_delete), methods=["DELETE"]),
    ]
