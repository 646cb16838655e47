"""The Compliance API client: one per connector (base URL, organization, key).

Read endpoints only (no DELETE). List methods return :class:`~vigil.api.pagination.Pager`
objects; single-object methods return typed models; content methods return
:class:`~vigil.api.downloads.Download`.

Method list (SPEC §15):
  directory   organizations, org_users, roles, role, role_permissions, org_settings,
              groups, group, group_members
  activities  activities
  chats       chats, chat_messages (pager), chat_transcript (whole chat)
  files       file_metadata, file_content, generated_file_metadata, generated_file_content,
              artifact_metadata, artifact_content
  projects    projects, project, project_attachments, project_collaborators,
              project_document, project_document_metadata
  beta        local_sessions, local_session, local_session_messages, local_session_transcript,
              remote_sessions, remote_session_messages, remote_session_transcript, code_artifacts,
              code_artifact_version_content

Policy: every request first takes a token from the shared :class:`RateLimiter`. 429 waits
``retry-after`` (exponential backoff when absent); 500 (unless ``x-should-retry: false``),
502/503/504/529, timeouts, connection errors and truncated bodies back off exponentially with
jitter from 1 s up to 60 s; 400/401/403/404/409 are never retried. After ``max_retries``
retries the last typed error is raised. The client is thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
import tenacity
from pydantic import TypeAdapter, ValidationError

from vigil.api import models as m
from vigil.api.downloads import (Download, filename_from_disposition, md5_header_hex,
                                 mime_from_content_type, read_capped)
from vigil.api.errors import (ApiError, ContentIntegrityError, NotFoundError, RateLimitedError,
                              ResponseFormatError, SessionPendingError, TransportError, error_from_response,
                              transport_error)
from vigil.api.keys import ApiKey
from vigil.api.pagination import Pager
from vigil.api.ratelimit import RateLimiter

log = logging.getLogger("vigil.api")

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_RPM = 540
DEFAULT_MAX_RETRIES = 6
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
MAX_RETRY_AFTER = 300.0
USER_AGENT = "vigil/0.1 (+https://github.com/; compliance-dlp-connector) python-httpx"

P = "/v1/compliance"
T = TypeVar("T")
TimeValue = datetime | str | None


@dataclass(frozen=True)
class ClientStats:
    """Counters since the client was created (a snapshot)."""

    requests: int          # HTTP requests sent, retries included
    retries: int           # attempts repeated after a retryable failure
    rate_limited: int      # 429 responses seen
    bytes_downloaded: int  # body bytes read from content endpoints
    throttle_waits: int    # times the rate limiter made a request wait
    throttle_seconds: float


class _BorrowedTransport(httpx.BaseTransport):
    """A caller's transport: used, never closed by the client (its owner closes it)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class _KeyAuth(httpx.Auth):
    """Sets ``x-api-key`` per request, so the secret is not stored in the client's headers."""

    def __init__(self, key: ApiKey) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request):
        request.headers["x-api-key"] = self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return f"_KeyAuth({self._key!r})"


def _format_time(value: TimeValue, name: str) -> str | None:
    """RFC 3339 text for a datetime (naive = UTC) or a validated string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            parsed = None
        if parsed is None or "T" not in text.upper() or parsed.tzinfo is None:
            raise ValueError(f"{name} must be an RFC 3339 timestamp with a time and an offset, "
                             f"e.g. 2026-04-01T00:00:00Z; got {value!r}")
        return text
    raise TypeError(f"{name} must be a datetime or an RFC 3339 string")


def _time_params(prefix: str, gte: TimeValue, gt: TimeValue, lte: TimeValue, lt: TimeValue) -> list:
    out = []
    for op, value in (("gte", gte), ("gt", gt), ("lte", lte), ("lt", lt)):
        text = _format_time(value, f"{prefix}.{op}")
        if text is not None:
            out.append((f"{prefix}.{op}", text))
    return out


def _array(name: str, values: Iterable[str] | None) -> list:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [(f"{name}[]", str(v)) for v in values]


def _ids(name: str, values: Iterable[str] | None, maximum: int) -> list:
    """An array parameter of at most ``maximum`` ids."""
    params = _array(name, values)
    if len(params) > maximum:
        raise ValueError(f"{name} takes at most {maximum} ids per request; got {len(params)}")
    return params


def _check_window(gte: TimeValue, lt: TimeValue) -> None:
    """Local sessions: ``created_at.lt`` must be strictly after ``created_at.gte``."""
    if gte is None or lt is None:
        return
    start = m.parse_timestamp(_format_time(gte, "created_at.gte"))
    end = m.parse_timestamp(_format_time(lt, "created_at.lt"))
    if start is not None and end is not None and end <= start:
        raise ValueError("created_at_lt must be strictly after created_at_gte")


def _byte_cap(value: int, name: str) -> int:
    """``tool_*_max_bytes``: -1 (the server maximum) or a positive byte count; 0 is refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value == 0 or value < -1:
        raise ValueError(f"{name} must be -1 (the server maximum) or a positive number of bytes; got {value!r}")
    return value


