"""Running the simulator: a uvicorn server on loopback in a background thread
(``SimulatorServer``), and an in-process transport for synchronous httpx clients
(``SyncASGITransport``).

httpx 0.28's ``ASGITransport`` is async-only: a synchronous ``httpx.Client`` cannot use it.
Sync clients either talk to ``SimulatorServer`` (a real socket, the most faithful path: chunked
downloads, dropped connections) or mount ``SyncASGITransport(app)``, which drives the ASGI app
on a private event loop and turns simulated disconnects into ``httpx.RemoteProtocolError``
(raised while reading the body when the headers had been sent, as on a socket).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import httpx
import uvicorn

from vigil.simulator.app import SimulatedDisconnect


class _QuietDisconnects(logging.Filter):
    """Simulated drops are intentional; keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        name = type(exc).__name__
        return not (isinstance(exc, SimulatedDisconnect) or name == "LocalProtocolError")


logging.getLogger("uvicorn.error").addFilter(_QuietDisconnects())


class SimulatorServer:
    """``with SimulatorServer(app) as base_url: ...`` or ``.start()`` / ``.stop()``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator only listens on loopback")
        self.app, self.host, self.port, self.log_level = app, host, port, log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.base_url: str | None = None

    def start(self) -> str:
        """Bind (port 0 picks a free port), start serving, return the base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit this; without it Nagle + delayed ACK add ~40 ms per request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host if self.host != "localhost" else "127.0.0.1", self.port))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self.log_level, access_log=False, lifespan="off",
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="vigil-simulator", daemon=True)
        self._thread.start()
        deadline = 200
        while not self._server.started and deadline and self._thread.is_alive():
            threading.Event().wait(0.025)
            deadline -= 1
        if not self._server.started:
            raise RuntimeError("the simulator server did not start")
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _CutStream(httpx.SyncByteStream):
    """A body whose connection dropped: the bytes that arrived, then the protocol error."""

    def __init__(self, parts: list[bytes], request: httpx.Request):
        self._parts, self._request = parts, request

    def __iter__(self):
        yield from self._parts
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body "
                                        "(incomplete chunked read)", request=self._request)


class SyncASGITransport(httpx.BaseTransport):
    """Serve a synchronous ``httpx.Client`` from an ASGI app in-process (no socket).

    Bodies are buffered. A simulated dropped connection behaves as on a socket: before the
    response head it raises ``httpx.RemoteProtocolError`` at once; after it, the response's
    headers and the bytes sent so far arrive and reading the rest raises the error. A body
    shorter than its declared ``content-length`` raises it too."""

    def __init__(self, app: Any):
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vigil-asgi", daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request), self._loop)
        return future.result()

    async def _call(self, request: httpx.Request) -> httpx.Response:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
                 "headers": [(k.lower(), v) for k, v in request.headers.raw], "scheme": request.url.scheme,
                 "path": request.url.path, "raw_path": request.url.raw_path.split(b"?")[0],
                 "query_string": request.url.query, "server": (request.url.host, request.url.port),
                 "client": ("127.0.0.1", 49152), "root_path": ""}
        done = asyncio.Event()
        delivered = False
        start: dict[str, Any] | None = None
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": request.content, "more_body": False}
            await done.wait()  # the client stays connected until the response is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body" and message.get("body"):
                parts.append(message["body"])

        dropped = False
        try:
            await self.app(scope, receive, send)
        except SimulatedDisconnect:
            dropped = True
        finally:
            done.set()
        if start is None:
            raise httpx.RemoteProtocolError("peer closed connection without sending a response", request=request)
        headers = [(k, v) for k, v in start.get("headers", [])]
        declared = next((v for k, v in headers if k.lower() == b"content-length"), None)
        body = b"".join(parts)
        if declared is None and not any(k.lower() == b"transfer-encoding" for k, _ in headers):
            headers.append((b"transfer-encoding", b"chunked"))
        if dropped or (declared is not None and int(declared) != len(body)):
            stream: httpx.SyncByteStream = _CutStream(parts, request)
        else:
            stream = httpx.ByteStream(body)
        return httpx.Response(start["status"], headers=headers, stream=stream, request=request)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
