"""Leases: one scan at a time per organization, run type and lake, across processes and hosts.

A lease is a small JSON file on the lake (``_leases/<org>/<name>.json``), so it works
wherever the lake is (a local folder or any fsspec store). Its holder renews it every
``ttl / 3`` seconds from a background thread; a holder that dies (``kill -9``, a lost machine)
stops renewing and the lease expires after ``ttl``, or at once when the holder was a process
of this host that no longer exists.

Taking a lease: read the file; if a live holder has it, wait (or give up with ``LeaseHeld``);
otherwise write ours and read it back after a short pause, so two takers racing on an object
store (which has no create-if-absent) see a single winner. On a local disk the read-check-write
runs under an ``flock`` as well.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from vigil.lake.storage import LakeStorage

log = logging.getLogger(__name__)

LEASE_DIR = "_leases"
DEFAULT_TTL = 90.0
_SETTLE = (0.05, 0.25)  # seconds between writing a lease and reading it back


class LeaseHeld(RuntimeError):
    """Another live process holds the lease; the message says who and since when."""

    def __init__(self, name: str, holder: dict[str, Any]):
        since = holder.get("acquired_at", "?")
        run = holder.get("run_id") or "?"
        super().__init__(f"{name} is held by {holder.get('host', '?')} pid {holder.get('pid', '?')} "
                         f"(run {run}, since {since}); wait for it to finish or pass --wait")
        self.holder = holder


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LeaseInfo:
    """What a lease file says about its holder."""

    data: dict[str, Any]

    def live(self, now: float) -> bool:
        """Held by someone alive: not expired, and not a vanished process of this host."""
        if float(self.data.get("expires", 0)) <= now:
            return False
        if self.data.get("host") == socket.gethostname():
            return pid_alive(int(self.data.get("pid", 0)))
        return True


class Lease:
    """A named lease on a lake (see module docstring). Use ``acquire`` as a context manager."""

    def __init__(self, storage: LakeStorage, name: str, *, org_id: str | None = None,
                 ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time):
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.storage = storage
        self.name = name
        parts = [LEASE_DIR] + ([org_id] if org_id else []) + [f"{name}.json"]
        self.path = storage.path(*parts)
        self.ttl = ttl
        self.clock = clock
        self.token = uuid.uuid4().hex
        self.previous: dict[str, Any] | None = None  # the stale holder we replaced, if any
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_id: str | None = None

    # -- reading -------------------------------------------------------------------------------
    def read(self) -> LeaseInfo | None:
        data = self.storage.read_bytes(self.path)
        if data is None:
            return None
        try:
            parsed = json.loads(data)
        except ValueError:
            return None  # a torn or foreign file: treat as free
        return LeaseInfo(parsed) if isinstance(parsed, dict) else None

    def _ours(self, expires: float) -> bytes:
        return json.dumps({
            "token": self.token, "host": socket.gethostname(), "pid": os.getpid(),
            "run_id": self._run_id, "expires": expires,
            "acquired_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }).encode()

    # -- taking and giving back ----------------------------------------------------------------
    def try_acquire(self, run_id: str | None = None) -> bool:
        """Take the lease if nobody live holds it; True on success."""
        self._run_id = run_id
        with self._local_mutex():
            current = self.read()
            if current is not None and current.data.get("token") != self.token and current.live(self.clock()):
                return False
            self.previous = current.data if current is not None else None
            self.storage.write_bytes_atomic(self.path, self._ours(self.clock() + self.ttl))
        time.sleep(random.uniform(*_SETTLE))
        check = self.read()
        return check is not None and check.data.get("token") == self.token

    def acquire_or_raise(self, run_id: str | None = None, wait: float = 0.0,
                         poll: float = 2.0) -> None:
        """Take the lease, waiting up to ``wait`` seconds; raise ``LeaseHeld`` otherwise."""
        deadline = time.monotonic() + wait
        while not self.try_acquire(run_id):
            holder = self.read()
            if time.monotonic() >= deadline:
                raise LeaseHeld(self.name, holder.data if holder else {})
            time.sleep(min(poll, max(deadline - time.monotonic(), 0.05)))
        self._start_heartbeat()

    def release(self) -> None:
        """Stop renewing and remove the lease file if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._local_mutex():
            current = self.read()
            if current is not None and current.data.get("token") == self.token:
                self.storage.remove([self.path])

    @contextlib.contextmanager
    def held(self, run_id: str | None = None, wait: float = 0.0) -> Iterator["Lease"]:
        """``with lease.held(run_id):`` — acquire (or raise ``LeaseHeld``), release on exit."""
        self.acquire_or_raise(run_id, wait)
        try:
            yield self
        finally:
            self.release()

    # -- renewal -------------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                current = self.read()
                if current is None or current.data.get("token") != self.token:
                    self.lost = True
                    log.error("lease %s was taken over by another process; this run continues but "
                              "is no longer exclusive", self.name)
                    return
                self.storage.write_bytes_atomic(self.path, self._ours(self.clock() + self.ttl))
            except OSError as exc:  # a storage hiccup: try again on the next beat
                log.warning("could not renew lease %s (%s)", self.name, type(exc).__name__)

    @contextlib.contextmanager
    def _local_mutex(self) -> Iterator[None]:
        """An flock around read-check-write on local disks (object stores rely on read-back)."""
        if not self.storage.is_local:
            yield
            return
        import fcntl  # noqa: PLC0415 - POSIX only, local lakes only

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
