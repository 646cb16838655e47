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
- ``GET  /_admin/ground_truth``                 JSON Lines, one planted value per line
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from vigil.simulator.faults import Faults


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
        def lines():
            for row in org.ground_truth():
                yield (json.dumps(row.as_dict(), ensure_ascii=False) + "\n").encode()
        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return [
        Route("/_admin/state", guarded(state)),
        Route("/_admin/chats", guarded(chats), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/messages", guarded(messages), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/files", guarded(files), methods=["POST"]),
        Route("/_admin/chats/{chat_id}/soft_delete", guarded(soft_delete), methods=["POST"]),
        Route("/_admin/faults", guarded(faults), methods=["GET", "POST"]),
        Route("/_admin/rpm", guarded(rpm), methods=["POST"]),
        Route("/_admin/ground_truth", guarded(ground_truth)),
    ]
