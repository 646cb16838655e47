"""The simulator's ASGI app: the Compliance API endpoints a DLP connector uses, with the
documented auth, scope, rate-limit, pagination, error and download behaviours (SPEC §12), plus
admin endpoints under ``/_admin`` for live changes and fault settings.

Request pipeline for every ``/v1/compliance`` call: ``x-api-key`` lookup (401, no quota) ->
shared fixed-window limiter (429 + ``retry-after``) -> injected faults -> scope check (403,
quota consumed) -> handler. Every response carries ``request-id``; authenticated ones carry the
``anthropic-ratelimit-requests-*`` headers and are logged as ``compliance_api_accessed``.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from vigil.simulator.activities import Activity
from vigil.simulator.auth import READ_SCOPES, ApiKey, KeyRing, RateLimiter, default_key, retired_key
from vigil.simulator.faults import Faults
from vigil.simulator.ids import ts_micro_z, ts_naive, ts_offset, ts_z
from vigil.simulator.org import Chat, FileObj, SyntheticOrg

USER = "read:compliance_user_data"
ORG = "read:compliance_org_data"
ACT = "read:compliance_activities"
DELETE = "delete:compliance_user_data"

MSG_401 = "The API key provided is invalid or has been revoked."
MSG_429 = ("Compliance API rate limit of {rpm} requests per minute per parent organization has been exceeded. "
           "Retry after the time indicated by the retry-after header. Quote the request-id response header "
           "when contacting Anthropic support.")
MSG_429_REMOTE = ("Remote sessions rate limit exceeded. Retry after the time indicated by the retry-after header. "
                  "Quote the request-id response header when contacting Anthropic support.")
MSG_FILE_404 = "No file found with provided id, or it has already been deleted."
MSG_PROJECT_404 = "No project is found with the provided id."
MSG_DOC_404 = "No project document found with provided id, or it has already been deleted."
MSG_PAGE = "The page parameter is not a valid cursor for this request."
TOOL_MAX_CHARS_DEFAULT = 2000
TOOL_MAX_CHARS_SERVER = 1_000_000
REMOTE_RPM = 120  # size of the remote-session budget: undocumented (SPEC §14 #12), chosen here
SESSION_PAGE_BYTES = 4 * 1024 * 1024  # a session page ends early past this many bytes of records
CODE_ARTIFACT_MAX_BYTES = 16 * 1024 * 1024  # encoded artifact content larger than this aborts mid-stream
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class SimulatedDisconnect(ConnectionResetError):
    """Raised inside the app to make the server drop the connection mid-response."""


class ApiError(Exception):
    def __init__(self, status: int, etype: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.etype, self.message, self.headers = status, etype, message, headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found_error", message)


def new_request_id() -> str:
    n = int.from_bytes(os.urandom(16), "big")
    out = []
    for _ in range(20):
        n, r = divmod(n, 58)
        out.append(_B58[r])
    return "req_011C" + "".join(out)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, headers=headers,
                    media_type="application/json")


def error_body(etype: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": etype, "message": message, "details": {"error_visibility": "user_facing"}},
            "request_id": request_id}


def _b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def _unb64(token: str) -> Any:
    try:
        return json.loads(base64.b64decode(token.encode(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


# ------------------------------------------------------------------------------------- queries
class Query:
    """Query-string access with the API's conventions (``name[]`` arrays, dotted time ranges)."""

    def __init__(self, request: Request):
        self.items = request.query_params.multi_items()

    def one(self, name: str) -> str | None:
        vals = [v for k, v in self.items if k == name]
        return vals[-1] if vals else None

    def many(self, name: str) -> list[str]:
        return [v for k, v in self.items if k in (name + "[]", name)]

    def has_prefix(self, prefix: str) -> bool:
        return any(k.startswith(prefix + ".") for k, _ in self.items)

    def limit(self, default: int | None, maximum: int) -> int | None:
        raw = self.one("limit")
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= maximum:
            raise bad_request(f"The limit parameter must be between 1 and {maximum}, inclusive. Got {raw}.")
        return value

    def times(self, field: str) -> dict[str, float]:
        out = {}
        for op in ("gte", "gt", "lte", "lt"):
            name = f"{field}.{op}"
            raw = self.one(name)
            if raw is None:
                continue
            out[op] = parse_rfc3339(name, raw)
        return out

    def int_param(self, name: str, default: int) -> int:
        raw = self.one(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = -2
        if value < -1:
            raise bad_request(f"The {name} parameter must be -1 or a non-negative integer. Got {raw}.")
        return value


def parse_rfc3339(name: str, raw: str) -> float:
    ok = _RFC3339.match(raw)
    if ok:
        try:
            text = raw.upper().replace("Z", "+00:00")
            if ok.group(1) and len(ok.group(1)) > 7:  # fromisoformat takes at most microseconds
                text = text.replace(ok.group(1), ok.group(1)[:7])
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    raise bad_request(f"The `{name}` parameter contains an invalid timestamp format. Timestamps must be provided "
                      f"in RFC 3339 format e.g., \"2024-03-01T00:00:00Z\". Got \"{raw}\".")


def in_range(t: float, bounds: dict[str, float]) -> bool:
    return (("gte" not in bounds or t >= bounds["gte"]) and ("gt" not in bounds or t > bounds["gt"])
            and ("lte" not in bounds or t <= bounds["lte"]) and ("lt" not in bounds or t < bounds["lt"]))


def page_token_list(items: list[Any], key: Callable[[Any], tuple], token: str | None, tag: str,
                    limit: int) -> dict[str, Any]:
    """Model B: ``items`` already filtered; returns the envelope minus ``data`` rendering."""
    items = sorted(items, key=key)
    start = 0
    if token is not None:
        decoded = _unb64(token[5:]) if token.startswith("page_") else None
        if not isinstance(decoded, dict) or decoded.get("e") != tag or not isinstance(decoded.get("k"), list):
            raise bad_request(MSG_PAGE)
        after = tuple(decoded["k"])
        try:
            start = bisect.bisect_right([key(i) for i in items], after)
        except TypeError:
            raise bad_request(MSG_PAGE) from None
    page = items[start:start + limit]
    has_more = start + limit < len(items)
    next_page = "page_" + _b64({"e": tag, "k": list(key(page[-1]))}) if has_more and page else None
    return {"items": page, "has_more": has_more, "next_page": next_page}


# ------------------------------------------------------------------------------------- app
class Simulator:
    """State shared by the handlers of one app instance."""

    def __init__(self, org: SyntheticOrg, keys: Iterable[ApiKey] | None, rpm: int, faults: Faults | None,
                 clock: Callable[[], float] | None, tool_max_chars_default: int, deleted_chats: str = "readable",
                 activity_nulls: bool = True, feed_lag_s: float = 0.0, remote_rpm: int = REMOTE_RPM,
                 session_page_bytes: int = SESSION_PAGE_BYTES, code_artifact_max_bytes: int = CODE_ARTIFACT_MAX_BYTES,
                 local_session_updates: bool = False):
        import time

        if deleted_chats not in ("readable", "emptied"):
            raise ValueError("deleted_chats must be 'readable' or 'emptied'")
        if session_page_bytes < 1 or code_artifact_max_bytes < 1:
            raise ValueError("session_page_bytes and code_artifact_max_bytes must be positive")
        self.deleted_chats = deleted_chats
        self.activity_nulls = activity_nulls
        self.feed_lag_s = feed_lag_s
        self.session_page_bytes = session_page_bytes
        self.code_artifact_max_bytes = code_artifact_max_bytes
        self.local_session_updates = local_session_updates
        self.local_sessions_available = True  # False: every local-session call is a 404
        self.local_list_retention_error = False  # True: local-session list pages answer the persistent 503

        self.org = org
        self.clock = clock or time.time
        org.clock = self.clock
        self.keys = KeyRing(keys if keys is not None else [default_key(org.seed)])
        for k in self.keys.all():
            if not k.created_at:
                k.created_at = org.now - 86400
                k.created_by_id = k.created_by_id or org.users[0].id
        self.keys.add(retired_key(org))
        self.limiter = RateLimiter(rpm, self.clock)
        self.remote_limiter = RateLimiter(remote_rpm, self.clock)  # the remote-session endpoints' own budget
        self.faults = faults or Faults()
        self.tool_max_chars_default = tool_max_chars_default
        self._sorted: dict[str, tuple[int, list[Chat], list[tuple[float, str]]]] = {}
        self._org_uuid = {o.tagged_id: o.uuid for o in (org.parent, org.claude_org, org.console_org)}

    # -- rendering -----------------------------------------------------------------------------
    def user_ref(self, idx: int | None) -> dict[str, str] | None:
        if idx is None:
            return None
        u = self.org.users[idx]
        return {"id": u.id, "email_address": u.email}

    def chat_json(self, c: Chat) -> dict[str, Any]:
        o = self.org.claude_org
        name = "" if c.deleted is not None and self.deleted_chats == "emptied" else c.name
        return {"id": c.id, "name": name, "created_at": ts_z(c.created), "updated_at": ts_z(c.updated),
                "deleted_at": ts_z(c.deleted) if c.deleted is not None else None,
                "href": f"https://claude.ai/chat/{c.uuid}", "model": c.model, "organization_uuid": o.uuid,
                "organization_id": o.tagged_id, "project_id": c.project, "user": self.user_ref(c.user)}

    def activity_json(self, a: Activity) -> dict[str, Any]:
        if a.actor[0] == "user":
            u = self.org.users[a.actor[1]]
            actor = {"type": "user_actor", "email_address": u.email, "user_id": u.id, "ip_address": u.ip,
                     "user_agent": u.ua}
        else:
            actor = {"type": "api_actor", "api_key_id": a.actor[1], "ip_address": a.actor[2], "user_agent": a.actor[3]}
        d = {"id": a.id, "created_at": ts_micro_z(a.t), "organization_id": a.org,
             "organization_uuid": self._org_uuid.get(a.org) if a.org else None, "actor": actor, "type": a.type}
        d.update(a.fields)
        if not self.activity_nulls:  # captured feeds omit null org fields and optional fields
            d = {k: v for k, v in d.items() if v is not None or k == "request_body"}
        return d

    def project_json(self, p, detail: bool = False) -> dict[str, Any]:
        o = self.org.claude_org
        d = {"id": p.id, "name": p.name, "created_at": ts_z(p.created), "updated_at": ts_z(p.updated),
             "deleted_at": ts_z(p.deleted) if p.deleted else None, "is_private": p.is_private,
             "organization_uuid": o.uuid, "organization_id": o.tagged_id, "user": self.user_ref(p.user)}
        if detail:
            d.update({"attachments_count": len(self.attachments(p)), "chats_count": self.org.project_chat_count(p),
                      "description": p.description, "instructions": self.org.content.instructions(p).text})
        return d

    def attachments(self, p) -> list[dict[str, Any]]:
        out = []
        for fid in p.file_ids:
            f = self.org.file(fid)
            if f is None:
                continue
            size, md5 = self.org.content.file_info(f)
            out.append({"id": f.id, "created_at": ts_z(f.created), "filename": f.filename, "md5": md5,
                        "mime_type": f.mime or "application/octet-stream", "size_bytes": size,
                        "type": "project_file", "_t": f.created})
        for did in p.doc_ids:
            d = self.org.doc(did)
            if d is None:
                continue
            out.append({"id": d.id, "created_at": ts_z(d.created), "filename": d.filename, "mime_type": "text/plain",
                        "type": "project_doc", "updated_at": None, "_t": d.created})
        return out

    # -- chat views ----------------------------------------------------------------------------
    def sorted_chats(self, order_by: str) -> tuple[list[Chat], list[tuple[float, str]]]:
        with self.org.lock:
            hit = self._sorted.get(order_by)
            if hit and hit[0] == self.org.version:
                return hit[1], hit[2]
            attr = "created" if order_by == "created_at" else "updated"
            chats = sorted(self.org.live_chats(), key=lambda c: (getattr(c, attr), c.uuid))
            keys = [(getattr(c, attr), c.uuid) for c in chats]
            self._sorted[order_by] = (self.org.version, chats, keys)
            return chats, keys


def build_app(org: SyntheticOrg, keys: Iterable[ApiKey] | None = None, rpm: int = 600,
              faults: Faults | None = None, clock: Callable[[], float] | None = None,
              tool_max_chars_default: int = TOOL_MAX_CHARS_DEFAULT, deleted_chats: str = "readable",
              activity_nulls: bool = True, feed_lag_s: float = 0.0, remote_rpm: int = REMOTE_RPM,
              session_page_bytes: int = SESSION_PAGE_BYTES, code_artifact_max_bytes: int = CODE_ARTIFACT_MAX_BYTES,
              local_session_updates: bool = False) -> Starlette:
    """The simulator as an ASGI app. ``keys`` default to one full-read-scope key derived from the
    seed (``vigil.simulator.auth.default_key``); ``clock`` (epoch seconds) drives the rate-limit
    window and live-change timestamps. ``app.state.sim`` exposes the state (faults, limiter).

    SPEC §18 switches: ``deleted_chats="emptied"`` serves soft-deleted chats with an empty name and
    no messages (the SDK's account) instead of readable ones (§6); ``activity_nulls=False`` omits
    null organization and optional fields from activities, as captured feeds do. ``feed_lag_s``
    hides activities younger than that many seconds (the feed's documented ~1 minute delay).

    Sessions and code artifacts (SPEC §9): ``remote_rpm`` is the remote-session endpoints' own
    budget (their 429 says ``retry-after: 1``); ``session_page_bytes`` ends a session page early;
    ``code_artifact_max_bytes`` is where an oversized encoded artifact download aborts;
    ``local_session_updates=True`` serves the later docs' ``updated_at`` on local sessions (and the
    ``updated_at.gte`` filter, and ``model`` on their messages)."""
    sim = Simulator(org, keys, rpm, faults, clock, tool_max_chars_default, deleted_chats, activity_nulls,
                    feed_lag_s, remote_rpm, session_page_bytes, code_artifact_max_bytes, local_session_updates)

    def api(scope: str | None, handler: Callable[[Request, Simulator], Response], extra_limiter=None):
        async def endpoint(request: Request) -> Response:
            rid = request.state.request_id
            key = sim.keys.lookup(request.headers.get("x-api-key"))
            if key is None:
                return json_response(error_body("authentication_error", MSG_401, rid), 401)
            allowed, remaining, reset, retry_after = sim.limiter.acquire()
            headers = {"anthropic-ratelimit-requests-limit": str(sim.limiter.rpm),
                       "anthropic-ratelimit-requests-remaining": str(remaining),
                       "anthropic-ratelimit-requests-reset": ts_z(reset)}
            fault = None
            if allowed and extra_limiter is not None and not extra_limiter.acquire()[0]:
                # the endpoint's own budget: retry-after is always 1 (a floor), headers are the shared budget's
                resp = json_response(error_body("rate_limit_error", MSG_429_REMOTE, rid), 429,
                                     {**headers, "retry-after": "1"})
            elif not allowed:
                resp = json_response(error_body("rate_limit_error", MSG_429.format(rpm=sim.limiter.rpm), rid), 429,
                                     {**headers, "retry-after": str(retry_after)})
            else:
                faults_now = sim.faults
                if faults_now.latency_ms:
                    await asyncio.sleep(faults_now.latency_ms / 1000)
                fault = faults_now.draw() if faults_now.active else None
                try:
                    if scope is not None and scope not in key.scopes:
                        raise ApiError(403, "permission_error",
                                       f"Missing required scopes. Got: {list(key.scopes)} Needed: {[scope]}")
                    if fault == "429":
                        raise ApiError(429, "rate_limit_error", MSG_429.format(rpm=sim.limiter.rpm),
                                       {"retry-after": "1"})
                    if fault in ("500", "500_final"):
                        raise ApiError(500, "api_error", "Internal server error",
                                       {"x-should-retry": "false"} if fault == "500_final" else {})
                    if fault == "503":
                        raise ApiError(503, "overloaded_error", "Service temporarily unavailable")
                    if fault == "529":
                        raise ApiError(529, "overloaded_error", "Overloaded")
                    resp = handler(request, sim, key)
                except ApiError as e:
                    resp = json_response(error_body(e.etype, e.message, rid), e.status, e.headers)
                    fault = None if fault not in ("drop", "truncate") else fault
                for k, v in headers.items():
                    resp.headers[k] = v
            sim.org.log_api_access(sim.clock(), key.id, request.client.host if request.client else "127.0.0.1",
                                   request.headers.get("user-agent", ""), rid, request.method, resp.status_code,
                                   str(request.url))
            if fault in ("drop", "truncate"):
                return BrokenResponse(resp, fault)
            return resp
        return endpoint

    routes = [
        Route("/v1/compliance/activities", api(ACT, h_activities)),
        Route("/v1/compliance/organizations", api(ORG, h_organizations)),
        Route("/v1/compliance/organizations/{org}/users", api(USER, h_users)),
        Route("/v1/compliance/organizations/{org}/roles", api(ORG, h_roles)),
        Route("/v1/compliance/organizations/{org}/roles/{role_id}", api(ORG, h_role)),
        Route("/v1/compliance/organizations/{org}/roles/{role_id}/permissions", api(ORG, h_role_permissions)),
        Route("/v1/compliance/organizations/{org}/settings", api(ORG, h_settings)),
        Route("/v1/compliance/groups", api(ORG, h_groups)),
        Route("/v1/compliance/groups/{group_id}", api(ORG, h_group)),
        Route("/v1/compliance/groups/{group_id}/members", api(USER, h_group_members)),
        Route("/v1/compliance/apps/chats", api(USER, h_chats)),
        Route("/v1/compliance/apps/chats/{chat_id}/messages", api(USER, h_messages)),
        Route("/v1/compliance/apps/chats/files/{file_id}", api(USER, h_file_meta)),
        Route("/v1/compliance/apps/chats/files/{file_id}/content", api(USER, h_file_content)),
        Route("/v1/compliance/apps/chats/generated-files/{file_id}", api(USER, h_gen_meta)),
        Route("/v1/compliance/apps/chats/generated-files/{file_id}/content", api(USER, h_gen_content)),
        Route("/v1/compliance/apps/artifacts/{version_id}", api(USER, h_artifact_meta)),
        Route("/v1/compliance/apps/artifacts/{version_id}/content", api(USER, h_artifact_content)),
        Route("/v1/compliance/apps/projects", api(USER, h_projects)),
        Route("/v1/compliance/apps/projects/documents/{doc_id}", api(USER, h_doc), methods=["GET"]),
        Route("/v1/compliance/apps/projects/documents/{doc_id}", api(DELETE, h_doc_delete), methods=["DELETE"]),
        Route("/v1/compliance/apps/projects/documents/{doc_id}/metadata", api(USER, h_doc_meta)),
        Route("/v1/compliance/apps/projects/{project_id}", api(USER, h_project), methods=["GET"]),
        Route("/v1/compliance/apps/projects/{project_id}", api(DELETE, h_project_delete), methods=["DELETE"]),
        Route("/v1/compliance/apps/projects/{project_id}/attachments", api(USER, h_attachments)),
        Route("/v1/compliance/apps/projects/{project_id}/collaborators", api(USER, h_collaborators)),
    ]
    # DELETE routes share paths with GET routes above; register them separately.
    routes += [
        Route("/v1/compliance/apps/chats/{chat_id}", api(DELETE, h_chat_delete), methods=["DELETE"]),
        Route("/v1/compliance/apps/chats/files/{file_id}", api(DELETE, h_file_delete), methods=["DELETE"]),
    ]
    from vigil.simulator import sessions_api
    from vigil.simulator.admin import admin_routes

    routes += sessions_api.routes(api, USER, DELETE, sim.remote_limiter)
    routes += admin_routes(sim)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        rid = getattr(request.state, "request_id", new_request_id())
        etype = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return json_response(error_body(etype, "Not found" if exc.status_code == 404 else str(exc.detail), rid),
                             exc.status_code)

    app = Starlette(routes=_merge_methods(routes), exception_handlers={HTTPException: http_error})
    app.state.sim = sim
    return RequestIdMiddleware(app)


def _merge_methods(routes: list[Route]) -> list[Route]:
    """Starlette matches the first route whose path fits; GET and DELETE on one path need one
    route dispatching on the method."""
    by_path: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for r in routes:
        methods = sorted((r.methods or {"GET"}) - {"HEAD"}) or ["GET"]
        if r.path not in by_path:
            by_path[r.path] = {}
            order.append(r.path)
        for m in methods:
            by_path[r.path][m] = r.endpoint
    merged = []
    for path in order:
        table = by_path[path]
        if len(table) == 1:
            (m, ep), = table.items()
            merged.append(Route(path, ep, methods=[m]))
        else:
            async def dispatch(request: Request, _t=table) -> Response:
                ep = _t.get(request.method)
                if ep is None:
                    raise HTTPException(405)
                return await ep(request)
            merged.append(Route(path, dispatch, methods=list(table)))
    return merged


class RequestIdMiddleware:
    """Gives every request an id (``request.state.request_id``) and every response the header."""

    def __init__(self, app: Starlette):
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"request-id" for k, _ in headers):
                    headers.append((b"request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class BrokenResponse(Response):
    """Sends the head of ``inner`` and then drops the connection (``drop``: no body; ``truncate``:
    the first half of the body)."""

    def __init__(self, inner: Response, mode: str):
        self.inner, self.mode = inner, mode
        self.status_code = inner.status_code
        self.background = None

    async def __call__(self, scope, receive, send):
        if isinstance(self.inner, StreamingResponse):
            headers = self.inner.raw_headers
            await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
            if self.mode == "truncate":
                sent = 0
                async for chunk in self.inner.body_iterator:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += 1
                    if sent >= 1:
                        break
            raise SimulatedDisconnect("simulated dropped connection")
        body = self.inner.body
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.inner.raw_headers})
        if self.mode == "truncate":
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise SimulatedDisconnect("simulated dropped connection")


