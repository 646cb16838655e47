"""The API key never reaches a log line (httpx/httpcore included), an exception or a repr."""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest

from vigil.api import ApiError, ApiKey, ComplianceClient
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key, make_key

SECRET = "sk-ant-api01-" + "Zq7" * 30 + "Q9xA"


def test_api_key_masks_everywhere():
    key = ApiKey(SECRET)
    shown = [str(key), repr(key), f"{key}", f"{key!r}", f"{key:>80}", str([key]), str({"k": key})]
    assert all(SECRET not in s and "Zq7Zq7" not in s for s in shown)
    assert str(key) == "sk-ant-api01-…Q9xA" and key.reveal() == SECRET
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(AttributeError):
        key._value = "x"
    with pytest.raises(ValueError):
        ApiKey("   ")
    assert str(ApiKey("sk-ant-api01-short")) == "sk-ant-api01-…"  # too short to show a tail


def test_key_from_env(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_COMPLIANCE_API_KEY", f"  {SECRET}\n")
    assert ApiKey.from_env().reveal() == SECRET
    monkeypatch.setenv("ANTHROPIC_COMPLIANCE_API_KEY", "")
    assert ApiKey.from_env() is None


def test_key_never_in_logs_errors_or_tracebacks(caplog):
    for name in ("", "httpx", "httpcore", "vigil", "uvicorn", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    org = SyntheticOrg.generate(seed=5, users=3, chats=4, days=5)
    good = default_key(5)
    limited = make_key(SECRET, ["read:compliance_activities"])
    wrong = good.secret[:-6] + "XXXXXX"
    texts: list[str] = []
    failures: list[ApiError] = []

    def attempt(fn):
        try:
            fn()
        except ApiError as exc:
            failures.append(exc)

    with SimulatorServer(build_app(org, keys=[good, limited], rpm=100_000)) as url:
        with ComplianceClient(org.claude_org.uuid, good.secret, base_url=url, rpm=100_000) as c:
            texts += [repr(c), str(c.api_key), repr(c.stats())]
            chat = next(iter(c.chats()))
            transcript = c.chat_transcript(chat.id)
            file_ids = [f.id for msg in transcript.messages for f in msg.files]
            if file_ids:
                texts.append(repr(c.file_content(file_ids[0])))
            attempt(lambda: c.chat_transcript("claude_chat_missing"))                 # 404
            attempt(lambda: list(c.activities(cursor="activity_invalid123")))       # 400
        with ComplianceClient(org.claude_org.uuid, wrong, base_url=url) as c:
            attempt(lambda: list(c.organizations()))                                 # 401
        with ComplianceClient(org.claude_org.uuid, SECRET, base_url=url) as c:
            attempt(lambda: list(c.org_users()))                                     # 403
    with ComplianceClient(org.claude_org.uuid, SECRET, base_url="http://127.0.0.1:9", max_retries=1,
                          sleep=lambda s: None) as c:
        attempt(lambda: list(c.organizations()))                                     # connection refused

    assert sorted(type(e).__name__ for e in failures) == sorted(
        ["NotFoundError", "InvalidRequestError", "AuthenticationError", "PermissionDeniedError", "TransportError"])
    for exc in failures:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    texts.append(caplog.text)
    texts += [repr(r.__dict__) for r in caplog.records]
    # the logs really did capture the HTTP layer at DEBUG (a test that could not fail proves nothing)
    assert "HTTP Request: GET" in caplog.text and "send_request_headers" in caplog.text
    for secret in (good.secret, SECRET, wrong):
        body = secret[len("sk-ant-api01-"):]
        leaks = [t for t in texts if secret in t or body[:24] in t]
        assert not leaks, leaks[0][:300]
