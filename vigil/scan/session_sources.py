"""The sources issue 12 added: the directory, the organization's posture, Cowork and Claude Code
sessions, Claude Code hosted sites, and sessions due again. How each lists and resumes.

Each is a ``Source`` (``vigil.scan.sources``) that also selects and inspects its own records
(``select`` / ``inspect``, called by ``vigil.scan.steps``), so the page loop and its Prefect tasks
run them like the others. Importing this module registers them in ``SOURCE_KINDS``.

Cursors (the checkpoint state of each source):

| source | forward scan | historical scan |
|---|---|---|
| ``directory``, ``posture`` | the whole directory / every linked org's settings, each run | the same |
| ``local_sessions`` | first run: ``created_at.gte`` = the window's start; then, when the last full walk is ``sessions.local_reread_minutes`` old, a full walk from the earlier of (now − ``sessions.local_lookback_days``) and the previous walk's start, else only sessions created since the previous walk began (− 5 min); page tokens within a walk; an expired token restarts it | ``created_at`` in [window start − lookback, window end) |
| ``remote_sessions`` | every session, newest first (page tokens); those with ``updated_at`` ≥ the first forward window's start whose ``updated_at`` is not in the ledger are read | ``created_at.lt`` = window end; ``updated_at`` ≥ window start |
| ``code_artifacts`` | every artifact (page tokens); every listed version not in the ledger | artifacts with ``updated_at`` in the window (or none) |
| ``session_retries`` | sessions whose transcript an earlier scan could not read, from the ledger | — |
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from vigil.api.errors import CursorExpiredError
from vigil.posture import posture_rows
from vigil.scan.batch import Batch
from vigil.scan.claude_sessions import LOCAL, REMOTE, inspect_sessions, session_owner
from vigil.scan.code_artifacts import artifact_owner, inspect_code_artifacts
from vigil.scan.directory import directory_rows
from vigil.scan.fetch import ListPage
from vigil.scan.rows import LOCAL_SESSION, REMOTE_SESSION
from vigil.scan.sources import SOURCE_KINDS, Source, _RetrySource, iso

NOTE = "_note"  # a record standing for "this list could not be read", carried to inspect
RESTARTED = "cursor_restarted"  # a local-session walk whose page token had expired
NEW_OVERLAP = timedelta(minutes=5)  # local sessions indexed late, or created as the last walk began
LIST_FAILURES = frozenset({"listing_incomplete"})  # notes that make the run completed_with_skips


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class SelfInspectingSource(Source):
    """A source that selects (scope) and inspects its own records."""

    def select(self, session: Any, page: ListPage) -> list[dict[str, Any]]:
        """The page's records in scope, and a note record when the list could not be read."""
        records = [r for r in page.records if self.in_scope(session, r)]
        return records + ([{NOTE: page.note}] if page.note else [])

    def in_scope(self, session: Any, record: Mapping[str, Any]) -> bool:
        return True

    def inspect(self, session: Any, records: list[dict[str, Any]], on_item: Any = None) -> Batch:
        notes = [r[NOTE] for r in records if NOTE in r]
        batch = self.inspect_records(session, [r for r in records if NOTE not in r], on_item)
        for note in notes:
            batch.counts[note] += 1
            if note in LIST_FAILURES:
                batch.skipped[note] += 1
        return batch

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:  # pragma: no cover
        raise NotImplementedError


class _PageTokenWalk(SelfInspectingSource):
    """A walk over page tokens: ``page`` in the state while it runs."""

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = dict(state)
        new.setdefault("walk_started", iso(self.run_started))
        new["page"] = page.cursor if page.has_more else None
        return new


def _filtered(page: ListPage, keep: Any) -> ListPage:
    """``page`` with only the records ``keep`` accepts (the cursor is the API's, unchanged)."""
    return ListPage([r for r in page.records if keep(r)], page.cursor, page.has_more,
                    request_id=page.request_id, note=page.note)


# -- the directory and the posture ------------------------------------------------------------
DIRECTORY_FRESH = "directory_fresh"  # a forward scan within ``directory.refresh_minutes`` of the last read