# ------------------------------------------------------------------------------------- activities
def h_activities(request: Request, sim: Simulator, key: ApiKey) -> Response:
    q = Query(request)
    limit = q.limit(100, 5000)
    order = q.one("order") or "desc"
    if order not in ("asc", "desc"):
        raise bad_request(f"Invalid `order` value \"{order}\". Expected one of: asc, desc.")
    after_id, before_id = q.one("after_id"), q.one("before_id")
    if after_id and before_id:
        raise bad_request("Only one of `after_id` and `before_id` may be provided.")
    bounds = q.times("created_at")
    types, excluded = set(q.many("activity_types")), set(q.many("exclude_activity_types"))
    if types and excluded:
        raise bad_request("`activity_types[]` and `exclude_activity_types[]` cannot be used together.")
    actors = set(q.many("actor_ids")) | set(q.many("user_ids"))
    for a in actors:
        if not a.startswith("user_"):
            raise bad_request(f"Invalid actor id \"{a}\": only `user_...` IDs are supported.")
    actor_idx = {sim.org.users_by_id[a].idx for a in actors if a in sim.org.users_by_id}
    orgs = set()
    for o in q.many("organization_ids"):
        unit = sim.org.resolve_org(o)
        orgs.add(unit.tagged_id if unit else o)
    cursor = None
    for name, value in (("after_id", after_id), ("before_id", before_id)):
        if value:
            cursor = sim.org.activities.get(value)
            if cursor is None:
                raise bad_request(f"Invalid `{name}`. No activity found for `{name}` \"{value}\"")

    def match(a: Activity) -> bool:
        if types and a.type not in types:
            return False
        if excluded and a.type in excluded:
            return False
        if actors and not (a.actor[0] == "user" and a.actor[1] in actor_idx):
            return False
        if orgs and a.org not in orgs:
            return False
        return True

    t_min = t_max = None
    t_min_incl = t_max_incl = True
    if "gte" in bounds or "gt" in bounds:
        t_min = max(bounds.get("gte", float("-inf")), bounds.get("gt", float("-inf")))
        t_min_incl = "gt" not in bounds or bounds.get("gte", float("-inf")) > bounds["gt"]
    if "lte" in bounds or "lt" in bounds:
        t_max = min(bounds.get("lte", float("inf")), bounds.get("lt", float("inf")))
        t_max_incl = "lt" not in bounds or bounds.get("lte", float("inf")) < bounds["lt"]
    if sim.feed_lag_s:
        visible = sim.clock() - sim.feed_lag_s
        if t_max is None or visible < t_max or (visible == t_max and not t_max_incl):
            t_max, t_max_incl = visible, True
    page = sim.org.activities.query(order=order, limit=limit, after=cursor if after_id else None,
                                    before=cursor if before_id else None, t_min=t_min, t_min_incl=t_min_incl,
                                    t_max=t_max, t_max_incl=t_max_incl, match=match)
    data = [sim.activity_json(a) for a in page.items]
    return json_response({"data": data, "has_more": page.has_more,
                          "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})


# ------------------------------------------------------------------------------------- directory
def _org_or_404(sim: Simulator, ident: str):
    unit = sim.org.resolve_org(ident)
    if unit is None:
        raise not_found(f"The \"{ident}\" organization does not exist or the requester is not authorized to access it.")
    return unit


def _page_b(request: Request, items: list, key, tag: str, default: int, maximum: int, render) -> Response:
    q = Query(request)
    limit = q.limit(default, maximum)
    env = page_token_list(items, key, q.one("page"), tag, limit)
    return json_response({"data": [render(i) for i in env["items"]], "has_more": env["has_more"],
                          "next_page": env["next_page"]})


def h_organizations(request: Request, sim: Simulator, key: ApiKey) -> Response:
    return _page_b(request, sim.org.org_units(), lambda o: (o.created, o.uuid), "orgs", 1000, 1000,
                   lambda o: {"uuid": o.uuid, "name": o.name, "created_at": ts_offset(o.created)})


def h_users(request: Request, sim: Simulator, key: ApiKey) -> Response:
    unit = _org_or_404(sim, request.path_params["org"])
    users = [u for u in sim.org.users if unit.kind == "parent" or unit.uuid in u.orgs]
    return _page_b(request, users, lambda u: (u.created, u.id), "users:" + unit.uuid, 500, 1000,
                   lambda u: {"id": u.id, "full_name": u.full_name, "email": u.email,
                              "organization_role": u.role, "created_at": ts_micro_z(u.created)})


def _role_json(r) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "description": r.description,
            "created_at": ts_naive(r.created) if r.created is not None else None,
            "updated_at": ts_naive(r.updated) if r.updated is not None else None}


def h_roles(request: Request, sim: Simulator, key: ApiKey) -> Response:
    _org_or_404(sim, request.path_params["org"])
    return _page_b(request, sim.org.roles, lambda r: (r.created or 0.0, r.id), "roles", 500, 1000, _role_json)


def _role_or_404(sim: Simulator, request: Request):
    _org_or_404(sim, request.path_params["org"])
    for r in sim.org.roles:
        if r.id == request.path_params["role_id"]:
            return r
    raise not_found("Role not found.")


def h_role(request: Request, sim: Simulator, key: ApiKey) -> Response:
    return json_response(_role_json(_role_or_404(sim, request)))


def h_role_permissions(request: Request, sim: Simulator, key: ApiKey) -> Response:
    role = _role_or_404(sim, request)
    items = list(enumerate(role.permissions))
    return _page_b(request, items, lambda p: (p[0],), "perms:" + role.id, 500, 1000, lambda p: dict(p[1]))


def h_settings(request: Request, sim: Simulator, key: ApiKey) -> Response:
    ident = request.path_params["org"]
    unit = sim.org.resolve_org(ident)
    if unit is None or unit.kind == "parent" or ident != unit.uuid:
        raise not_found(f"organization `{ident}` not found in this organization's hierarchy")
    keys = [{"type": "compliance_api_key", "id": k.id, "name": k.name, "scopes": list(k.scopes),
             "is_active": k.is_active, "created_at": ts_z(k.created_at), "created_by_id": k.created_by_id,
             "expires_at": ts_z(k.expires_at) if k.expires_at is not None else None}
            for k in sorted(sim.keys.all(), key=lambda k: (k.created_at, k.id)) if k.kind == "compliance"]
    with sim.org.lock:  # state is computed at read time
        rows = json.loads(json.dumps(sim.org.settings[unit.uuid]))
    return json_response({"type": "effective_organization_settings", "organization_id": unit.uuid,
                          "settings": rows, "api_keys": keys})


def _group_json(g) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "description": g.description, "source_type": g.source_type,
            "roles": g.roles, "created_at": ts_naive(g.created),
            "updated_at": ts_naive(g.updated) if g.updated is not None else None}


