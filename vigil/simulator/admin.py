"""Admin endpoints under ``/_admin`` (not part of the Compliance API; no key, no rate limit):
live changes to the org, fault settings and the ground truth.

- ``GET  /_admin/state``                        counts, organization IDs, key IDs, faults
- ``POST /_admin/chats``                        ``{"count": N, "user_id"?}`` generated chats, or
  ``{"user_id"?, "name"?, "messages": [{"text", "role"?, "plants"?: [{"infotype", "value"}]}]}``
- ``POST /_admin/chats/{id}/messages``          ``{"text", "role"?, "plants"?}`` or ``{"turns": N}``
- ``POST /_admin/chats/{id}/files``             ``{"filename"?, "content"? | "content_base64"?, "format"?}``
- ``POST /_admin/chats/{id}/soft_delete``       what a user deleting the chat in claude.ai does
- ``GET|POST /_admin/faults``                   read or replace the fault settings
- ``POST /_admin/rpm``                          ``{"rpm": N}`` change the rate limit
- ``GET  /_admin/ground_truth?kinds=all``       JSON Lines, one planted value per line
  (``kinds``: ``chats``, ``sessions`` or ``all``)

Sessions, code artifacts and posture (message specs: ``{"role"?, "text"?, "tool_use"?: {"name",
"input"}, "tool_result"?: {"name", "text", "is_error"?}, "plants"?: [{"infotype", "value"}]}``):

- ``POST /_admin/local_sessions``               ``{"count"?, "user_id"?, "surface"?}`` or ``{"messages": [...], ...}``
- ``POST /_admin/local_sessions/{id}/messages``  ``{"messages": [...]}``: one new inference call
- ``POST /_admin/local_sessions/{id}/retention_error``  ``{"failing": bool}``: the persistent 503
- ``POST /_admin/local_sessions/switches``       ``{"available"?: bool, "list_retention_error"?: bool}``
- ``POST /_admin/remote_sessions``              ``{"count"?, "user_id"?, "agent"?, "status"?, "project_id"?, "messages"?}``
- ``POST /_admin/remote_sessions/{id}/messages`` ``{"messages": [...]}``
- ``POST /_admin/remote_sessions/{id}/status``   ``{"status"}`` (a pending session that starts gets its transcript)
- ``POST /_admin/code_artifacts``               ``{"user_id"?, "read_mode"?, "name"?, "content"?, "plants"?, "mime_type"?}``
- ``POST /_admin/code_artifacts/{id}/versions`` ``{"content"?, "plants"?, "name"?, "read_mode"?, "upload_seconds"?,
  "abandoned"?, "encoding"?, "oversize"?, "mime_type"?}``
- ``POST /_admin/code_artifacts/{id}/read_mode`` ``{"read_mode"}``
- ``POST /_admin/settings``                     ``{"organization_id"?, "settings": {name: value}, "types"?: {name: type}}``
- ``POST /_admin/api_keys``                     ``{"name"?, "scopes"?, "secret"?}``: a new Compliance Access Key
- ``POST /_admin/api_keys/{id}/deactivate``     the key is refused from the next request on
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from vigil.simulator.auth import COMPLIANCE_PREFIX, READ_SCOPES, make_key
from vigil.simulator.faults import Faults
from vigil.simulator.org import ground_truth_kinds


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _err(message: str, status: int = 400) -> Response:
    return _json({"type": "error", "error": {"type": "invalid_request_error" if status == 400 else "not_found_error",
                                             "message": message}}, status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _plants(spec: Any) -> list[tuple[str, str]]:
    return [(p["infotype"], p["value"]) for p in spec or ()]


def _messages(spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, list):
        raise ValueError("messages must be a list")
    return [{**m, "plants": _plants(m.get("plants"))} for m in spec]


def _count(body: dict[str, Any], limit: int = 1000) -> int:
    count = int(body.get("count", 1))
    if not 1 <= count <= limit:
        raise ValueError(f"count must be between 1 and {limit}")
    return count


def admin_routes(sim) -> list[Route]:
    org = sim.org

    def guarded(fn):
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except KeyError as e:
                return _err(str(e.args[0]) if e.args else "not found", 404)
            except (ValueError, TypeError, binascii.Error) as e:
                return _err(str(e))
        return endpoint

    async def state(request: Request) -> Response:
        return _json({
            "organizations": {"parent": org.parent.uuid, "claude_ai": org.claude_org.uuid,
                              "console": org.console_org.uuid},
            "users": len(org.users), "chats": sum(1 for _ in org.live_chats()), "projects": len(org.projects),
            "files": len(org.files), "artifact_versions": len(org.artifacts), "activities": len(org.activities),
            "local_sessions": len(org.local_sessions), "remote_sessions": len(org.remote_sessions),
            "code_artifacts": sum(1 for a in org.code_artifacts if not a.deleted),
            "local_sessions_available": sim.local_sessions_available,
            "keys": [{"id": k.id, "scopes": list(k.scopes)} for k in sim.keys.all()],
            "rpm": sim.limiter.rpm, "faults": sim.faults.as_dict(), "version": org.version})

    async def chats(request: Request) -> Response:
        body = await _body(request)
        if "messages" in body:
            cid = org.add_chat(user=body.get("user_id"), name=body.get("name"), project_id=body.get("project_id"),
                               messages=[{"text": m["text"], "role": m.get("role", "user"),
                                          "plants": _plants(m.get("plants"))} for m in body["messages"]])
            return _json({"chat_ids": [cid]}, 201)
        count = int(body.get("count", 1))
        if not 1 <= count <= 10000:
            raise ValueError("count must be between 1 and 10000")
        return _json({"chat_ids": org.add_generated_chats(count, user=body.get("user_id"))}, 201)

    async def messages(request: Request) -> Response:
        body = await _body(request)
        cid = request.path_params["chat_id"]
        if "text" in body:
            mid = org.add_message(cid, body["text"], role=body.get("role", "user"), plants=_plants(body.get("plants")))
            return _json({"message_ids": [mid]}, 201)
        return _json({"message_ids": org.add_turns(cid, int(body.get("turns", 1)))}, 201)

    async def files(request: Request) -> Response:
        body = await _body(request)
        data = None
        if "content_base64" in body:
            data = base64.b64decode(body["content_base64"], validate=True)
        elif "content" in body:
            data = body["content"].encode()
        plants = [(p["locator"], p["infotype"], p["value"]) for p in body.get("plants", ())]
        fid = org.add_file(request.path_params["chat_id"], filename=body.get("filename"), data=data,
                           fmt=body.get("format"), mime_type=body.get("mime_type"), plants=plants)
        return _json({"file_id": fid}, 201)

    async def soft_delete(request: Request) -> Response:
        cid = request.path_params["chat_id"]
        org.soft_delete_chat(cid)
        return _json({"id": cid, "deleted_at": sim.chat_json(org.chat(cid))["deleted_at"]})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            sim.faults = Faults.from_dict(await _body(request))
        return _json(sim.faults.as_dict())

    async def rpm(request: Request) -> Response:
        value = int((await _body(request))["rpm"])
        if value < 1:
            raise ValueError("rpm must be at least 1")
        sim.limiter.rpm = value
        return _json({"rpm": value})

    async def ground_truth(request: Request) -> Response:
        kinds = ground_truth_kinds(request.query_params.get("kinds", "all"))

        def lines():
            for row in org.ground_truth(kinds):
                yield (json.dumps(row.as_dict(), ensure_ascii=False) + "\n").encode()
        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def local_sessions(request: Request) -> Response:
        body = await _body(request)
        kw = {"user": body.get("user_id"), "surface": body.get("surface", "claude_code")}
        if "messages" in body:
            return _json({"session_ids": [org.add_local_session(messages=_messages(body["messages"]), **kw)]}, 201)
        return _json({"session_ids": [org.add_local_session(**kw) for _ in range(_count(body))]}, 201)

    async def local_messages(request: Request) -> Response:
        body = await _body(request)
        ids = org.add_local_session_messages(request.path_params["session_id"], _messages(body.get("messages")))
        return _json({"message_ids": ids}, 201)

    async def local_retention_error(request: Request) -> Response:
        failing = bool((await _body(request)).get("failing", True))
        org.set_local_session_retention_error(request.path_params["session_id"], failing)
        return _json({"id": request.path_params["session_id"], "retention_error": failing})

    async def local_switches(request: Request) -> Response:
        body = await _body(request)
        if "available" in body:
            sim.local_sessions_available = bool(body["available"])
        if "list_retention_error" in body:
            sim.local_list_retention_error = bool(body["list_retention_error"])
        return _json({"available": sim.local_sessions_available,
                      "list_retention_error": sim.local_list_retention_error})

    async def remote_sessions(request: Request) -> Response:
        body = await _body(request)
        kw = {"user": body.get("user_id"), "agent": bool(body.get("agent", False)),
              "status": body.get("status", "active"), "project_id": body.get("project_id")}
        if "messages" in body:
            return _json({"session_ids": [org.add_remote_session(messages=_messages(body["messages"]), **kw)]}, 201)
        return _json({"session_ids": [org.add_remote_session(**kw) for _ in range(_count(body))]}, 201)

    async def remote_messages(request: Request) -> Response:
        body = await _body(request)
        ids = org.add_remote_session_messages(request.path_params["session_id"], _messages(body.get("messages")))
        return _json({"message_ids": ids}, 201)

    async def remote_status(request: Request) -> Response:
        status = (await _body(request)).get("status")
        org.set_remote_session_status(request.path_params["session_id"], status)
        return _json({"id": request.path_params["session_id"], "status": status})

    async def code_artifacts(request: Request) -> Response:
        body = await _body(request)
        aid, vid = org.add_code_artifact(user=body.get("user_id"), read_mode=body.get("read_mode", "org"),
                                         content=body.get("content"), plants=_plants(body.get("plants")),
                                         name=body.get("name"), mime=body.get("mime_type"))
        return _json({"artifact_id": aid, "version_id": vid}, 201)

    async def code_versions(request: Request) -> Response:
        body = await _body(request)
        aid = request.path_params["artifact_id"]
        vid = org.add_code_artifact_version(
            aid, content=body.get("content"), plants=_plants(body.get("plants")), name=body.get("name"),
            read_mode=body.get("read_mode"), upload_seconds=float(body.get("upload_seconds", 0)),
            abandoned=bool(body.get("abandoned", False)), encoding=body.get("encoding", "identity"),
            oversize=bool(body.get("oversize", False)), mime=body.get("mime_type"))
        return _json({"artifact_id": aid, "version_id": vid, "read_mode": org.code_artifact(aid).read_mode}, 201)

    async def code_read_mode(request: Request) -> Response:
        mode = (await _body(request)).get("read_mode")
        org.set_code_artifact_read_mode(request.path_params["artifact_id"], mode)
        return _json({"artifact_id": request.path_params["artifact_id"], "read_mode": mode})

    async def settings(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body.get("settings"), dict) or not body["settings"]:
            raise ValueError("settings must be a non-empty object of name: value")
        updates = org.update_settings(body["settings"], body.get("organization_id"), body.get("types"))
        return _json({"updates": updates})

    async def api_keys(request: Request) -> Response:
        body = await _body(request)
        secret = body.get("secret") or COMPLIANCE_PREFIX + os.urandom(24).hex() + "AA"
        if not secret.startswith(COMPLIANCE_PREFIX):
            raise ValueError(f"a Compliance Access Key starts with {COMPLIANCE_PREFIX}")
        key = make_key(secret, body.get("scopes") or READ_SCOPES, body.get("name") or "Compliance key")
        key.created_at, key.created_by_id = org.tick(), org.users[0].id
        sim.keys.add(key)
        return _json({"id": key.id, "secret": key.secret, "scopes": list(key.scopes), "name": key.name}, 201)

    async def deactivate_key(request: Request) -> Response:
        key = sim.keys.get(request.path_params["key_id"])
        if key is None:
            raise KeyError("no such key")
        key.is_active = False
        return _json({"id": key.id, "is_active": False})

    return [
        Route("/_admin/state", guarded(state)),
        Route("/_admin/local_sessions", guarded(local_sessions), methods=["POST"]),
        Route("/_admin/local_sessions/switches", guarded(local_switches), methods=["POST"]),
        Route("/_admin/local_sessions/{session_id}/messages", guarded(local_messages), methods=["POST"]),
        Route("/_admin/local_sessions/{session_id}/retention_error", guarded(local_retention_error), methods=["POST"]),
        Route("/_admin/remote_sessions", guarded(remote_sessions), methods=["POST"]),
        Route("/_admin/remote_sessions/{session_id}/messages", guarded(remote_messages), methods=["POST"]),
        Route("/_admin/remote_sessions/{session_id}/status", guarded(remote_status), methods=["POST"]),
        Route("/_admin/code_artifacts", guarded(code_artifacts), methods=["POST"]),
        Route("/_admin/code_artifacts/{artifact_id}/versions", guarded(code_versions), methods=["POST"]),
        Route("/_admin/code_artifacts/{artifact_id}/read_mode", guarded(code_read_mode), methods=["POST"]),
        Route("/_admin/settings", guarded(settings), methods=["POST"]),
        Route("/_admin/api_keys", guarded(api_keys), methods=["POST"]),
        Route("/_admin/api_keys/{key_id}/deactivate", guarded(deactivate_key), methods=["POST"]),
        Route("/_admin/chats", guarded(chats), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/messages", guarded(messages), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/files", guarded(files), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/soft_delete", guarded(soft_delete), methods=["POST"]),
        Route("/_admin/faults", guarded(faults), methods=["GET", "POST"]),
        Route("/_admin/rpm", guarded(rpm), methods=["POST"]),
        Route("/_admin/ground_truth", guarded(ground_truth)),
    ]
