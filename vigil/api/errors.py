"""Typed errors of the Compliance API client.

Every error carries the HTTP status (None for transport failures), the API's ``error.type``,
its message, the ``request-id`` header and the request's method and path. None of them ever
holds the API key or the httpx request (whose headers would).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import httpx


class ApiError(Exception):
    """Base class of every error the client raises about a request."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None,
                 request_id: str | None = None, method: str | None = None, path: str | None = None,
                 attempts: int = 1) -> None:
        self.message = message
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.method = method
        self.path = path
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else ""
        parts = [p for p in (
            f"HTTP {self.status}" if self.status is not None else None,
            self.error_type,
            where or None,
        ) if p]
        head = f"[{' '.join(parts)}] " if parts else ""
        tail = f" (request-id {self.request_id})" if self.request_id else ""
        if self.attempts > 1:
            tail += f" after {self.attempts} attempts"
        return f"{head}{self.message}{tail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidRequestError(ApiError):
    """400 ``invalid_request_error``: bad parameter, malformed cursor, mode misuse."""


class AuthenticationError(ApiError):
    """401: the key is missing, unknown, revoked or of a kind the API does not accept."""


class PermissionDeniedError(ApiError):
    """403: the key is valid but lacks a scope. ``missing_scopes`` names what is needed."""

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.granted_scopes, self.required_scopes = parse_scope_message(message)
        self.missing_scopes = [s for s in self.required_scopes if s not in self.granted_scopes]


class NotFoundError(ApiError):
    """404: hard-deleted, aged out by retention, or outside the key's organizations."""


class ConflictError(ApiError):
    """409 ``conflict_error``."""


class CursorExpiredError(InvalidRequestError):
    """400: a local-session page token is older than 24 hours (tokens expire a day after the
    walk began). Restart the walk without a page token; deduplicate by id."""


class LocalSessionsUnavailableError(NotFoundError):
    """404 ``Local sessions are not available.``: the feature is off for the parent, perhaps
    for a while. Keep the queued session ids and try again on a later run."""


class SessionPendingError(NotFoundError):
    """404 for a remote session that is still ``pending``: it has no transcript yet. Read it
    again on a later run."""


class RetentionEvaluationError(ApiError):
    """503 ``cannot currently evaluate retention overrides``: data-dependent and possibly
    lasting; not retried now. Skip the session (or list page) and retry on a later run."""


class RateLimitedError(ApiError):
    """429 after the retry budget ran out. ``retry_after`` is the server's hint in seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx (or another status the server marked retryable)."""

    def __init__(self, message: str, *, retryable: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retryable = retryable


class TransportError(ApiError):
    """No usable response: timeout, connection refused/reset, truncated or unparsable body."""

    retryable = True


class ContentIntegrityError(ApiError):
    """Downloaded bytes do not match the response's ``Content-MD5``."""

    retryable = True

    def __init__(self, message: str, *, expected_md5: str, actual_md5: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.expected_md5 = expected_md5
        self.actual_md5 = actual_md5


class ResponseFormatError(ApiError):
    """A complete response whose JSON does not have the documented shape."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}

NEVER_RETRY = frozenset({400, 401, 403, 404, 409})
RETRY_STATUSES = frozenset({500, 502, 503, 504, 529})

_SCOPES_RE = re.compile(r"Got:\s*(\[.*?\])\s*Needed:\s*(\[.*?\])", re.S)


def parse_scope_message(message: str) -> tuple[list[str], list[str]]:
    """``(granted, required)`` scopes from ``Missing required scopes. Got: [..] Needed: [..]``.

    Returns two empty lists when the message has another form (it may be reworded).
    """
    match = _SCOPES_RE.search(message or "")
    if not match:
        return [], []
    out = []
    for text in match.groups():
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = re.findall(r"[\w:.-]+", text)
        out.append([str(v) for v in value] if isinstance(value, (list, tuple)) else [])
    return out[0], out[1]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``retry-after`` header: integer/float seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_from_response(response: httpx.Response, *, body: bytes | None = None) -> ApiError:
    """The typed error for a non-2xx response (reads only ``error.type``/``error.message``)."""
    status = response.status_code
    data: Any = None
    raw = body if body is not None else _safe_content(response)
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
    err = data.get("error") if isinstance(data, dict) else None
    error_type = err.get("type") if isinstance(err, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    if not isinstance(message, str) or not message:
        message = response.reason_phrase or f"HTTP {status}"
    kw: dict[str, Any] = dict(
        status=status, error_type=error_type if isinstance(error_type, str) else None,
        request_id=response.headers.get("request-id") or (data.get("request_id") if isinstance(data, dict) else None),
        method=response.request.method if _has_request(response) else None,
        path=_path_of(response),
    )
    should_retry = (response.headers.get("x-should-retry") or "").strip().lower()
    # The few local-session cases the docs themselves tell apart by message (SPEC §4.1, §4.2).
    if status == 400 and "cursor has expired" in message:
        return CursorExpiredError(message, **kw)
    if status == 404 and message.strip() == "Local sessions are not available.":
        return LocalSessionsUnavailableError(message, **kw)
    if status == 503 and "cannot currently evaluate retention overrides" in message:
        return RetentionEvaluationError(message, **kw)
    if status == 429:
        return RateLimitedError(message, retry_after=parse_retry_after(response.headers.get("retry-after")), **kw)
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls(message, **kw)
    if status in RETRY_STATUSES:
        retry = not (status == 500 and should_retry == "false")
        return ServerError(message, retryable=retry, **kw)
    # Any other status: retry only when the server says so explicitly.
    return ServerError(message, retryable=should_retry == "true", **kw)


def transport_error(exc: Exception, method: str, path: str) -> TransportError:
    """A TransportError describing an httpx transport failure (type and message only)."""
    detail = str(exc) or type(exc).__name__
    return TransportError(f"{type(exc).__name__}: {detail}", method=method, path=path)


def _safe_content(response: httpx.Response) -> bytes:
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request
    except RuntimeError:
        return False
    return True


def _path_of(response: httpx.Response) -> str | None:
    if not _has_request(response):
        return None
    url = response.request.url
    query = url.query.decode("ascii", "replace")
    return url.path + (f"?{query}" if query else "")