def h_groups(request: Request, sim: Simulator, key: ApiKey) -> Response:
    prefix = Query(request).one("name_prefix")
    groups = [g for g in sim.org.groups if not prefix or g.name.startswith(prefix)]
    return _page_b(request, groups, lambda g: (g.created, g.id), "groups:" + (prefix or ""), 500, 1000, _group_json)


def _group_or_404(sim: Simulator, group_id: str):
    for g in sim.org.groups:
        if g.id == group_id:
            return g
    raise not_found("Group not found.")


def h_group(request: Request, sim: Simulator, key: ApiKey) -> Response:
    return json_response(_group_json(_group_or_404(sim, request.path_params["group_id"])))


def h_group_members(request: Request, sim: Simulator, key: ApiKey) -> Response:
    g = _group_or_404(sim, request.path_params["group_id"])
    users = sim.org.users
    return _page_b(request, g.members, lambda m: (m[1], users[m[0]].id), "members:" + g.id, 500, 1000,
                   lambda m: {"user_id": users[m[0]].id, "email": users[m[0]].email,
                              "created_at": ts_naive(m[1]), "updated_at": None})


# ------------------------------------------------------------------------------------- chats
def _chat_cursor(name: str, raw: str, order_by: str) -> tuple[float, str]:
    decoded = _unb64(raw)
    if not isinstance(decoded, dict) or not {"k", "t", "id"} <= set(decoded):
        raise bad_request(f"Invalid `{name}`. No chat found for `{name}` \"{raw}\"")
    if decoded["k"] != order_by:
        raise bad_request(f"Invalid `{name}`: the cursor was issued for order_by={decoded['k']} and cannot be "
                          f"used with order_by={order_by}.")
    try:
        return datetime.fromisoformat(decoded["t"]).timestamp(), str(decoded["id"])
    except (TypeError, ValueError):
        raise bad_request(f"Invalid `{name}`. No chat found for `{name}` \"{raw}\"") from None


