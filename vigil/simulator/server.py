"""Running the simulator: a uvicorn server on loopback in a background thread
(``SimulatorServer``), and an in-process transport for synchronous httpx clients
(``SyncASGITransport``).

httpx 0.28's ``ASGITransport`` is async-only: a synchronous ``httpx.Client`` cannot use it.
Sync clients either talk to ``SimulatorServer`` (a real socket, the most faithful path: chunked
downloads, dropped connections) or mount ``SyncASGITransport(app)``, which drives the ASGI app
on a private event loop and turns simulated disconnects into ``httpx.RemoteProtocolError``.
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


class SyncASGITransport(httpx.BaseTransport):
    """Serve a synchronous ``httpx.Client`` from an ASGI app in-process (no socket).

    Bodies are buffered; a simulated dropped connection or a body shorter than its declared
    ``content-length`` raises ``httpx.RemoteProtocolError`` as a real connection would."""

    def __init__(self, app: Any):
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vigil-asgi", daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request), self._loop)
        return future.result()

    async def _call(self, request: httpx.Request) -> httpx.Response:
        try:
            resp = await self._inner.handle_async_request(request)
            body = b"".join([chunk async for chunk in resp.stream])
        except SimulatedDisconnect as exc:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body",
                                            request=request) from exc
        declared = resp.headers.get("content-length")
        if declared is not None and int(declared) != len(body):
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body "
                                            f"(received {len(body)} bytes, expected {declared})", request=request)
        headers = [(k, v) for k, v in resp.headers.raw]
        if declared is None and not any(k.lower() == b"transfer-encoding" for k, _ in headers):
            headers.append((b"transfer-encoding", b"chunked"))
        return httpx.Response(resp.status_code, headers=headers, stream=httpx.ByteStream(body), request=request,
                              extensions=resp.extensions)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