class DirectorySource(SelfInspectingSource):
    """Users, groups and members (one "page": the whole directory); lands what changed."""

    name = "directory"

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        refreshed = parse_time(state.get("refreshed"))
        if (not self.historical and refreshed is not None
                and self.run_started - refreshed < session.directory_refresh):
            return ListPage([], None, False, note=DIRECTORY_FRESH)  # the lake's copy is recent enough
        return ListPage([session.fetcher.directory()], None, False)

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        if page.note == DIRECTORY_FRESH:
            return dict(state)
        return {"refreshed": iso(self.run_started)}

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        batch = Batch()
        for snapshot in records:
            rows = directory_rows(snapshot, session.lake, session.org_id, session.run_id, session.clock())
            batch.tables_extra.update({t: r for t, r in rows.items() if r})
            batch.counts["directory_users"] += len(snapshot["users"])
            if snapshot.get("groups") is None:
                batch.counts["directory_groups_not_permitted"] += 1
        session.forget_directory()  # the next use reads the lake, where these rows are landing
        return batch


class PostureSource(SelfInspectingSource):
    """The settings of every linked organization: one snapshot per run, and the changes."""

    name = "posture"

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        settings = session.fetcher.organization_settings()
        if settings is None:
            return ListPage([], None, False, note="posture_not_permitted")
        return ListPage(settings, None, False)

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        return {"snapshot": iso(self.run_started)}

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        rows = posture_rows(session.lake, records, session.run_id, session.clock())
        batch = Batch(tables_extra={t: r for t, r in rows.items() if r})
        batch.counts["posture_changes"] += len(rows["posture_changes"])
        return batch


# -- sessions and hosted sites ------------------------------------------------------------------
class LocalSessionSource(_PageTokenWalk):
    """Local sessions (Cowork in Claude Desktop, Claude Code) created in a trailing window.

    They have no ``updated_at``: a session that grew is only seen by reading it again. A forward
    scan re-reads every session created in the last ``lookback`` (a *full* walk) when the last
    full walk is ``reread`` old; in between, it reads the sessions created since the previous
    walk began (minus ``NEW_OVERLAP``), so new sessions cost one request each and growth is
    seen within ``reread``.
    """

    name = "local_sessions"
    lookback = timedelta(days=7)
    reread = timedelta(minutes=60)

    def prepare(self, session: Any) -> None:
        self.lookback = session.local_session_lookback
        self.reread = session.local_session_reread

    def _bounds(self, state: Mapping[str, Any]) -> tuple[str, str | None]:
        if "gte" in state:  # a walk in progress keeps its filters (page tokens are bound to them)
            return state["gte"], state.get("lt")
        if self.historical:
            return iso(self.window.start - self.lookback), iso(self.window.end) if self.window.end else None
        previous = parse_time(state.get("last_walk"))
        if previous is None:
            return iso(self.window.start), None
        if self._full(state):
            return iso(min(previous, self.run_started - self.lookback)), None
        return iso(previous - NEW_OVERLAP), None

    def _full(self, state: Mapping[str, Any]) -> bool:
        """Whether this forward walk re-reads the whole trailing window."""
        if "full" in state:
            return bool(state["full"])
        last_full = parse_time(state.get("last_full"))
        return last_full is None or self.run_started - last_full >= self.reread

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        gte, lt = self._bounds(state)
        try:
            return session.fetcher.local_sessions_page(page=state.get("page"), created_gte=gte, created_lt=lt)
        except CursorExpiredError:
            # A token expires a day after its walk began: walk again (messages dedupe by id).
            page = session.fetcher.local_sessions_page(created_gte=gte, created_lt=lt)
            return ListPage(page.records, page.cursor, page.has_more, request_id=page.request_id,
                            note=page.note or RESTARTED)

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = super().advance(state, page)
        new["gte"], new["lt"] = self._bounds(state)
        if not self.historical:
            new["full"] = self._full(state)
        if page.note == RESTARTED:
            new["walk_started"] = iso(self.run_started)
        return new

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        if self.historical:
            return dict(state)
        walked = state.get("walk_started") or iso(self.run_started)
        return {"last_walk": walked, "last_full": walked if state.get("full", True) else state.get("last_full")}

    def in_scope(self, session: Any, record: Mapping[str, Any]) -> bool:
        return session.owner_in_scope(*session_owner(record))

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        return inspect_sessions(session, LOCAL, records, on_item)