def _mint_chat_cursor(c: Chat, order_by: str) -> str:
    t = c.created if order_by == "created_at" else c.updated
    return _b64({"k": order_by, "t": datetime.fromtimestamp(t, timezone.utc).isoformat(), "id": c.uuid})


def h_chats(request: Request, sim: Simulator, key: ApiKey) -> Response:
    q = Query(request)
    limit = q.limit(100, 1000)
    user_ids = q.many("user_ids")
    project_ids = q.many("project_ids")
    order_by = q.one("order_by") or "created_at"
    after_id, before_id = q.one("after_id"), q.one("before_id")
    if order_by not in ("created_at", "updated_at"):
        raise bad_request(f"Invalid `order_by` value \"{order_by}\". Expected one of: created_at, updated_at.")
    if len(user_ids) > 10:
        raise bad_request(f"`user_ids[]` accepts between 1 and 10 values. Got {len(user_ids)}.")
    if project_ids and not user_ids:
        raise bad_request("`project_ids[]` can only be used together with `user_ids[]`.")
    if after_id and before_id:
        raise bad_request("Only one of `after_id` and `before_id` may be provided.")
    created, updated = q.times("created_at"), q.times("updated_at")
    if user_ids:
        if order_by == "updated_at":
            raise bad_request("`order_by=updated_at` is only supported for organization-wide queries "
                              "(without `user_ids[]`).")
        if updated:
            raise bad_request("`updated_at` filters cannot be combined with `user_ids[]`; user-filtered queries "
                              "are ordered by `created_at`.")
    else:
        if before_id:
            raise bad_request("`before_id` is only supported together with `user_ids[]`; organization-wide "
                              "queries can only be paged forward with `after_id`.")
        if order_by == "created_at" and updated:
            raise bad_request("`updated_at` filters require `order_by=updated_at` on organization-wide queries.")
        if order_by == "updated_at" and created:
            raise bad_request("`created_at` filters require `order_by=created_at` on organization-wide queries.")
    orgs = q.many("organization_ids")
    org_ok = not orgs or any((u := sim.org.resolve_org(o)) is not None and u.kind in ("claude_ai", "parent")
                             for o in orgs)
    chats, keys = sim.sorted_chats(order_by)
    bounds = created if order_by == "created_at" else updated
    if user_ids or project_ids or bounds or not org_ok:
        uidx = {sim.org.users_by_id[u].idx for u in user_ids if u in sim.org.users_by_id}
        pset = set(project_ids)
        sel = [i for i, c in enumerate(chats)
               if org_ok and (not user_ids or c.user in uidx) and (not pset or c.project in pset)
               and in_range(keys[i][0], bounds)]
    else:
        sel = None
    positions = sel if sel is not None else range(len(chats))
    pos_keys = [keys[i] for i in sel] if sel is not None else keys
    if after_id:
        start = bisect.bisect_right(pos_keys, _chat_cursor("after_id", after_id, order_by))
        picked = list(positions[start:start + limit])
        has_more = start + limit < len(positions)
    elif before_id:
        end = bisect.bisect_left(pos_keys, _chat_cursor("before_id", before_id, order_by))
        begin = max(0, end - limit)
        picked = list(positions[begin:end])
        has_more = begin > 0
    else:
        picked = list(positions[:limit])
        has_more = limit < len(positions)
    page = [chats[i] for i in picked]
    return json_response({"data": [sim.chat_json(c) for c in page], "has_more": has_more,
                          "first_id": _mint_chat_cursor(page[0], order_by) if page else None,
                          "last_id": _mint_chat_cursor(page[-1], order_by) if page else None})


