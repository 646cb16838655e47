"""Retry and no-retry classes of the client, on httpx.MockTransport and a fake clock."""

from __future__ import annotations

import json

import httpx
import pytest

from vigil.api import (AuthenticationError, ConflictError, InvalidRequestError, NotFoundError,
                       PermissionDeniedError, RateLimitedError, ServerError, TransportError)


def error(status, etype, message="boom", headers=None):
    body = {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_body"}
    return httpx.Response(status, json=body, headers={"request-id": f"req_{status}", **(headers or {})})


OK_PAGE = {"data": [{"uuid": "344408a7-2f0b-414a-a80c-0a156b94a21d", "name": "Acme"}],
           "has_more": False, "next_page": None}


def scripted(*responses):
    """A handler answering with ``responses`` in turn (callables raise transport errors)."""
    calls = []

    def handler(request):
        item = responses[min(len(calls), len(responses) - 1)]
        calls.append(request)
        if isinstance(item, Exception):
            raise item
        return item() if callable(item) else item

    handler.calls = calls
    return handler


def orgs(client):
    return list(client.organizations())


@pytest.mark.parametrize("status,etype", [(500, "api_error"), (502, "api_error"), (503, "overloaded_error"),
                                          (504, "timeout_error"), (529, "overloaded_error")])
def test_transient_statuses_are_retried_with_backoff(make_client, clock, status, etype):
    handler = scripted(error(status, etype), error(status, etype), httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    assert [o.name for o in orgs(client)] == ["Acme"]
    stats = client.stats()
    assert (stats.requests, stats.retries, stats.rate_limited) == (3, 2, 0)
    backoff = [s for s in clock.sleeps]
    assert len(backoff) == 2 and 1 <= backoff[0] <= 2 and 2 <= backoff[1] <= 3  # 1 s, 2 s (+ jitter)


def test_500_with_should_retry_false_is_not_retried(make_client):
    handler = scripted(error(500, "api_error", headers={"x-should-retry": "false"}))
    client = make_client(handler)
    with pytest.raises(ServerError) as info:
        orgs(client)
    assert info.value.status == 500 and not info.value.retryable
    assert client.stats().requests == 1 and client.stats().retries == 0


@pytest.mark.parametrize("status,etype,cls", [
    (400, "invalid_request_error", InvalidRequestError), (401, "authentication_error", AuthenticationError),
    (403, "permission_error", PermissionDeniedError), (404, "not_found_error", NotFoundError),
    (409, "conflict_error", ConflictError)])
def test_client_errors_are_never_retried(make_client, clock, status, etype, cls):
    # x-should-retry: true must not override the never-retry list.
    handler = scripted(error(status, etype, headers={"x-should-retry": "true"}), httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    with pytest.raises(cls) as info:
        orgs(client)
    err = info.value
    assert (err.status, err.error_type, err.request_id, err.message) == (status, etype, f"req_{status}", "boom")
    assert len(handler.calls) == 1 and client.stats().retries == 0 and clock.sleeps == []
    assert f"req_{status}" in str(err)


def test_permission_error_names_missing_scopes(make_client):
    msg = "Missing required scopes. Got: ['read:compliance_activities'] Needed: ['read:compliance_user_data']"
    client = make_client(scripted(error(403, "permission_error", msg)))
    with pytest.raises(PermissionDeniedError) as info:
        orgs(client)
    assert info.value.missing_scopes == ["read:compliance_user_data"]
    assert info.value.granted_scopes == ["read:compliance_activities"]


def test_429_waits_retry_after_and_pauses_the_limiter(make_client, clock):
    handler = scripted(error(429, "rate_limit_error", headers={"retry-after": "7"}), httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    assert len(orgs(client)) == 1
    assert client.stats().rate_limited == 1 and client.stats().retries == 1
    assert sum(clock.sleeps) == pytest.approx(7, abs=0.01)  # retry-after honoured, not doubled


def test_429_retry_after_http_date_and_missing_header(make_client, clock):
    handler = scripted(error(429, "rate_limit_error", headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}),
                       error(429, "rate_limit_error"), httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    assert len(orgs(client)) == 1
    # A date in the past means "now"; no header falls back to exponential backoff (2nd retry: 2-3 s).
    assert 2 <= sum(clock.sleeps) <= 3.1 and max(clock.sleeps) >= 2
    assert client.stats().rate_limited == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused"),
                                 httpx.ReadError("connection reset by peer"),
                                 httpx.RemoteProtocolError("peer closed connection without sending complete message body")])
def test_transport_failures_are_retried(make_client, exc):
    handler = scripted(exc, httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    assert len(orgs(client)) == 1
    assert client.stats().requests == 2 and client.stats().retries == 1


def test_truncated_json_body_is_retried(make_client):
    full = json.dumps(OK_PAGE).encode()
    handler = scripted(httpx.Response(200, content=full[: len(full) // 2], headers={"content-type": "application/json"}),
                       httpx.Response(200, json=OK_PAGE))
    client = make_client(handler)
    assert len(orgs(client)) == 1 and client.stats().retries == 1


def test_retry_budget_is_bounded_then_typed_error(make_client, clock):
    handler = scripted(error(503, "overloaded_error"))
    client = make_client(handler, max_retries=3)
    with pytest.raises(ServerError) as info:
        orgs(client)
    assert len(handler.calls) == 4 and info.value.attempts == 4
    assert info.value.request_id == "req_503" and "after 4 attempts" in str(info.value)


def test_backoff_caps_at_sixty_seconds(make_client, clock):
    client = make_client(scripted(httpx.ConnectError("refused")), max_retries=9)
    with pytest.raises(TransportError):
        orgs(client)
    assert len(clock.sleeps) == 9
    assert all(1 <= s <= 61 for s in clock.sleeps) and max(clock.sleeps) >= 60
    assert clock.sleeps == sorted(clock.sleeps[:6]) + clock.sleeps[6:]  # grows before the cap


def test_rate_limited_budget_exhausted_raises_rate_limited(make_client):
    client = make_client(scripted(error(429, "rate_limit_error", headers={"retry-after": "1"})), max_retries=2)
    with pytest.raises(RateLimitedError) as info:
        orgs(client)
    assert info.value.retry_after == 1 and client.stats().rate_limited == 3


@pytest.mark.parametrize("url", ["http://api.example.com", "ftp://127.0.0.1", "not a url"])
def test_unsafe_or_bad_base_url_is_refused(url):
    from vigil.api import ComplianceClient
    with pytest.raises(ValueError):
        ComplianceClient("344408a7-2f0b-414a-a80c-0a156b94a21d", "sk-ant-api01-" + "k" * 40, base_url=url)
