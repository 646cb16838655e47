"""One request budget per organization, shared by every vigil process of this host.

The Compliance API allows 600 requests a minute per organization, whichever key and tool sends
them. Each client already keeps its own token bucket (``vigil.api.ratelimit.RateLimiter``); a
forward and a historical scan running at the same time would each spend their own 540 a minute.
``SharedRateLimiter`` adds a second bucket kept in a small file under vigil's home, locked with
``flock`` while a process takes tokens from it, so all processes together stay at ``rpm``.
Tokens are taken a few at a time (``chunk``) to keep file operations to a fraction of requests.
The bucket refills a little below ``rpm`` so that its burst, and the tokens processes hold in
hand, still fit: no 60-second window sees more than ``rpm`` requests (measured by
bench/budget.py). Processes on other hosts are not covered (see docs/scans.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vigil.api.ratelimit import RateLimiter


class FileTokenBucket:
    """A token bucket whose state lives in a file shared by processes (``flock``-protected)."""

    def __init__(self, path: str | os.PathLike[str], rpm: float, *, held: int = 4,
                 clock: Callable[[], float] = time.time):
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.path = Path(path)
        self.capacity = max(1.0, rpm / 60.0)
        # Any 60 s: the burst, 60 s of refill and the tokens held in hand (``held``) stay <= rpm,
        # with 2% to spare for requests that reach the server bunched (measured: bench/budget.py).
        self.rate = max(rpm - self.capacity - held - rpm * 0.02, rpm * 0.5) / 60.0
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def take(self, wanted: int) -> tuple[int, float]:
        """Take up to ``wanted`` tokens: ``(taken, seconds until one more is available)``."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.read(fd, 4096)
            now = self.clock()
            try:
                state = json.loads(raw) if raw else {}
            except ValueError:
                state = {}
            tokens = float(state.get("tokens", self.capacity))
            updated = float(state.get("updated", now))
            tokens = min(self.capacity, tokens + max(now - updated, 0.0) * self.rate)
            taken = int(min(wanted, tokens + 1e-9))  # 0.9999999 tokens is one token, not none
            tokens = max(tokens - taken, 0.0)
            data = json.dumps({"tokens": tokens, "updated": now}).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
            wait = 0.0 if taken else max((1.0 - tokens) / self.rate, 0.001)
            return taken, wait
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class SharedRateLimiter(RateLimiter):
    """The client's limiter, plus the organization's host-wide bucket (see module docstring)."""

    def __init__(self, rpm: float, bucket: FileTokenBucket, *, chunk: int = 2,
                 sleep: Callable[[float], None] = time.sleep, **kw):
        super().__init__(rpm, sleep=sleep, **kw)
        self.bucket = bucket
        self.chunk = max(1, chunk)
        self._held = 0
        self._held_lock = threading.Lock()
        self._sleep_shared = sleep

    def acquire(self) -> float:
        waited = super().acquire()
        while True:
            with self._held_lock:
                if self._held > 0:
                    self._held -= 1
                    return waited
                taken, wait = self.bucket.take(self.chunk)
                if taken:
                    self._held = taken - 1
                    return waited
            self._sleep_shared(wait)
            waited += wait
            self.waited_seconds += wait


def budget_file(home: str | os.PathLike[str], org_id: str) -> Path:
    """Where the shared bucket of ``org_id`` lives under vigil's home folder."""
    return Path(home) / "budget" / f"{org_id}.json"
