"""The three pagination models of the Compliance API (SPEC §3.4) as lazy pagers.

Iterating a pager yields records; ``pager.pages()`` yields :class:`Page` objects whose
``cursor`` is the position just after that page. Store the page, then checkpoint the cursor;
a pager built with that cursor resumes exactly there. A failed request never moves it.

* Model A (activities, chats, chat messages): ``after_id``/``before_id`` with ``first_id``,
  ``last_id`` and ``has_more``. Walking ``after``, the cursor is the page's ``last_id`` (an
  empty page keeps the previous cursor, so a finished walk can be resumed later to pick up
  new records); walking ``before``, it is ``first_id``.
* Model B (directory, projects, code artifacts): ``page`` tokens with ``next_page`` and
  ``has_more``. The cursor is ``next_page``; None once the walk is complete. Code artifacts
  (``until_next_page_null``) continue while ``next_page`` is set, even through empty pages.
* Model C (sessions): ``page`` tokens with ``next_page`` and no ``has_more``; stop at null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from vigil.api.errors import ResponseFormatError

T = TypeVar("T")

Fetch = Callable[[dict[str, Any]], tuple[dict[str, Any], "str | None"]]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint.

    ``cursor``: value to resume from after this page (None when a page-token walk is complete).
    ``envelope``: the response's other top-level fields (e.g. the chat of a messages page).
    """

    records: list[T]
    cursor: str | None
    has_more: bool
    request_id: str | None
    envelope: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.records)


class Pager(Generic[T]):
    """A lazy walk over one list endpoint; see the module docstring for the cursor rules."""

    def __init__(self, fetch: Fetch, parse: Callable[[Any], T], *, model: Literal["A", "B", "C"],
                 cursor: str | None = None, direction: Literal["after", "before"] = "after",
                 records_key: str = "data", until_next_page_null: bool = False) -> None:
        if model not in ("A", "B", "C"):
            raise ValueError(f"unknown pagination model {model!r}")
        if direction not in ("after", "before"):
            raise ValueError("direction must be 'after' or 'before'")
        self._fetch = fetch
        self._parse = parse
        self.model = model
        self.start_cursor = cursor
        self.direction = direction
        self._records_key = records_key
        self._until_null = until_next_page_null

    @property
    def cursor_param(self) -> str:
        """The query parameter the cursor is sent in."""
        if self.model == "A":
            return "after_id" if self.direction == "after" else "before_id"
        return "page"

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.records

    def pages(self) -> Iterator[Page[T]]:
        """Yield pages until the endpoint says there are no more."""
        cursor = self.start_cursor
        while True:
            params = {self.cursor_param: cursor} if cursor else {}
            body, request_id = self._fetch(params)
            if not isinstance(body, dict):
                raise ResponseFormatError("list response is not a JSON object", request_id=request_id)
            items = body.get(self._records_key)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ResponseFormatError(f"`{self._records_key}` is not an array", request_id=request_id)
            records = [self._parse(item) for item in items]
            envelope = {k: v for k, v in body.items() if k != self._records_key}
            next_cursor, has_more, fresh = self._advance(body, cursor)
            yield Page(records, next_cursor, has_more, request_id, envelope)
            if not has_more:
                return
            if fresh is None or fresh == cursor:
                raise ResponseFormatError(
                    "the server reported more results but gave no new cursor", request_id=request_id)
            cursor = next_cursor

    def _advance(self, body: dict[str, Any], cursor: str | None) -> tuple[str | None, bool, str | None]:
        """(cursor after this page, whether to continue, the cursor the server sent)."""
        if self.model == "A":
            key = "last_id" if self.direction == "after" else "first_id"
            new = body.get(key) or None
            return (new or cursor), bool(body.get("has_more")), new
        next_page = body.get("next_page") or None
        if self.model == "C" or self._until_null or "has_more" not in body:
            return next_page, next_page is not None, next_page
        has_more = bool(body.get("has_more"))
        return (next_page if has_more else None), has_more, next_page