def _truncate(msg: dict[str, Any], result_cap: int, input_cap: int) -> dict[str, Any]:
    blocks = msg["content"]
    if not any(b["type"] in ("tool_use", "tool_result") for b in blocks):
        return msg
    out = dict(msg)
    new_blocks = []
    for b in blocks:
        if b["type"] == "tool_use" and len(b["input"]) > input_cap:
            b = {**b, "input": b["input"][:input_cap], "truncated": True}
        elif b["type"] == "tool_result" and any(len(c.get("text", "")) > result_cap for c in b["content"]):
            b = {**b, "truncated": True,
                 "content": [{**c, "text": c["text"][:result_cap]} if len(c.get("text", "")) > result_cap else c
                             for c in b["content"]]}
        new_blocks.append(b)
    out["content"] = new_blocks
    return out


def h_messages(request: Request, sim: Simulator, key: ApiKey) -> Response:
    chat_id = request.path_params["chat_id"]
    chat = sim.org.chat(chat_id)
    if chat is None:
        raise not_found(f"Chat {chat_id} not found.")
    q = Query(request)
    limit = q.limit(None, 1000)
    order = q.one("order") or "asc"
    if order not in ("asc", "desc"):
        raise bad_request(f"Invalid `order` value \"{order}\". Expected one of: asc, desc.")
    after_id, before_id = q.one("after_id"), q.one("before_id")
    if after_id and before_id:
        raise bad_request("Only one of `after_id` and `before_id` may be provided.")
    result_cap = q.int_param("tool_result_max_chars", sim.tool_max_chars_default)
    input_cap = q.int_param("tool_use_input_max_chars", sim.tool_max_chars_default)
    result_cap = TOOL_MAX_CHARS_SERVER if result_cap == -1 else min(result_cap, TOOL_MAX_CHARS_SERVER)
    input_cap = TOOL_MAX_CHARS_SERVER if input_cap == -1 else min(input_cap, TOOL_MAX_CHARS_SERVER)
    created, updated = q.times("created_at"), q.times("updated_at")
    msgs = [m for m, _ in sim.org.content.chat_messages(chat)]
    if chat.deleted is not None and sim.deleted_chats == "emptied":
        msgs = []
    if created or updated:
        msgs = [m for m in msgs if in_range(parse_rfc3339("created_at", m["created_at"]), created)
                and in_range(parse_rfc3339("created_at", m["created_at"]), updated)]
    if order == "desc":
        msgs = msgs[::-1]
    index = {m["id"]: i for i, m in enumerate(msgs)}
    start, end = 0, len(msgs)
    for name, raw in (("after_id", after_id), ("before_id", before_id)):
        if raw:
            decoded = _unb64(raw)
            mid = decoded.get("msg_uuid") if isinstance(decoded, dict) else None
            if mid not in index:
                raise bad_request(f"Invalid `{name}`. No message found for `{name}` \"{raw}\"")
            if name == "after_id":
                start = index[mid] + 1
            else:
                end = index[mid]
    if limit is None:
        page, has_more = msgs[start:end], False
    elif before_id:
        begin = max(start, end - limit)
        page, has_more = msgs[begin:end], begin > start
    else:
        page, has_more = msgs[start:min(end, start + limit)], start + limit < end
    body = sim.chat_json(chat)
    body["chat_messages"] = [_truncate(m, result_cap, input_cap) for m in page]
    body["has_more"] = has_more
    body["first_id"] = _b64({"msg_uuid": page[0]["id"]}) if page else None
    body["last_id"] = _b64({"msg_uuid": page[-1]["id"]}) if page else None
    return json_response(body)


