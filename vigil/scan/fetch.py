"""Everything the scan asks of the Compliance API, in one place (over ``vigil.api``).

Records are handed on as the API sent them (plain dicts), so the rest of the scan never depends
on the client's model classes. The client rate-limits, retries transient failures (429 with
``retry-after``, 5xx, network) and counts requests; this module adds nothing to that.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vigil.api import ComplianceClient, NotFoundError
from vigil.api.errors import ApiError, ContentIntegrityError

# One page of chats is one landed batch and one checkpoint: 200 keeps a page's rows small and a
# crash's replay short, for one extra list request per 1,000 chats (about 0.1% of a scan's requests).
CHAT_PAGE_SIZE = 200
ACTIVITY_PAGE_SIZE = 5000  # the API's maxima: activities and projects carry no content
PROJECT_PAGE_SIZE = 100


class NotFound(Exception):
    """The object disappeared between listing and fetching (hard delete, retention)."""


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
        chat: dict[str, Any] = {}
        messages: list[dict[str, Any]] = []
        try:
            for page in self.client.chat_messages(chat_id).pages():
                if not chat:
                    chat = {k: v for k, v in page.envelope.items()
                            if k not in ("has_more", "first_id", "last_id")}
                messages.extend(_raw(r) for r in page.records)
        except NotFoundError:
            raise NotFound(chat_id) from None
        except ApiError as exc:
            raise self._object_failure(exc, chat_id) from None
        chat["chat_messages"] = messages
        return chat

    def content(self, kind: str, object_id: str, max_bytes: int) -> bytes | None:
        """Bytes of a file, generated file or artifact version; None when over ``max_bytes``."""
        get = {"file": self.client.file_content,
               "generated_file": self.client.generated_file_content,
               "artifact_version": self.client.artifact_content}[kind]
        try:
            download = get(object_id, max_bytes=max_bytes)
        except NotFoundError:
            raise NotFound(object_id) from None
        except ApiError as exc:
            raise self._object_failure(exc, object_id) from None
        return None if download.too_large else download.content

    def project(self, project_id: str) -> dict[str, Any]:
        """Project detail (name, instructions, ...)."""
        try:
            return _raw(self.client.project(project_id))
        except NotFoundError:
            raise NotFound(project_id) from None
        except ApiError as exc:
            raise self._object_failure(exc, project_id) from None

    def project_attachments(self, project_id: str) -> Iterator[dict[str, Any]]:
        """Every file and document entry of a project (pages of 100)."""
        try:
            for record in self.client.project_attachments(project_id, limit=self.project_page_size):
                yield _raw(record)
        except NotFoundError:
            return
        except ApiError as exc:
            raise self._object_failure(exc, project_id) from None

    def document(self, document_id: str) -> dict[str, Any]:
        """A project document with its text in ``content``."""
        try:
            return _raw(self.client.project_document(document_id))
        except NotFoundError:
            raise NotFound(document_id) from None
        except ApiError as exc:
            raise self._object_failure(exc, document_id) from None


def _raw(record: Any) -> dict[str, Any]:
    raw = getattr(record, "raw", None)
    return raw if isinstance(raw, dict) and raw else dict(record)


def _first_page(pager: Any) -> ListPage:
    page = next(iter(pager.pages()))
    env = page.envelope
    return ListPage([_raw(r) for r in page.records], page.cursor, page.has_more,
                    env.get("first_id"), env.get("last_id"), page.request_id)
