"""The client's token bucket and header correction against a fixed-window server on a fake clock."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from email.utils import formatdate

import httpx
import pytest

from vigil.api import RateLimiter

EPOCH = 1_790_000_000.0  # fake wall-clock origin


class WindowServer:
    """A fixed one-minute window limiter like SPEC §4.4, serving an endless model-B list.

    ``other_tool`` requests of another client are spent at the start of every window.
    """

    def __init__(self, clock, limit=600, other_tool=0, pages=3000):
        self.clock, self.limit, self.other_tool, self.pages = clock, limit, other_tool, pages
        self.counts: Counter[int] = Counter()
        self.served = 0
        self.rejected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        wall = EPOCH + self.clock()
        window = int(wall // 60)
        if window not in self.counts:
            self.counts[window] = self.other_tool
        reset = datetime.fromtimestamp((window + 1) * 60, timezone.utc).isoformat().replace("+00:00", "Z")
        headers = {"date": formatdate(wall, usegmt=True), "anthropic-ratelimit-requests-limit": str(self.limit),
                   "anthropic-ratelimit-requests-reset": reset, "request-id": f"req_{self.served}"}
        if self.counts[window] >= self.limit:
            self.rejected += 1
            retry_after = int((window + 1) * 60 - wall) + 1
            headers.update({"retry-after": str(retry_after), "anthropic-ratelimit-requests-remaining": "0"})
            return httpx.Response(429, headers=headers, json={"type": "error", "error": {
                "type": "rate_limit_error", "message": "rate limit exceeded"}})
        self.counts[window] += 1
        self.served += 1
        headers["anthropic-ratelimit-requests-remaining"] = str(self.limit - self.counts[window])
        more = self.served < self.pages
        return httpx.Response(200, headers=headers, json={
            "data": [{"uuid": "344408a7-2f0b-414a-a80c-0a156b94a21d", "name": f"o{self.served}"}],
            "has_more": more, "next_page": f"page_{self.served}" if more else None})


def test_bucket_paces_at_rpm(clock):
    limiter = RateLimiter(120, clock=clock, sleep=clock.sleep)
    start = clock()
    for _ in range(200):
        limiter.acquire()
    # burst of 2 tokens, then 2 per second: 198 tokens need 99 fake seconds
    assert clock() - start == pytest.approx(99, abs=0.5)


def test_server_remaining_zero_holds_until_reset(clock):
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(remaining=0, reset_in=12.5)
    t0 = clock()
    limiter.acquire()
    assert clock() - t0 == pytest.approx(12.5, abs=0.01)


def test_server_remaining_caps_requests_before_reset(clock):
    limiter = RateLimiter(6000, clock=clock, sleep=clock.sleep)
    limiter.observe(remaining=3, reset_in=30)
    t0 = clock()
    for _ in range(3):
        limiter.acquire()
    assert clock() - t0 < 1  # three allowed quickly
    limiter.acquire()         # the fourth waits for the reset
    assert clock() - t0 >= 30


def test_long_walk_at_budget_sees_no_429(make_client, clock):
    server = WindowServer(clock, limit=600, pages=3000)
    client = make_client(server, rpm=540)
    names = [o.name for o in client.organizations()]
    stats = client.stats()
    assert len(names) == 3000 and stats.requests == 3000
    assert stats.rate_limited == 0 and server.rejected == 0
    # 540/min with a 9-token burst: no window ever held more than 540 + 9 of our requests
    assert max(server.counts.values()) <= 549
    assert len(server.counts) >= 5  # the walk really spanned several minutes of (fake) time


def test_headers_slow_the_client_when_another_tool_shares_the_budget(make_client, clock):
    server = WindowServer(clock, limit=600, other_tool=300, pages=1500)
    client = make_client(server, rpm=540)
    assert sum(1 for _ in client.organizations()) == 1500
    assert client.stats().rate_limited == 0 and server.rejected == 0
    assert max(server.counts.values()) == 600  # the shared budget was used to the last request


def test_without_header_correction_the_same_walk_gets_429s(make_client, clock):
    class Blind(RateLimiter):
        def observe(self, remaining, reset_in):  # ignores the server, keeps 429 pauses
            if remaining == 0 and reset_in is not None and reset_in > 0 and self._pausing:
                super().observe(remaining, reset_in)

        def pause(self, seconds):
            self._pausing = True
            super().pause(seconds)
            self._pausing = False

    server = WindowServer(clock, limit=600, other_tool=300, pages=1500)
    limiter = Blind(540, clock=clock, sleep=clock.sleep)
    limiter._pausing = False
    client = make_client(server, limiter=limiter)
    assert sum(1 for _ in client.organizations()) == 1500
    assert server.rejected > 0 and client.stats().rate_limited == server.rejected