def h_chat_delete(request: Request, sim: Simulator, key: ApiKey) -> Response:
    chat_id = request.path_params["chat_id"]
    if not sim.org.hard_delete_chat(chat_id, _api_actor(request, key)):
        raise not_found(f"Chat {chat_id} not found.")
    return json_response({"id": chat_id, "type": "claude_chat_deleted"})


def _api_actor(request: Request, key: ApiKey) -> tuple:
    return ("api", key.id, request.client.host if request.client else "127.0.0.1",
            request.headers.get("user-agent", ""))


# ------------------------------------------------------------------------------------- files
def _file_meta(sim: Simulator, f: FileObj) -> dict[str, Any]:
    size, md5 = sim.org.content.file_info(f)
    chat_ids, msg_ids = [], []
    if f.chat is not None:
        chat = sim.org.chats[f.chat]
        turn = chat.turns[f.turn]
        chat_ids = [chat.id]
        msg_ids = [sim.org.content.message_id(chat, turn, "user" if turn.kind == "gen" else turn.explicit["role"])]
    return {"id": f.id, "filename": f.filename, "mime_type": f.mime, "size_bytes": size, "md5": md5,
            "created_at": ts_z(f.created), "message_ids": msg_ids, "claude_chat_ids": chat_ids}


def _download(sim: Simulator, f: FileObj) -> Response:
    size, md5 = sim.org.content.file_info(f)
    headers = {"content-type": f.mime or "application/octet-stream",
               "content-disposition": "attachment; filename*=utf-8''" + quote(f.filename, safe=""),
               "content-md5": base64.b64encode(bytes.fromhex(md5)).decode()}
    return StreamingResponse(sim.org.content.file_chunks(f), headers=headers)