def _check_limit(limit: int | None, maximum: int) -> None:
    if limit is not None and not (isinstance(limit, int) and 1 <= limit <= maximum):
        raise ValueError(f"limit must be an integer between 1 and {maximum}; got {limit!r}")


def _seg(value: str) -> str:
    """An id as one URL path segment (ids are opaque; never let one add path parts)."""
    if not isinstance(value, str) or not value:
        raise ValueError("an object id must be a non-empty string")
    return quote(value, safe="")


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; plain http only to loopback (a simulator)."""
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base URL must be an http(s) URL with a host; got {base_url!r}")
    if url.scheme == "http" and url.host not in _LOOPBACK:
        raise ValueError("refusing to send the API key over plain http to a non-loopback host; use https")
    return str(url).rstrip("/")


def _canonical_org(org_id: str) -> str:
    uid = m.as_uuid(org_id)
    if uid:
        return uid
    if isinstance(org_id, str) and org_id.strip().startswith("org_"):
        return org_id.strip()
    raise ValueError(f"organization id must be a UUID (or an org_... id); got {org_id!r}")


class ComplianceClient:
    """Thread-safe client of Anthropic's Compliance API for one organization.

    ``org_id``: the organization UUID (an ``org_`` tagged id is accepted but path endpoints
    such as ``org_users`` need the UUID). ``api_key``: str or :class:`ApiKey`.
    ``rpm``: client-side budget in requests/minute. ``transport``: an httpx transport (tests);
    the caller owns it and closes it, ``close()`` leaves it open.
    ``sleep``/``clock``: injectable so tests never wait real seconds.
    """

    def __init__(self, org_id: str, api_key: ApiKey | str, base_url: str = DEFAULT_BASE_URL,
                 rpm: float = DEFAULT_RPM, transport: httpx.BaseTransport | None = None, *,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 limiter: RateLimiter | None = None) -> None:
        self.org_id = _canonical_org(org_id)
        self.api_key = api_key if isinstance(api_key, ApiKey) else ApiKey(api_key)
        self.base_url = _check_base_url(base_url)
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.max_download_bytes = max_download_bytes
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(rpm, clock=clock, sleep=sleep)
        self._backoff = tenacity.wait_exponential_jitter(initial=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=1)
        if transport is not None:
            transport = _BorrowedTransport(transport)
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  auth=_KeyAuth(self.api_key), follow_redirects=False,
                                  headers={"user-agent": USER_AGENT, "accept": "application/json"})
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._rate_limited = 0
        self._bytes = 0

    # --- lifecycle and counters ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "ComplianceClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ComplianceClient(org_id={self.org_id!r}, base_url={self.base_url!r}, api_key={self.api_key!r})"

    def stats(self) -> ClientStats:
        """A snapshot of the request counters."""
        with self._lock:
            return ClientStats(self._requests, self._retries, self._rate_limited, self._bytes,
                               self.limiter.waits, self.limiter.waited_seconds)

    def _add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    # --- request machinery ----------------------------------------------------------------------

    def _retrying(self) -> tenacity.Retrying:
        integrity_failures = 0

        def retryable(exc: BaseException) -> bool:
            nonlocal integrity_failures
            if isinstance(exc, ContentIntegrityError):
                integrity_failures += 1
                return integrity_failures == 1  # one fresh download, then report the mismatch
            return isinstance(exc, ApiError) and exc.retryable

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(retryable),
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            wait = min(exc.retry_after, MAX_RETRY_AFTER)
            if state.attempt_number > 1 and exc.retry_after <= 1:
                # a floor, not the reset (the remote-session budget always says 1): back off when it repeats
                wait = max(wait, self._backoff(state))
            return wait
        return self._backoff(state)

    def _before_retry(self, state: tenacity.RetryCallState) -> None:
        self._add("_retries")
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if isinstance(exc, RateLimitedError):
            self.limiter.pause(wait)  # every thread waits, not just this one
        log.warning("retrying after %s (attempt %d, waiting %.1fs)", exc, state.attempt_number, wait)

    def _call(self, attempt_once: Callable[[], T]) -> T:
        """Run ``attempt_once`` under the retry policy; stamp the attempt count on a final error."""
        attempts = 0
        try:
            for attempt in self._retrying():
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return attempt_once()
        except ApiError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, params: list | None, *, stream: bool = False,
              headers: dict | None = None) -> httpx.Response:
        """One attempt: take a rate token, send, read headers; raise typed errors for failures."""
        self.limiter.acquire()
        self._add("_requests")
        failure: ApiError | None = None
        try:
            request = self._http.build_request(method, path, params=params, headers=headers)
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as exc:  # timeouts, resets, truncated bodies, protocol errors
            failure = transport_error(exc, method, path)
        if failure is not None:
            raise failure  # raised outside the except block: no chained httpx exception/request
        self.limiter.observe_response(response)
        if response.status_code >= 400:
            error = self._error(response, stream)
            if response.status_code == 429:
                self._add("_rate_limited")
            raise error
        log.debug("%s %s -> %d (request-id %s)", method, path, response.status_code,
                  response.headers.get("request-id"))
        return response

    def _error(self, response: httpx.Response, stream: bool) -> ApiError:
        body = b""
        try:
            if stream:
                for chunk in response.iter_bytes(64 * 1024):
                    body += chunk
                    if len(body) > 1024 * 1024:
                        break
            else:
                body = response.content
        except httpx.TransportError:
            pass
        finally:
            if stream:
                response.close()
        error = error_from_response(response, body=body)
        log.debug("%s", error)
        return error

    def _get_json(self, path: str, params: list | None = None) -> tuple[Any, str | None]:
        """GET a JSON endpoint under the retry policy; returns (body, request-id)."""

        def once() -> tuple[Any, str | None]:
            response = self._send("GET", path, params)
            request_id = response.headers.get("request-id")
            try:
                return response.json(), request_id
            except ValueError:
                pass
            raise TransportError("response body is not complete JSON (truncated?)", status=response.status_code,
                                 request_id=request_id, method="GET", path=path)

        return self._call(once)

    def _get_model(self, path: str, model: type[T], params: list | None = None) -> T:
        body, request_id = self._get_json(path, params)
        return _validate(model, body, request_id)

    def _pager(self, path: str, params: list, parse: Callable[[Any], T], *, model: str,
               cursor: str | None = None, direction: str = "after", records_key: str = "data",
               until_next_page_null: bool = False) -> Pager[T]:
        def fetch(extra: dict[str, Any]) -> tuple[Any, str | None]:
            return self._get_json(path, params + list(extra.items()))

        return Pager(fetch, parse, model=model, cursor=cursor, direction=direction,
                     records_key=records_key, until_next_page_null=until_next_page_null)

    def _download(self, path: str, max_bytes: int | None, accept_truncated: bool = False) -> Download:
        """Stream one content endpoint. A body cut off mid-stream is retried; with
        ``accept_truncated`` a second cut body is returned as ``truncated`` instead."""
        cap = self.max_download_bytes if max_bytes is None else max_bytes
        if cap < 0:
            raise ValueError("max_bytes must be >= 0")
        cuts = 0

        def once() -> Download:
            nonlocal cuts
            response = self._send("GET", path, None, stream=True, headers={"accept": "*/*",
                                                                            "accept-encoding": "identity"})
            request_id = response.headers.get("request-id")
            try:
                result = read_capped(response, cap, on_bytes=lambda n: self._add("_bytes", n))
            finally:
                response.close()
            filename = filename_from_disposition(response.headers.get("content-disposition"))
            mime = mime_from_content_type(response.headers.get("content-type"))
            if result.cut is not None:
                cuts += 1
                if accept_truncated and cuts >= 2:
                    log.warning("GET %s: the server aborted the body mid-stream twice (after %d bytes); "
                                "reporting it truncated", path, result.size)
                    return Download(result.content, filename, mime, None, result.size, False, None, request_id,
                                    truncated=True)
                failure = transport_error(result.cut, "GET", path)
                failure.request_id = request_id
                raise failure
            if result.too_large:
                log.info("GET %s: body larger than %d bytes, not read", path, cap)
                return Download(b"", filename, mime, None, result.size, True, None, request_id)
            expected = md5_header_hex(response.headers.get("content-md5"))
            if expected is not None and expected != result.md5:
                raise ContentIntegrityError(
                    f"Content-MD5 mismatch: header {expected}, body {result.md5}",
                    expected_md5=expected, actual_md5=result.md5 or "", status=response.status_code,
                    request_id=request_id, method="GET", path=path)
            return Download(result.content, filename, mime, result.md5, result.size, False,
                            True if expected is not None else None, request_id)

        return self._call(once)

    # --- directory ------------------------------------------------------------------------------

    def _org(self, org_uuid: str | None) -> str:
        return _seg(_canonical_org(org_uuid) if org_uuid else self.org_id)

    def organizations(self, *, limit: int | None = 1000, page: str | None = None) -> Pager[m.Organization]:
        """Every organization under the key's parent (model B; ``read:compliance_org_data``)."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/organizations", _opt(limit=limit), _parser(m.Organization), model="B", cursor=page)

    def org_users(self, org_uuid: str | None = None, *, limit: int | None = 1000,
                  page: str | None = None) -> Pager[m.OrgUser]:
        """Current members of an organization (model B; ``read:compliance_user_data``)."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/organizations/{self._org(org_uuid)}/users", _opt(limit=limit),
                           _parser(m.OrgUser), model="B", cursor=page)

    def roles(self, org_uuid: str | None = None, *, limit: int | None = 1000,
              page: str | None = None) -> Pager[m.Role]:
        """RBAC roles of an organization (model B; ``read:compliance_org_data``)."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/organizations/{self._org(org_uuid)}/roles", _opt(limit=limit),
                           _parser(m.Role), model="B", cursor=page)

    def role(self, role_id: str, org_uuid: str | None = None) -> m.Role:
        """One RBAC role."""
        return self._get_model(f"{P}/organizations/{self._org(org_uuid)}/roles/{_seg(role_id)}", m.Role)

    def role_permissions(self, role_id: str, org_uuid: str | None = None, *, limit: int | None = 1000,
                         page: str | None = None) -> Pager[m.RolePermission]:
        """Permissions of a role (model B): ``action``, ``resource_type``, ``resource_id``."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/organizations/{self._org(org_uuid)}/roles/{_seg(role_id)}/permissions",
                           _opt(limit=limit), _parser(m.RolePermission), model="B", cursor=page)

    def org_settings(self, org_uuid: str | None = None) -> m.OrganizationSettings:
        """Effective settings of a linked organization (``read:compliance_org_data``): rows
        ``{name, type, value}`` and every Compliance Access Key of the parent (inactive ones too).
        The parent organization itself is not valid here (404)."""
        return self._get_model(f"{P}/organizations/{self._org(org_uuid)}/settings", m.OrganizationSettings)

    def groups(self, *, limit: int | None = 1000, name_prefix: str | None = None,
               page: str | None = None) -> Pager[m.Group]:
        """RBAC/SCIM groups (model B; ``read:compliance_org_data``)."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/groups", _opt(limit=limit, name_prefix=name_prefix), _parser(m.Group),
                           model="B", cursor=page)

    def group(self, group_id: str) -> m.Group:
        """One group."""
        return self._get_model(f"{P}/groups/{_seg(group_id)}", m.Group)

    def group_members(self, group_id: str, *, limit: int | None = 1000,
                      page: str | None = None) -> Pager[m.GroupMember]:
        """Members of a group (model B; ``read:compliance_user_data``)."""
        _check_limit(limit, 1000)
        return self._pager(f"{P}/groups/{_seg(group_id)}/members", _opt(limit=limit), _parser(m.GroupMember),
                           model="B", cursor=page)

    # --- activities -----------------------------------------------------------------------------

    def activities(self, *, limit: int | None = 5000, order: Literal["asc", "desc"] | None = None,
                   created_at_gte: TimeValue = None, created_at_gt: TimeValue = None,
                   created_at_lte: TimeValue = None, created_at_lt: TimeValue = None,
                   activity_types: Sequence[str] | None = None,
                   exclude_activity_types: Sequence[str] | None = None,
                   actor_ids: Sequence[str] | None = None, user_ids: Sequence[str] | None = None,
                   organization_ids: Sequence[str] | None = None,
                   cursor: str | None = None,
                   direction: Literal["after", "before"] = "after") -> Pager[m.Activity]:
        """The Activity Feed (model A; ``read:compliance_activities``).

        ``direction="after"`` walks the chosen ``order`` (default newest→oldest) with ``after_id``;
        ``"before"`` walks back toward newer records with ``before_id`` (the catch-up loop of
        SPEC §11: start from a saved ``first_id``).
        """
        _check_limit(limit, 5000)
        if activity_types and exclude_activity_types:
            raise ValueError("activity_types and exclude_activity_types cannot be combined")
        params = (_opt(limit=limit, order=order)
                  + _time_params("created_at", created_at_gte, created_at_gt, created_at_lte, created_at_lt)
                  + _array("activity_types", activity_types)
                  + _array("exclude_activity_types", exclude_activity_types)
                  + _array("actor_ids", actor_ids) + _array("user_ids", user_ids)
                  + _array("organization_ids", organization_ids))
        return self._pager(f"{P}/activities", params, _parser(m.Activity), model="A", cursor=cursor,
                           direction=direction)

    # --- chats ----------------------------------------------------------------------------------

    def chats(self, *, order_by: Literal["created_at", "updated_at"] = "created_at",
              user_ids: Sequence[str] | None = None, organization_ids: Sequence[str] | None = None,
              project_ids: Sequence[str] | None = None,
              created_at_gte: TimeValue = None, created_at_gt: TimeValue = None,
              created_at_lte: TimeValue = None, created_at_lt: TimeValue = None,
              updated_at_gte: TimeValue = None, updated_at_gt: TimeValue = None,
              updated_at_lte: TimeValue = None, updated_at_lt: TimeValue = None,
              limit: int | None = 1000, cursor: str | None = None,
              direction: Literal["after", "before"] = "after") -> Pager[m.Chat]:
        """Chat metadata (model A; ``read:compliance_user_data``), ascending by ``order_by``.

        Org-wide (no ``user_ids``) or per user (1–10 ids). The API's mode rules are checked
        here: ``updated_at`` ordering and ``before`` walks are org-wide / per-user only, time
        filters must match the ordering on org-wide queries, ``project_ids`` need ``user_ids``.
        """
        _check_limit(limit, 1000)
        users = list(user_ids or [])
        if len(users) > 10:
            raise ValueError("user_ids takes at most 10 ids per request")
        if order_by not in ("created_at", "updated_at"):
            raise ValueError("order_by must be 'created_at' or 'updated_at'")
        created = _time_params("created_at", created_at_gte, created_at_gt, created_at_lte, created_at_lt)
        updated = _time_params("updated_at", updated_at_gte, updated_at_gt, updated_at_lte, updated_at_lt)
        if users:
            if order_by == "updated_at":
                raise ValueError("order_by=updated_at is only allowed on org-wide queries (no user_ids)")
            if updated:  # SPEC §18: rejected with 400 since 2026-09-22
                raise ValueError("updated_at filters are only allowed on org-wide queries (no user_ids)")
        else:
            if project_ids:
                raise ValueError("project_ids can only be used together with user_ids")
            if direction == "before":
                raise ValueError("before_id walks are only allowed on user-filtered chat queries")
            if (order_by == "created_at" and updated) or (order_by == "updated_at" and created):
                raise ValueError(f"org-wide chat queries ordered by {order_by} only take {order_by} filters")
        params = (_opt(limit=limit, order_by=order_by if order_by == "updated_at" else None)
                  + _array("user_ids", users) + _array("organization_ids", organization_ids)
                  + _array("project_ids", project_ids) + created + updated)
        return self._pager(f"{P}/apps/chats", params, _parser(m.Chat), model="A", cursor=cursor,
                           direction=direction)

    def chat_messages(self, chat_id: str, *, limit: int | None = None, cursor: str | None = None,
                      order: Literal["asc", "desc"] | None = None,
                      created_at_gte: TimeValue = None, created_at_lt: TimeValue = None,
                      tool_result_max_chars: int = -1,
                      tool_use_input_max_chars: int = -1) -> Pager[m.ChatMessage]:
        """Messages of one chat (model A). Each page's ``envelope`` holds the chat's fields.

        ``limit=None`` asks for the whole chat in one response; give a limit (≤1000) to page
        through a huge chat with ``after_id``. Tool I/O is requested untruncated by default.
        """
        _check_limit(limit, 1000)
        params = (_opt(limit=limit, order=order, tool_result_max_chars=tool_result_max_chars,
                       tool_use_input_max_chars=tool_use_input_max_chars)
                  + _time_params("created_at", created_at_gte, None, None, created_at_lt))
        return self._pager(f"{P}/apps/chats/{_seg(chat_id)}/messages", params, _parser(m.ChatMessage),
                           model="A", cursor=cursor, records_key="chat_messages")

    def chat_transcript(self, chat_id: str, *, page_size: int | None = None) -> m.ChatTranscript:
        """The chat with every message. ``page_size`` pages through huge chats instead of one call."""
        envelope: dict[str, Any] = {}
        messages: list[m.ChatMessage] = []
        request_id = None
        for page in self.chat_messages(chat_id, limit=page_size).pages():
            if not envelope:
                envelope = dict(page.envelope)
            messages.extend(page.records)
            request_id = page.request_id
        for key in ("has_more", "first_id", "last_id"):
            envelope.pop(key, None)
        transcript = _validate(m.ChatTranscript, {**envelope, "chat_messages": []}, request_id)
        transcript.chat_messages = messages
        return transcript

    # --- files, generated files, artifacts -----------------------------------------------------

    def file_metadata(self, file_id: str) -> m.FileMetadata:
        """Metadata of an uploaded file (chat attachment or project file)."""
        return self._get_model(f"{P}/apps/chats/files/{_seg(file_id)}", m.FileMetadata)

    def file_content(self, file_id: str, *, max_bytes: int | None = None) -> Download:
        """Bytes of an uploaded file, streamed under the size cap and MD5-checked."""
        return self._download(f"{P}/apps/chats/files/{_seg(file_id)}/content", max_bytes)

    def generated_file_metadata(self, gen_file_id: str) -> m.GeneratedFileMetadata:
        """Metadata of a Claude-generated file."""
        return self._get_model(f"{P}/apps/chats/generated-files/{_seg(gen_file_id)}", m.GeneratedFileMetadata)

    def generated_file_content(self, gen_file_id: str, *, max_bytes: int | None = None) -> Download:
        """Bytes of a Claude-generated file."""
        return self._download(f"{P}/apps/chats/generated-files/{_seg(gen_file_id)}/content", max_bytes)

    def artifact_metadata(self, version_id: str) -> m.ArtifactMetadata:
        """Metadata of one artifact version (pass the version id)."""
        return self._get_model(f"{P}/apps/artifacts/{_seg(version_id)}", m.ArtifactMetadata)

    def artifact_content(self, version_id: str, *, max_bytes: int | None = None) -> Download:
        """Text of one artifact version, as bytes (``Download.text()`` decodes it)."""
        return self._download(f"{P}/apps/artifacts/{_seg(version_id)}/content", max_bytes)

    # --- projects -------------------------------------------------------------------------------

    def projects(self, *, limit: int | None = 100, organization_ids: Sequence[str] | None = None,
                 user_ids: Sequence[str] | None = None,
                 created_at_gte: TimeValue = None, created_at_lt: TimeValue = None,
                 updated_at_gte: TimeValue = None, updated_at_lt: TimeValue = None,
                 page: str | None = None) -> Pager[m.Project]:
        """Projects, oldest first (model B; ``read:compliance_user_data``)."""
        _check_limit(limit, 100)
        params = (_opt(limit=limit) + _array("organization_ids", organization_ids) + _array("user_ids", user_ids)
                  + _time_params("created_at", created_at_gte, None, None, created_at_lt)
                  + _time_params("updated_at", updated_at_gte, None, None, updated_at_lt))
        return self._pager(f"{P}/apps/projects", params, _parser(m.Project), model="B", cursor=page)

    def project(self, project_id: str) -> m.Project:
        """Project detail, with ``instructions`` and ``description``."""
        return self._get_model(f"{P}/apps/projects/{_seg(project_id)}", m.Project)

    def project_attachments(self, project_id: str, *, limit: int | None = 100,
                            page: str | None = None) -> Pager[m.ProjectFile | m.ProjectDoc | m.UnknownAttachment]:
        """Files and documents of a project (model B); branch on the record type."""
        _check_limit(limit, 100)
        return self._pager(f"{P}/apps/projects/{_seg(project_id)}/attachments", _opt(limit=limit),
                           _adapter_parser(_ATTACHMENT), model="B", cursor=page)

    def project_collaborators(self, project_id: str, *, limit: int | None = 100,
                              page: str | None = None) -> Pager[m.ProjectCollaborator]:
        """Role assignments of a project (model B)."""
        _check_limit(limit, 100)
        return self._pager(f"{P}/apps/projects/{_seg(project_id)}/collaborators", _opt(limit=limit),
                           _parser(m.ProjectCollaborator), model="B", cursor=page)

    def project_document(self, document_id: str) -> m.ProjectDocument:
        """A project document with its full text in ``content``."""
        return self._get_model(f"{P}/apps/projects/documents/{_seg(document_id)}", m.ProjectDocument)

    def project_document_metadata(self, document_id: str) -> m.ProjectDocumentMetadata:
        """md5/size of a project document without its text."""
        return self._get_model(f"{P}/apps/projects/documents/{_seg(document_id)}/metadata",
                               m.ProjectDocumentMetadata)

    # --- sessions (beta) and Claude Code artifacts ---------------------------------------------

    def local_sessions(self, *, created_at_gte: TimeValue = None, created_at_lt: TimeValue = None,
                       updated_at_gte: TimeValue = None, limit: int | None = 500,
                       page: str | None = None) -> Pager[m.Session]:
        """Local sessions (Cowork in Claude Desktop, Claude Code), newest first (model C, beta).

        ``created_at`` is the session's earliest *retained* call: it moves forward as old calls
        age out, so deduplicate by id and re-list a trailing window to catch sessions that grew
        (they have no ``updated_at`` in the August 2026 docs; ``updated_at_gte`` is the later
        docs' filter, which older servers do not apply). Page tokens expire 24 h after the walk
        began: :class:`CursorExpiredError` means restart without ``page``.
        """
        _check_limit(limit, 500)
        _check_window(created_at_gte, created_at_lt)
        params = (_opt(limit=limit) + _time_params("created_at", created_at_gte, None, None, created_at_lt)
                  + _time_params("updated_at", updated_at_gte, None, None, None))
        return self._pager(f"{P}/apps/sessions/local", params, _parser(m.Session), model="C", cursor=page)

    def local_session(self, session_id: str) -> m.Session:
        """One local session (404 :class:`NotFoundError` once all its calls aged out)."""
        return self._get_model(f"{P}/apps/sessions/local/{_seg(session_id)}", m.Session)

    def local_session_messages(self, session_id: str, *, limit: int | None = 1000, page: str | None = None,
                               order: Literal["asc", "desc"] | None = None,
                               tool_use_input_max_bytes: int = -1,
                               tool_result_max_bytes: int = -1) -> Pager[m.SessionMessage]:
        """Transcript of a local session (model C, beta); each page's ``envelope["session"]`` is
        the session. Tool input and results are requested at the server maximum (``-1``, about
        1 MiB; the API's default is 10,000 bytes); blocks cut there have ``truncated: true``.
        Messages of one inference call share ``created_at``: keep the returned order."""
        _check_limit(limit, 1000)
        params = _opt(limit=limit, order=order,
                      tool_use_input_max_bytes=_byte_cap(tool_use_input_max_bytes, "tool_use_input_max_bytes"),
                      tool_result_max_bytes=_byte_cap(tool_result_max_bytes, "tool_result_max_bytes"))
        return self._pager(f"{P}/apps/sessions/local/{_seg(session_id)}/messages", params,
                           _parser(m.SessionMessage), model="C", cursor=page)

    def local_session_transcript(self, session_id: str, *, page_size: int = 1000) -> m.SessionTranscript:
        """The local session with every message, read at the server maximum."""
        return self._transcript(self.local_session_messages(session_id, limit=page_size))

    def remote_sessions(self, *, organization_ids: Sequence[str] | None = None,
                        user_ids: Sequence[str] | None = None, created_at_gte: TimeValue = None,
                        created_at_gt: TimeValue = None, created_at_lte: TimeValue = None,
                        created_at_lt: TimeValue = None, limit: int | None = 500,
                        page: str | None = None) -> Pager[m.Session]:
        """Remote (cloud Cowork) sessions, newest first (model C, beta). ``user_ids`` (at most
        10) leaves out agent-owned sessions. These endpoints have an extra rate budget of their
        own: its 429s say ``retry-after: 1`` and are backed off exponentially when they repeat."""
        _check_limit(limit, 500)
        params = (_opt(limit=limit) + _ids("organization_ids", organization_ids, 500) + _ids("user_ids", user_ids, 10)
                  + _time_params("created_at", created_at_gte, created_at_gt, created_at_lte, created_at_lt))
        return self._pager(f"{P}/apps/sessions/remote", params, _parser(m.Session), model="C", cursor=page)

    def remote_session_messages(self, session: str | m.Session, *, limit: int | None = 1000,
                                page: str | None = None, order: Literal["asc", "desc"] | None = None,
                                tool_use_input_max_bytes: int = -1,
                                tool_result_max_bytes: int = -1) -> Pager[m.SessionMessage]:
        """Transcript of a remote session (model C, beta), tool I/O at the server maximum.

        Give the listed :class:`~vigil.api.models.Session` rather than its id and a 404 for a
        session listed as ``pending`` (the API answers 404 until it starts) is raised as
        :class:`SessionPendingError`, so the scan can come back to it."""
        _check_limit(limit, 1000)
        session_id = session.id if isinstance(session, m.Session) else session
        pending = isinstance(session, m.Session) and session.status == "pending"
        params = _opt(limit=limit, order=order,
                      tool_use_input_max_bytes=_byte_cap(tool_use_input_max_bytes, "tool_use_input_max_bytes"),
                      tool_result_max_bytes=_byte_cap(tool_result_max_bytes, "tool_result_max_bytes"))
        path = f"{P}/apps/sessions/remote/{_seg(session_id)}/messages"

        def fetch(extra: dict[str, Any]) -> tuple[Any, str | None]:
            try:
                return self._get_json(path, params + list(extra.items()))
            except NotFoundError as exc:
                if not pending:
                    raise
                failure = SessionPendingError(f"remote session {session_id} is pending: no transcript yet",
                                              status=exc.status, error_type=exc.error_type,
                                              request_id=exc.request_id, method=exc.method, path=exc.path)
            raise failure

        return Pager(fetch, _parser(m.SessionMessage), model="C", cursor=page)

    def remote_session_transcript(self, session: str | m.Session, *, page_size: int = 1000) -> m.SessionTranscript:
        """The remote session with every message, read at the server maximum."""
        return self._transcript(self.remote_session_messages(session, limit=page_size))

    def _transcript(self, pager: Pager[m.SessionMessage]) -> m.SessionTranscript:
        session: dict[str, Any] | None = None
        messages: list[m.SessionMessage] = []
        request_id = None
        for pg in pager.pages():
            if session is None:
                session = pg.envelope.get("session")
            messages.extend(pg.records)
            request_id = pg.request_id
        transcript = _validate(m.SessionTranscript, {"session": session, "messages": []}, request_id)
        transcript.messages, transcript.request_id = messages, request_id
        return transcript

    def code_artifacts(self, *, organization_ids: Sequence[str] | None = None,
                       user_ids: Sequence[str] | None = None,
                       updated_at_gte: TimeValue = None, updated_at_gt: TimeValue = None,
                       updated_at_lte: TimeValue = None, updated_at_lt: TimeValue = None,
                       limit: int | None = 100, page: str | None = None) -> Pager[m.CodeArtifact]:
        """Claude Code hosted sites, by artifact id (model B, continued until ``next_page`` is
        null: pages may be short or empty before the end). ``updated_at`` filters match an
        eventually consistent index that never holds some older artifacts: leave them out for a
        complete enumeration and use them, with overlap, only for increments."""
        _check_limit(limit, 100)
        params = (_opt(limit=limit) + _ids("organization_ids", organization_ids, 500) + _ids("user_ids", user_ids, 200)
                  + _time_params("updated_at", updated_at_gte, updated_at_gt, updated_at_lte, updated_at_lt))
        return self._pager(f"{P}/apps/code/artifacts", params, _parser(m.CodeArtifact), model="B", cursor=page,
                           until_next_page_null=True)

    def code_artifact_version_content(self, artifact_id: str, version_id: str, *,
                                      max_bytes: int | None = None) -> Download:
        """Streamed content of one Claude Code artifact version.

        404 (:class:`NotFoundError`) when the version rotated out of the kept history: list the
        artifact again. 503 while its upload is in flight: retried with backoff. A body the server
        aborts mid-stream (oversized encoded content) is retried once, then returned with
        ``truncated=True`` and the bytes that arrived. ``md5_verified`` is None when the server
        sent no ``Content-MD5`` (content stored encoded)."""
        return self._download(f"{P}/apps/code/artifacts/{_seg(artifact_id)}/versions/{_seg(version_id)}",
                              max_bytes, accept_truncated=True)


# --- parsing helpers --------------------------------------------------------------------------

_ATTACHMENT = TypeAdapter(m.ProjectAttachment)


def _opt(**values: Any) -> list:
    return [(k, str(v)) for k, v in values.items() if v is not None]


def _describe(exc: ValidationError) -> str:
    # Only field locations and messages: the input could be chat text with sensitive data.
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


def _validate(model: type[T], data: Any, request_id: str | None) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        failure = ResponseFormatError(f"unexpected {model.__name__} shape: {_describe(exc)}", request_id=request_id)
    raise failure


def _parser(model: type[T]) -> Callable[[Any], T]:
    def parse(item: Any) -> T:
        return _validate(model, item, None)
    return parse


def _adapter_parser(adapter: TypeAdapter) -> Callable[[Any], Any]:
    def parse(item: Any) -> Any:
        try:
            return adapter.validate_python(item)
        except ValidationError as exc:
            failure = ResponseFormatError(f"unexpected attachment shape: {_describe(exc)}")
        raise failure
    return parse