class RemoteSessionSource(_PageTokenWalk):
    """Remote (cloud Cowork) sessions, read again when their ``updated_at`` moves."""

    name = "remote_sessions"

    def _since(self, state: Mapping[str, Any]) -> datetime:
        return parse_time(state.get("since")) or self.window.start

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        lt = iso(self.window.end) if self.historical and self.window.end else None
        page = session.fetcher.remote_sessions_page(page=state.get("page"), created_lt=lt)
        since = self._since(state)  # older sessions are the historical scan's
        return _filtered(page, lambda r: (parse_time(r.get("updated_at")) or since) >= since)

    def advance(self, state: Mapping[str, Any], page: ListPage) -> dict[str, Any]:
        new = super().advance(state, page)
        new["since"] = iso(self._since(state))
        return new

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return dict(state) if self.historical else {"since": iso(self._since(state))}

    def in_scope(self, session: Any, record: Mapping[str, Any]) -> bool:
        project = record.get("claude_project_id")
        projects = session.scope.projects
        if project and projects.mode != "all" and not projects.includes(project, session.project_name(project)):
            return False
        return session.owner_in_scope(*session_owner(record))

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        return inspect_sessions(session, REMOTE, records, on_item)


class CodeArtifactSource(_PageTokenWalk):
    """Claude Code hosted sites; every listed version not inspected yet."""

    name = "code_artifacts"

    def fetch(self, session: Any, state: Mapping[str, Any]) -> ListPage:
        page = session.fetcher.code_artifacts_page(page=state.get("page"))
        if not self.historical:
            return page

        def in_window(record: Mapping[str, Any]) -> bool:  # no updated_at: cannot tell, inspect
            updated = parse_time(record.get("updated_at"))
            return updated is None or (updated >= self.window.start
                                       and (self.window.end is None or updated < self.window.end))

        return _filtered(page, in_window)

    def finish(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return dict(state) if self.historical else {}

    def in_scope(self, session: Any, record: Mapping[str, Any]) -> bool:
        return session.owner_in_scope(*artifact_owner(record))

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        return inspect_code_artifacts(session, records, on_item)


class SessionRetrySource(_RetrySource, SelfInspectingSource):
    """Sessions whose transcript an earlier scan could not read, due again (from the ledger)."""

    name = "session_retries"
    container_column = "object_id"
    belongs = f"object_kind IN ('{LOCAL_SESSION}', '{REMOTE_SESSION}')"

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        due = [(d["k"], d["i"], d["v"]) for d in row["due"]]
        kind, _, version = due[0]
        return {"id": row["container"], "updated_at": version, "retry_kind": kind,
                "user": {"email_address": row["user_email"]}, "retry_keys": due}

    def in_scope(self, session: Any, record: Mapping[str, Any]) -> bool:
        return session.owner_in_scope(None, record["user"]["email_address"])

    def inspect_records(self, session: Any, records: list[dict[str, Any]], on_item: Any) -> Batch:
        batch = Batch()
        for kind, container in ((LOCAL, LOCAL_SESSION), (REMOTE, REMOTE_SESSION)):
            mine = [r for r in records if r["retry_kind"] == container]
            if mine:
                batch.extend(inspect_sessions(session, kind, mine, on_item))
        return batch


SESSION_SOURCES: dict[str, type[Source]] = {
    "directory": DirectorySource, "posture": PostureSource, "local_sessions": LocalSessionSource,
    "remote_sessions": RemoteSessionSource, "code_artifacts": CodeArtifactSource,
    "session_retries": SessionRetrySource,
}
SOURCE_KINDS.update(SESSION_SOURCES)