def h_file_meta(request: Request, sim: Simulator, key: ApiKey) -> Response:
    f = sim.org.file(request.path_params["file_id"])
    if f is None:
        raise not_found(MSG_FILE_404)
    return json_response(_file_meta(sim, f))


def h_file_content(request: Request, sim: Simulator, key: ApiKey) -> Response:
    f = sim.org.file(request.path_params["file_id"])
    if f is None:
        raise not_found(MSG_FILE_404)
    return _download(sim, f)


def h_file_delete(request: Request, sim: Simulator, key: ApiKey) -> Response:
    fid = request.path_params["file_id"]
    if not sim.org.hard_delete_file(fid, _api_actor(request, key)):
        raise not_found(MSG_FILE_404)
    return json_response({"id": fid, "type": "claude_file_deleted"})


def h_gen_meta(request: Request, sim: Simulator, key: ApiKey) -> Response:
    f = sim.org.file(request.path_params["file_id"], ("generated",))
    if f is None:
        raise not_found(MSG_FILE_404)
    size, md5 = sim.org.content.file_info(f)
    return json_response({"id": f.id, "claude_chat_id": sim.org.chats[f.chat].id, "created_at": ts_z(f.created),
                          "filename": f.filename, "md5": md5, "mime_type": f.mime, "size_bytes": size})


