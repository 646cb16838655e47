"""Scripted failures on top of the simulator: outages and objects that keep failing.

``Faults`` (vigil.simulator.faults) draws failures at random per request; a fault suite also
needs failures it can place: a whole-API outage of a given length starting at a given request,
and one object whose content endpoint always fails (HTTP 500) or whose ``Content-MD5`` never
matches. ``Chaos`` wraps the simulator's ASGI app::

    chaos = Chaos(build_app(org))
    chaos.outage(after_requests=40, seconds=120)         # every API call gets 503 for 2 minutes
    chaos.fail_object("claude_file_01…", "md5")           # its downloads never verify
    with SimulatorServer(chaos) as base_url: ...

Only ``/v1/compliance`` calls are affected (admin endpoints keep working); ``requests`` counts
the API calls seen, ``log`` keeps (arrival time, path, status) of each for rate measurements.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/v1/compliance"
OBJECT_FAULTS = ("500", "md5")


@dataclass
class _Outage:
    after_requests: int
    seconds: float
    status: int
    started: float | None = None


class Chaos:
    """ASGI middleware (see module docstring). Thread-safe; rules can change while serving."""

    def __init__(self, app: Any, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.clock = clock
        self.requests = 0
        self.log: list[tuple[float, str, int]] = []
        self._outages: list[_Outage] = []
        self._objects: dict[str, list] = {}  # object id -> [fault, remaining or None]
        self._lock = threading.Lock()

    # -- rules ---------------------------------------------------------------------------------
    def outage(self, after_requests: int = 0, seconds: float = 120.0, status: int = 503) -> None:
        """From the ``after_requests``-th API call on, answer every call with ``status`` for
        ``seconds`` seconds."""
        with self._lock:
            self._outages.append(_Outage(after_requests, seconds, status))

    def fail_object(self, object_id: str, fault: str = "500", times: int | None = None) -> None:
        """Make requests naming ``object_id`` fail (``500``) or return a wrong ``Content-MD5``
        (``md5``), ``times`` times or until ``heal``."""
        if fault not in OBJECT_FAULTS:
            raise ValueError(f"fault must be one of {OBJECT_FAULTS}")
        with self._lock:
            self._objects[object_id] = [fault, times]

    def heal(self, object_id: str | None = None) -> None:
        """Remove object faults (all, or one) and outages (when ``object_id`` is None)."""
        with self._lock:
            if object_id is None:
                self._objects.clear()
                self._outages.clear()
            else:
                self._objects.pop(object_id, None)

    def object_requests(self, object_id: str) -> int:
        """How many API calls named ``object_id`` so far."""
        with self._lock:
            return sum(1 for _t, path, _s in self.log if object_id in path)

    # -- serving -------------------------------------------------------------------------------
    def _decide(self, path: str) -> tuple[int | None, str | None]:
        with self._lock:
            self.requests += 1
            now = self.clock()
            for o in self._outages:
                if o.started is None and self.requests > o.after_requests:
                    o.started = now
                if o.started is not None and now - o.started < o.seconds:
                    return o.status, None
            for object_id, rule in self._objects.items():
                if object_id in path:
                    fault, remaining = rule
                    if remaining is not None:
                        if remaining <= 0:
                            continue
                        rule[1] = remaining - 1
                    return (500, None) if fault == "500" else (None, "md5")
        return None, None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        status, mangle = self._decide(path)
        if status is not None:
            self._record(arrived, path, status)
            await _error(send, status)
            return
        seen: dict[str, int] = {}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                if mangle == "md5":
                    wrong = base64.b64encode(b"\0" * 16)
                    message = dict(message, headers=[(k, wrong if k.lower() == b"content-md5" else v)
                                                     for k, v in message.get("headers", [])])
            await send(message)

        await self.app(scope, receive, send_wrapper)
        self._record(arrived, path, seen.get("status", 0))

    def _record(self, arrived: float, path: str, status: int) -> None:
        with self._lock:
            self.log.append((arrived, path, status))


async def _error(send: Any, status: int) -> None:
    kind = "overloaded_error" if status in (503, 529) else "api_error"
    body = json.dumps({"type": "error", "error": {"type": kind, "message": "injected failure"}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"request-id", f"req_chaos{uuid.uuid4().hex[:16]}".encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
