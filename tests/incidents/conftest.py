"""Findings rows built by hand for incident tests (no scan, no Prefect)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from vigil.lake import Lake, finding_id, object_key

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
_counter = itertools.count()


def finding(fingerprint: str, *, chat: str = "c1", user: str = "ana@example.com", minutes: int = 0,
            infotype: str = "AWS_CREDENTIALS", category: str = "credential", severity: str = "critical",
            likelihood: str = "VERY_LIKELY", masked: str = "AKIA************WXYZ",
            obj: str | None = None, project: str | None = None, project_name: str | None = None,
            title: str | None = None, start: int | None = None) -> dict:
    """One ``findings`` row; each call is a distinct finding unless ``obj`` and ``start`` repeat."""
    n = next(_counter)
    obj = obj or f"msg-{n}"
    start = n if start is None else start
    return {
        "finding_id": finding_id("message", obj, None, "text", infotype.lower(), start, start + 20),
        "org_id": "org-1", "chat_id": chat, "chat_title": title or f"chat {chat}",
        "message_id": obj, "author_role": "user", "model": "claude",
        "project_id": project, "project_name": project_name,
        "user_id": user.split("@")[0], "user_email": user,
        "chat_url": f"https://claude.ai/chat/{chat}",
        "object_key": object_key("message", obj, None), "object_kind": "message", "object_id": obj,
        "locator": "text", "start": start, "end": start + 20, "infotype": infotype,
        "category": category, "detector": infotype.lower(), "likelihood": likelihood,
        "severity": severity, "masked": masked, "fingerprint": fingerprint,
        "context": f"key is {masked} ok", "event_time": T0 + timedelta(minutes=minutes),
        "scanned_at": T0 + timedelta(hours=1), "scan_run_id": "run-1",
    }


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(str(tmp_path / "lake"))
