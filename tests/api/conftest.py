"""Fixtures of the client tests: a fake clock and clients over httpx.MockTransport."""

from __future__ import annotations

import threading

import httpx
import pytest

from vigil.api import ComplianceClient

ORG = "344408a7-2f0b-414a-a80c-0a156b94a21d"
KEY = "sk-ant-api01-SECRETbodyDoNotLeak0123456789abcdefQ9xA"


class FakeClock:
    """Monotonic time that only moves when someone sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(seconds, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock):
    """``make_client(handler, **kw)``: a client over MockTransport(handler) on the fake clock."""
    made = []

    def make(handler, **kw) -> ComplianceClient:
        kw.setdefault("rpm", 60_000)
        kw.setdefault("base_url", "https://api.test")
        client = ComplianceClient(ORG, KEY, transport=httpx.MockTransport(handler), sleep=clock.sleep,
                                  clock=clock, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
