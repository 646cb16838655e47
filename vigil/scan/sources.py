"""The three things a scan walks (chats, projects, the Activity Feed) and how each resumes.

A source turns its checkpoint state into one list request (``fetch``) and computes the state
that resumes just after a page (``advance``). The two retry sources read the lake's ledger
instead of the API: chats and projects holding objects that an earlier scan skipped for a reason
that can heal (``vigil.lake.ledger.RETRYABLE_REASONS``), so the forward scan comes back for them. The runner saves that state only after the page's
rows have landed, so a crash replays at most one page. Forward and historical scans use the same
sources with different states: the forward state follows the API's own cursors indefinitely;
a historical state is bounded by its window and lives in its own namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from vigil.lake.ledger import RETRYABLE_REASONS
from vigil.scan.fetch import ListPage

PROJECT_OVERLAP = timedelta(minutes=2)  # re-read projects touched just before the last walk
ACTIVITY_OVERLAP = timedelta(minutes=5)  # re-poll behind the feed cursor for late or tied rows


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def newest_time(records: list[dict[str, Any]], current: str | None) -> str | None:
    """The latest ``created_at`` among ``records`` and ``current`` (ISO text), as ISO text."""
    best = datetime.fromisoformat(current.replace("Z", "+00:00")) if current else None
    for r in records:
        try:
            ts = datetime.fromisoformat(str(r.get("created_at")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        if best is None or ts > best:
            best = ts
    return iso(best) if best else None


@dataclass(frozen=True)
class Window:
    """What a run covers: content modified in ``[start, end)``; ``end`` None = up to now."""

    start: datetime
    end: datetime | None = None


class Source:
    """One walk over a list endpoint."""

    name = ""
    historical = False

    def __init__(self, window: Window, run_started: datetime, historical: bool):
        self.window = window
        self.run_started = run_started
        self.historical = historical

    def prepare(self, session: Any) -> None:
        """Read what the walk needs from the run's session (settings) when the plan is made."""

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:  # pragma: no cover
        raise NotImplementedError

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """State after the walk reached its end (default: unchanged)."""
        return dict(state)

    def more(self, state: Mapping[str, Any], page: ListPage) -> bool:
        """Whether the walk continues after ``page`` (``state`` is the state after it)."""
        return page.has_more


class ChatSource(Source):
    """Org-wide chats ordered by ``updated_at``; resumes on the saved ``after_id``."""

    name = "chats"

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        fetcher = session.fetcher
        if self.historical:
            return fetcher.chats_page(after_id=state.get("after_id"),
                                      updated_gte=iso(self.window.start),
                                      updated_lt=iso(self.window.end) if self.window.end else None)
        if state.get("after_id"):
            return fetcher.chats_page(after_id=state["after_id"])
        return fetcher.chats_page(updated_gte=state.get("since") or iso(self.window.start))

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = dict(state)
        if page.cursor:
            new["after_id"] = page.cursor
        return new


class ProjectSource(Source):
    """Projects updated since the last complete walk (page tokens are valid within one walk)."""

    name = "projects"

    def _bounds(self, state: Mapping[str, Any]) -> tuple[str, str | None]:
        if self.historical:
            return iso(self.window.start), iso(self.window.end) if self.window.end else None
        return state.get("walk_since") or state.get("since") or iso(self.window.start), None

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        since, until = self._bounds(state)
        return session.fetcher.projects_page(page=state.get("page"), updated_gte=since, updated_lt=until)

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = dict(state)
        if not self.historical and "walk_since" not in new:
            new["walk_since"] = self._bounds(state)[0]
            new["walk_started"] = iso(self.run_started)
        new["page"] = page.cursor if page.has_more else None
        return new

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        if self.historical:
            return dict(state)
        started = state.get("walk_started") or iso(self.run_started)
        since = datetime.fromisoformat(started.replace("Z", "+00:00")) - PROJECT_OVERLAP
        return {"since": iso(since)}


