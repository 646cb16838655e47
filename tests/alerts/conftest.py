"""Real servers on loopback for alert tests: pytest-httpserver (Slack, Teams, webhook, HEC) and
aiosmtpd (SMTP). No Prefect server is started here."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from vigil.config import parse_config
from vigil.lake import Lake

sys.path.insert(0, str(Path(__file__).parents[1]))
from vigil_test_support import load_conftest  # noqa: E402

finding = load_conftest("incidents").finding  # the shared findings-row builder

WEBHOOK_SECRET = "whsec-test-6f1d"
HEC_TOKEN = "11111111-2222-3333-4444-555555555555"


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server; yields (host, port, mailbox)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, box
    finally:
        controller.stop()


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def alert_config(lake: Lake, *, batch: int = 50, policies: list[dict] | None = None,
                 destinations: dict | None = None):
    """A validated Config with every destination kind, blocks replaced by loopback senders."""
    destinations = destinations or {
        "slack": {"type": "slack", "block": "sec-slack"},
        "teams": {"type": "teams", "block": "sec-teams"},
        "hook": {"type": "webhook", "url": "https://soar.example.com/hook", "secret_source": "env:VIGIL_TEST_WEBHOOK"},
        "hec": {"type": "splunk_hec", "url": "https://splunk.example.com:8088", "token_source": "env:VIGIL_TEST_HEC",
                "index": "dlp"},
        "mail": {"type": "email", "block": "smtp", "sender": "vigil@example.com", "recipients": ["soc@example.com"]},
    }
    policies = policies or [{"name": "keys", "categories": ["credential"], "min_severity": "high",
                             "destinations": list(destinations)}]
    return parse_config({"lake": {"root": lake.root_url},
                         "alerts": {"max_per_message": batch, "destinations": destinations,
                                    "policies": policies}})


def keys(n: int, *, prefix: str = "fp", minutes: int = 0, **kw) -> list[dict]:
    """``n`` leaked keys (distinct values), one finding each."""
    return [finding(f"{prefix}-{i:03d}", chat=f"{prefix}-chat-{i}", minutes=minutes + i,
                    masked=f"AKIA************{i:04d}", **kw) for i in range(n)]
