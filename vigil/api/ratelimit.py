"""Client-side rate limiting: a token bucket corrected by the server's rate-limit headers.

The Compliance API allows 600 requests per minute per parent organization, shared by every key
and tool. The bucket runs at ``rpm`` (default 540, leaving room for others) with a burst of one
second's worth of tokens, so any 60-second window sees at most ``rpm + rpm/60`` requests.

The server's view wins when it is stricter: after each response the limiter reads
``anthropic-ratelimit-requests-remaining`` and ``-reset``. It then never sends more than the
server says remain before the reset time (other tools may be spending the shared budget), and
when nothing remains it holds every thread until the reset. A 429 pauses everyone for
``retry-after``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

MAX_RESET_SECONDS = 120.0  # ignore reset hints further out than this (clock skew, bad header)


class RateLimiter:
    """Thread-safe token bucket at ``rpm`` requests/minute with server-header correction.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(self, rpm: float = 540, *, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.rpm = float(rpm)
        self.rate = self.rpm / 60.0
        self.capacity = float(burst if burst is not None else max(1, int(self.rpm // 60)))
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        self._server_remaining: float | None = None  # what the server still allows before reset
        self._server_reset: float | None = None       # monotonic time the server budget returns
        self.waits = 0
        self.waited_seconds = 0.0

    def acquire(self) -> float:
        """Block until one request may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if self._server_reset is not None and now >= self._server_reset:
                    self._server_remaining = None
                    self._server_reset = None
                if self._server_remaining is not None and self._server_remaining < 1:
                    wait = max(self._server_reset - now, 0.001)
                elif self._tokens >= 1 - 1e-9:
                    self._tokens = max(self._tokens - 1, 0.0)
                    if self._server_remaining is not None:
                        self._server_remaining -= 1
                    if waited:
                        self.waits += 1
                        self.waited_seconds += waited
                    return waited
                else:
                    wait = max((1 - self._tokens) / self.rate, 0.001)
            self._sleep(wait)
            waited += wait

    def observe(self, remaining: int | None, reset_in: float | None) -> None:
        """Apply the server's ``remaining`` count, valid for ``reset_in`` more seconds."""
        if remaining is None:
            return
        with self._lock:
            now = self._clock()
            reset_in = 60.0 if reset_in is None else min(max(reset_in, 0.0), MAX_RESET_SECONDS)
            reset_at = now + reset_in
            same_window = self._server_reset is not None and abs(reset_at - self._server_reset) < 1.0
            if same_window:
                # Responses of concurrent requests arrive out of order: keep the lowest count.
                self._server_remaining = min(self._server_remaining, float(remaining))
                self._server_reset = max(self._server_reset, reset_at)
            else:
                self._server_remaining = float(remaining)
                self._server_reset = reset_at
            self._refill(now)
            self._tokens = min(self._tokens, max(float(remaining), 0.0))

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (after a 429)."""
        self.observe(0, seconds)

    def observe_response(self, response: httpx.Response) -> None:
        """Read the ``anthropic-ratelimit-requests-*`` headers of a response, if present."""
        headers = response.headers
        remaining = _int(headers.get("anthropic-ratelimit-requests-remaining"))
        if remaining is None:
            return
        self.observe(remaining, self._seconds_until(headers.get("anthropic-ratelimit-requests-reset"),
                                                     headers.get("date")))

    def _seconds_until(self, reset: str | None, date: str | None) -> float | None:
        if not reset:
            return None
        try:
            reset_at = datetime.fromisoformat(reset.strip().replace("z", "Z"))
        except ValueError:
            return None
        if reset_at.tzinfo is None:
            reset_at = reset_at.replace(tzinfo=timezone.utc)
        now: float | None = None
        if date:  # the server's own clock, immune to our skew; whole seconds, so we err late
            try:
                now = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                now = None
        if now is None:
            now = self._wall()
        return reset_at.timestamp() - now

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._updated = now


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
