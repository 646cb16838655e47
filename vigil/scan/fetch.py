"""Everything the scan asks of the Compliance API, in one place (over ``vigil.api``).

Records are handed on as the API sent them (plain dicts), so the rest of the scan never depends
on the client's model classes. The client rate-limits, retries transient failures (429 with
``retry-after``, 5xx, network) and counts requests; this module adds nothing to that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from vigil.api import ComplianceClient, NotFoundError
from vigil.api.downloads import Download
from vigil.api.errors import (ApiError, ContentIntegrityError, LocalSessionsUnavailableError,
                              PermissionDeniedError, RetentionEvaluationError, ServerError)

T = TypeVar("T")

# One page of chats is one landed batch and one checkpoint: 200 keeps a page's rows small and a
# crash's replay short, for one extra list request per 1,000 chats (about 0.1% of a scan's requests).
CHAT_PAGE_SIZE = 200
ACTIVITY_PAGE_SIZE = 5000  # the API's maxima: activities and projects carry no content
PROJECT_PAGE_SIZE = 100
SESSION_PAGE_SIZE = 500  # session lists (metadata only): the API's maximum
CODE_ARTIFACT_PAGE_SIZE = 100  # the API's maximum


class NotFound(Exception):
    """The object disappeared between listing and fetching (hard delete, retention).

    ``reason`` is the ledger's skip reason (``rotated_out`` for a code-artifact version that left
    the kept history)."""

    reason = "not_found"


class ObjectUnavailable(Exception):
    """This one object cannot be read now, while the API as a whole answers.

    ``reason`` is the ledger's skip reason: ``integrity`` (the download kept failing its
    Content-MD5 check) or ``unavailable`` (the API kept failing for this object after the
    client's retries). Both are retried by later scans (``vigil.lake.ledger``).
    """

    def __init__(self, reason: str, object_id: str):
        super().__init__(f"{reason}: {object_id}")
        self.reason = reason
        self.object_id = object_id


@dataclass(frozen=True)
class ListPage:
    """One page of a list endpoint: raw records and where to resume after it."""

    records: list[dict[str, Any]]
    cursor: str | None  # resume position after this page (None: a page-token walk is complete)
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None
    request_id: str | None = None
    note: str | None = None  # why a list could not be read (e.g. local sessions not available)


@dataclass(frozen=True)
class Counters:
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0


@dataclass
class Fetcher:
    """The scan's view of the API (see module docstring)."""

    client: ComplianceClient
    chat_page_size: int = CHAT_PAGE_SIZE
    activity_page_size: int = ACTIVITY_PAGE_SIZE
    project_page_size: int = PROJECT_PAGE_SIZE
    session_page_size: int = SESSION_PAGE_SIZE
    code_artifact_page_size: int = CODE_ARTIFACT_PAGE_SIZE

    def healthy(self) -> bool:
        """Whether the API answers a cheap request now (after the client's own retries).

        Tells a failure of one object (skip it, retry in a later scan) from an outage (fail the
        page, so the task retries it or the next scan resumes it).
        """
        try:
            _first_page(self.client.chats(order_by="updated_at", limit=1))
        except ApiError as exc:
            if exc.retryable:
                return False
            raise
        return True

    def _object_failure(self, exc: ApiError, object_id: str) -> Exception:
        """What to raise after the client gave up on one object's request."""
        if isinstance(exc, ContentIntegrityError):
            return ObjectUnavailable("integrity", object_id)
        if exc.retryable and self.healthy():
            return ObjectUnavailable("unavailable", object_id)
        return exc

    def _read_object(self, object_id: str, read: Callable[[], T]) -> T:
        """``read()`` one object; ``NotFound`` for a 404, ``ObjectUnavailable`` when it keeps
        failing while the API answers, the API's error during an outage.

        When the client gives up on the object but a cheap request then answers, the object is
        read once more before it is called unavailable: the client's retries and the health
        check take about two minutes, so an outage that ended meanwhile must not turn every
        object in flight into a skip.
        """
        for attempt in (1, 2):
            try:
                return read()
            except NotFoundError:
                raise NotFound(object_id) from None
            except ApiError as exc:
                failure = self._object_failure(exc, object_id)
                if attempt == 2 or not (isinstance(failure, ObjectUnavailable) and failure.reason == "unavailable"):
                    raise failure from None
        raise AssertionError("unreachable")

    def counters(self) -> Counters:
        s = self.client.stats()
        return Counters(s.requests, s.rate_limited, s.retries)

    # -- list pages (one request each) --------------------------------------------------------
    def chats_page(self, *, after_id: str | None = None, updated_gte: str | None = None,
                   updated_lt: str | None = None) -> ListPage:
        """Org-wide chats by ``updated_at``, from ``after_id`` or from ``updated_gte``."""
        pager = self.client.chats(order_by="updated_at", updated_at_gte=updated_gte,
                                  updated_at_lt=updated_lt, limit=self.chat_page_size,
                                  cursor=after_id)
        return _first_page(pager)

    def activities_page(self, *, after_id: str | None = None, before_id: str | None = None,
                        created_gte: str | None = None, created_lt: str | None = None) -> ListPage:
        """Activity Feed, newest first: ``after_id`` walks older, ``before_id`` catches up newer."""
        if before_id:
            pager = self.client.activities(limit=self.activity_page_size, cursor=before_id,
                                           direction="before")
        else:
            pager = self.client.activities(limit=self.activity_page_size, created_at_gte=created_gte,
                                           created_at_lt=created_lt, cursor=after_id)
        return _first_page(pager)

    def projects_page(self, *, page: str | None = None, updated_gte: str | None = None,
                      updated_lt: str | None = None) -> ListPage:
        """Projects updated in a window (page tokens)."""
        pager = self.client.projects(limit=self.project_page_size, updated_at_gte=updated_gte,
                                     updated_at_lt=updated_lt, page=page)
        return _first_page(pager)

    # -- objects ------------------------------------------------------------------------------
    def transcript(self, chat_id: str) -> dict[str, Any]:
        """The chat's fields plus ``chat_messages`` (raw), in one request for most chats."""
        def read() -> dict[str, Any]:
            chat: dict[str, Any] = {}
            messages: list[dict[str, Any]] = []
            for page in self.client.chat_messages(chat_id).pages():
                if not chat:
                    chat = {k: v for k, v in page.envelope.items()
                            if k not in ("has_more", "first_id", "last_id")}
                messages.extend(_raw(r) for r in page.records)
            chat["chat_messages"] = messages
            return chat

        return self._read_object(chat_id, read)

    def content(self, kind: str, object_id: str, max_bytes: int) -> bytes | None:
        """Bytes of a file, generated file or artifact version; None when over ``max_bytes``."""
        get = {"file": self.client.file_content,
               "generated_file": self.client.generated_file_content,
               "artifact_version": self.client.artifact_content}[kind]
        download = self._read_object(object_id, lambda: get(object_id, max_bytes=max_bytes))
        return None if download.too_large else download.content

    def project(self, project_id: str) -> dict[str, Any]:
        """Project detail (name, instructions, ...)."""
        return self._read_object(project_id, lambda: _raw(self.client.project(project_id)))

    def project_attachments(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Every file and document entry of a project (pages of 100)."""
        try:
            records = self._read_object(project_id, lambda: [
                _raw(r) for r in self.client.project_attachments(project_id, limit=self.project_page_size)])
        except NotFound:
            return
        yield from records

    def document(self, document_id: str) -> dict[str, Any]:
        """A project document with its text in ``content``."""
        return self._read_object(document_id, lambda: _raw(self.client.project_document(document_id)))


    # -- sessions and Claude Code hosted sites (SPEC §9) ---------------------------------------
    def local_sessions_page(self, *, page: str | None = None, created_gte: str | None = None,
                            created_lt: str | None = None) -> ListPage:
        """Local sessions created in a window, newest first. Raises ``CursorExpiredError`` for a
        page token older than a day (the caller restarts the walk); a list the API cannot give
        now comes back empty with a ``note``."""
        pager = self.client.local_sessions(created_at_gte=created_gte, created_at_lt=created_lt,
                                           limit=self.session_page_size, page=page)
        try:
            return _first_page(pager)
        except LocalSessionsUnavailableError:
            return ListPage([], None, False, note="local_sessions_unavailable")
        except RetentionEvaluationError:
            return ListPage([], None, False, note="listing_incomplete")
        except PermissionDeniedError:
            return ListPage([], None, False, note="local_sessions_not_permitted")

    def remote_sessions_page(self, *, page: str | None = None, created_lt: str | None = None) -> ListPage:
        """Remote (cloud Cowork) sessions, newest first (every session created before ``created_lt``)."""
        pager = self.client.remote_sessions(created_at_lt=created_lt, limit=self.session_page_size, page=page)
        try:
            return _first_page(pager)
        except PermissionDeniedError:
            return ListPage([], None, False, note="remote_sessions_not_permitted")

    def code_artifacts_page(self, *, page: str | None = None) -> ListPage:
        """Claude Code hosted sites by artifact id (no ``updated_at`` filter: the index behind it
        misses some artifacts, and the complete list is cheap)."""
        pager = self.client.code_artifacts(limit=self.code_artifact_page_size, page=page)
        try:
            return _first_page(pager)
        except (PermissionDeniedError, NotFoundError):
            return ListPage([], None, False, note="code_artifacts_not_permitted")

    def session_transcript(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """``{"session": …, "messages": [...]}`` (raw) of a local or remote session, tool input
        and results read at the server maximum.

        Raises ``NotFound`` when the session is gone (aged out, deleted) or has not started
        (``pending``), ``ObjectUnavailable`` when the API keeps failing for this session (5xx, or
        the persistent retention-evaluation 503)."""
        session_id = record["id"]

        def read() -> Any:
            try:
                if kind == "local":
                    return self.client.local_session_transcript(session_id)
                return self.client.remote_session_transcript(session_id)
            except RetentionEvaluationError:  # persistent for this session; never retried by the client
                raise ObjectUnavailable("unavailable", session_id) from None

        transcript = self._read_object(session_id, read)
        session = _raw(transcript.session) if transcript.session is not None else {}
        return {"session": session, "messages": [_raw(m) for m in transcript.messages]}

    def code_artifact_version(self, artifact_id: str, version_id: str, max_bytes: int) -> Download:
        """One version's content as served. A rotated-out version raises ``NotFound`` with
        ``reason`` ``rotated_out``; one whose upload is still in flight after the client's retries
        ``ObjectUnavailable("uploading")``; a body cut mid-stream comes back ``truncated``."""
        def read() -> Download:
            try:
                return self.client.code_artifact_version_content(artifact_id, version_id, max_bytes=max_bytes)
            except NotFoundError as exc:
                gone = NotFound(version_id)
                gone.reason = "rotated_out" if "version" in (exc.message or "").lower() else "not_found"
                raise gone from None
            except ServerError as exc:
                if exc.status == 503 and "upload" in (exc.message or "").lower() and self.healthy():
                    # The API's 503 for an upload in flight: a later scan reads it.
                    raise ObjectUnavailable("uploading", version_id) from None
                raise

        return self._read_object(version_id, read)

    # -- the directory and the organization's settings (SPEC §8) ------------------------------
    def directory(self) -> dict[str, Any]:
        """Every user of the organization, every group and each group's members (raw records).

        ``groups`` is None when the key may not read groups (``read:compliance_org_data``)."""
        users = [_raw(u) for u in self.client.org_users()]
        try:
            groups = [_raw(g) for g in self.client.groups()]
        except PermissionDeniedError:
            return {"users": users, "groups": None, "members": {}}
        members = {g["id"]: [_raw(m) for m in self.client.group_members(g["id"])] for g in groups}
        return {"users": users, "groups": groups, "members": members}

    def organization_settings(self) -> list[dict[str, Any]] | None:
        """The effective settings of every linked organization the key sees (raw), or None when
        the key may not read them. The parent organization has none (404: skipped)."""
        try:
            orgs = [_raw(o) for o in self.client.organizations()]
        except PermissionDeniedError:
            return None
        out = []
        for org in orgs:
            try:
                settings = _raw(self.client.org_settings(org["uuid"]))
            except NotFoundError:
                continue
            except PermissionDeniedError:
                return None
            out.append({**settings, "organization_name": org.get("name"),
                        "organization_id": settings.get("organization_id") or org["uuid"]})
        return out


def _raw(record: Any) -> dict[str, Any]:
    raw = getattr(record, "raw", None)
    return raw if isinstance(raw, dict) and raw else dict(record)


def _first_page(pager: Any) -> ListPage:
    page = next(iter(pager.pages()))
    env = page.envelope
    return ListPage([_raw(r) for r in page.records], page.cursor, page.has_more,
                    env.get("first_id"), env.get("last_id"), page.request_id)