class ActivitySource(Source):
    """The Activity Feed (newest first). Forward: catch up with ``before_id`` = saved ``first_id``.

    The forward scan's first run walks back to the window start with ``after_id`` and remembers
    the newest id it saw; from then on each run catches up on what is newer, then re-polls the
    last few minutes once (``created_at.gte``): rows indexed late, or sharing the cursor's
    timestamp, can sort behind the cursor, and ids make the overlap harmless.
    """

    name = "activities"

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        fetcher = session.fetcher
        if self.historical:
            return fetcher.activities_page(after_id=state.get("after_id"),
                                           created_gte=iso(self.window.start),
                                           created_lt=iso(self.window.end) if self.window.end else None)
        if state.get("phase") == "overlap":
            return fetcher.activities_page(created_gte=state["overlap_from"])
        if state.get("first_id"):
            return fetcher.activities_page(before_id=state["first_id"])
        return fetcher.activities_page(after_id=state.get("backfill_after_id"),
                                       created_gte=state.get("since") or iso(self.window.start))

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = dict(state)
        if self.historical:
            if page.cursor:
                new["after_id"] = page.cursor
        elif state.get("phase") == "overlap":
            new.pop("overlap_from")
            new["phase"] = "overlapped"  # one page only; older rows were covered by earlier runs
        elif state.get("first_id"):
            if page.cursor:
                new["first_id"] = page.cursor
            new["newest_at"] = newest_time(page.records, new.get("newest_at"))
            if not page.has_more and new.get("newest_at"):
                newest_at = datetime.fromisoformat(new["newest_at"].replace("Z", "+00:00"))
                new["phase"] = "overlap"
                new["overlap_from"] = iso(newest_at - ACTIVITY_OVERLAP)
        else:
            if page.first_id and not new.get("backfill_newest"):
                new["backfill_newest"] = page.first_id
                new["newest_at"] = newest_time(page.records, None)
            if page.cursor:
                new["backfill_after_id"] = page.cursor
        return new

    def more(self, state: Mapping[str, Any], page: ListPage) -> bool:
        if state.get("phase") == "overlap":
            return True  # the catch-up just ended: one re-poll page follows
        return page.has_more and state.get("phase") != "overlapped"

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        if self.historical or state.get("first_id"):
            done = dict(state)
            done.pop("phase", None)
            return done
        if state.get("backfill_newest"):
            return {"first_id": state["backfill_newest"], "newest_at": state.get("newest_at")}
        return dict(state)  # nothing in the feed yet: the next run walks the same window again


class _RetrySource(Source):
    """Containers (chats or projects) holding objects due again, read from the ``objects`` view.

    Keyset pages over the container id; the walk restarts with every run (the state is only
    ``after`` within a run), because what is due changes as rows land.
    """

    container_column = ""
    belongs = ""  # SQL condition: the objects rows of this kind of container
    page_size = 200

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        col = self.container_column
        rows = session.lake.query(
            f"SELECT {col} AS container, any_value(user_email) AS user_email, "
            f"any_value(project_id) AS project_id, "
            f"list(struct_pack(k := object_kind, i := object_id, v := object_version)) AS due "
            f"FROM objects WHERE status = 'skipped' AND list_contains(?, reason) "
            f"AND coalesce(attempts, 1) < ? AND scan_run_id IS DISTINCT FROM ? "
            f"AND {self.belongs} AND {col} > ? "
            f"GROUP BY {col} ORDER BY {col} LIMIT ?",
            [sorted(RETRYABLE_REASONS), session.ledger.max_attempts, session.run_id,
             state.get("after") or "", self.page_size + 1]).to_pylist()
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        records = [self.record(r) for r in rows]
        return ListPage(records, rows[-1]["container"] if rows else None, more)

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        return {"after": page.cursor} if page.cursor else dict(state)

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {}


class ChatRetrySource(_RetrySource):
    """Chats with objects (or the transcript itself) skipped by an earlier scan, due again."""

    name = "chat_retries"
    container_column = "chat_id"
    belongs = "chat_id IS NOT NULL"

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": row["container"], "project_id": row["project_id"],
                "user": {"email_address": row["user_email"]},
                "retry_keys": [(d["k"], d["i"], d["v"]) for d in row["due"]]}


class ProjectRetrySource(_RetrySource):
    """Projects with content (or the project itself) skipped by an earlier scan, due again."""

    name = "project_retries"
    container_column = "project_id"
    belongs = "chat_id IS NULL AND project_id IS NOT NULL"

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": row["container"], "retry_keys": [(d["k"], d["i"], d["v"]) for d in row["due"]]}


SOURCE_KINDS: dict[str, type[Source]] = {
    "activities": ActivitySource, "projects": ProjectSource, "chats": ChatSource,
    "project_retries": ProjectRetrySource, "chat_retries": ChatRetrySource,
}


def make_sources(window: Window, run_started: datetime, historical: bool,
                 include: tuple[str, ...] = ("activities", "projects", "chats")) -> list[Source]:
    """The sources of a run, in the order they are walked."""
    return [SOURCE_KINDS[name](window, run_started, historical) for name in include]