def h_gen_content(request: Request, sim: Simulator, key: ApiKey) -> Response:
    f = sim.org.file(request.path_params["file_id"], ("generated",))
    if f is None:
        raise not_found(MSG_FILE_404)
    return _download(sim, f)


def _artifact_or_404(sim: Simulator, version_id: str):
    a = sim.org.artifact(version_id)
    if a is None:
        raise not_found("No artifact version found with provided id.")
    return a


def h_artifact_meta(request: Request, sim: Simulator, key: ApiKey) -> Response:
    a = _artifact_or_404(sim, request.path_params["version_id"])
    sim.org.content.artifact(a)
    return json_response({"id": a.artifact_id, "version_id": a.version_id, "artifact_type": a.artifact_type,
                          "claude_chat_id": sim.org.chats[a.chat].id, "created_at": ts_z(a.created),
                          "md5": a.md5, "size_bytes": a.size, "title": a.title})


def h_artifact_content(request: Request, sim: Simulator, key: ApiKey) -> Response:
    a = _artifact_or_404(sim, request.path_params["version_id"])
    raw = sim.org.content.artifact(a)[0].encode()
    media = "text/markdown" if a.artifact_type == "text/markdown" else "text/plain"
    return Response(raw, media_type=f"{media}; charset=utf-8",
                    headers={"content-md5": base64.b64encode(hashlib.md5(raw).digest()).decode()})


# ------------------------------------------------------------------------------------- projects
def h_projects(request: Request, sim: Simulator, key: ApiKey) -> Response:
    q = Query(request)
    created, updated = q.times("created_at"), q.times("updated_at")
    users = set(q.many("user_ids"))
    orgs = q.many("organization_ids")
    org_ok = not orgs or any((u := sim.org.resolve_org(o)) is not None and u.kind in ("claude_ai", "parent")
                             for o in orgs)
    uidx = {sim.org.users_by_id[u].idx for u in users if u in sim.org.users_by_id}
    items = [p for p in sim.org.projects if not p.hard_deleted and org_ok and in_range(p.created, created)
             and in_range(p.updated, updated) and (not users or p.user in uidx)]
    tag = "projects:" + hashlib.sha1(json.dumps([created, updated, sorted(users), sorted(orgs)]).encode()).hexdigest()[:12]
    return _page_b(request, items, lambda p: (p.created, p.id), tag, 20, 100, sim.project_json)


def _project_or_404(sim: Simulator, project_id: str):
    p = sim.org.project(project_id)
    if p is None:
        raise not_found(MSG_PROJECT_404)
    return p


def h_project(request: Request, sim: Simulator, key: ApiKey) -> Response:
    return json_response(sim.project_json(_project_or_404(sim, request.path_params["project_id"]), detail=True))


def h_project_delete(request: Request, sim: Simulator, key: ApiKey) -> Response:
    pid = request.path_params["project_id"]
    result = sim.org.hard_delete_project(pid, _api_actor(request, key))
    if result == "missing":
        raise not_found(MSG_PROJECT_404)
    if result == "has_chats":
        raise ApiError(409, "conflict_error", f"The \"{pid}\" project cannot be deleted as it has chats attached to it. "
                                              "Delete or detach all chats, and try deleting the project again.")
    return json_response({"id": pid, "type": "claude_project_deleted"})


def h_attachments(request: Request, sim: Simulator, key: ApiKey) -> Response:
    p = _project_or_404(sim, request.path_params["project_id"])
    return _page_b(request, sim.attachments(p), lambda a: (a["_t"], a["id"]), "att:" + p.id, 20, 100,
                   lambda a: {k: v for k, v in a.items() if k != "_t"})


def h_collaborators(request: Request, sim: Simulator, key: ApiKey) -> Response:
    p = _project_or_404(sim, request.path_params["project_id"])
    items = list(enumerate(p.collaborators))
    return _page_b(request, items, lambda c: (c[1]["granted_at"], c[0]), "collab:" + p.id, 20, 100,
                   lambda c: {**c[1], "granted_at": ts_z(c[1]["granted_at"])})


def _doc_or_404(sim: Simulator, doc_id: str):
    d = sim.org.doc(doc_id)
    if d is None:
        raise not_found(MSG_DOC_404)
    return d


def h_doc(request: Request, sim: Simulator, key: ApiKey) -> Response:
    d = _doc_or_404(sim, request.path_params["doc_id"])
    content = sim.org.content.doc(d)[0]
    return json_response({"id": d.id, "content": content, "created_at": ts_z(d.created), "filename": d.filename,
                          "user": sim.user_ref(d.user)})


def h_doc_meta(request: Request, sim: Simulator, key: ApiKey) -> Response:
    d = _doc_or_404(sim, request.path_params["doc_id"])
    raw = sim.org.content.doc(d)[0].encode()
    return json_response({"id": d.id, "claude_project_id": sim.org.projects[d.project].id,
                          "created_at": ts_z(d.created), "filename": d.filename, "md5": hashlib.md5(raw).hexdigest(),
                          "mime_type": "text/plain", "size_bytes": len(raw), "user": sim.user_ref(d.user)})


def h_doc_delete(request: Request, sim: Simulator, key: ApiKey) -> Response:
    did = request.path_params["doc_id"]
    if not sim.org.hard_delete_doc(did, _api_actor(request, key)):
        raise not_found(MSG_DOC_404)
    return json_response({"id": did, "type": "claude_project_document_deleted"})


__all__ = ["build_app", "Simulator", "SimulatedDisconnect", "READ_SCOPES"]
