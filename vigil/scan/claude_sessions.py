"""Fetch what is new in Cowork and Claude Code sessions (SPEC §9.1, §9.2).

A session's transcript is read whole, tool input and results at the server maximum (one request
for most sessions); only messages the ledger has not seen, by id, are inspected:

- **local sessions** (``clls_…``; Cowork in Claude Desktop, Claude Code) have no ``updated_at``:
  the forward scan re-reads every session created in a trailing window and keeps the new
  messages. When the API does give ``updated_at`` (later docs), a session whose ``updated_at``
  is in the ledger is not read again;
- **remote sessions** (``cse_…``, cloud Cowork) are versioned by ``updated_at``: a session listed
  with an ``updated_at`` already in the ledger costs no request. A ``pending`` session has no
  transcript yet (the API answers 404): it is recorded as skipped ``pending`` at that
  ``updated_at`` and read once it starts (its ``updated_at`` moves).

Per message, the ledger says what was seen: ``scanned``; ``scanned`` with reason ``truncated``
(a tool block cut at the server maximum: the first ~1 MiB was inspected) or ``binary_not_shown``
(an image or other binary block the API replaces by a placeholder); ``skipped`` with the API's
``content_unavailable`` reason (``not_captured``, ``cmek_key_revoked``, ``retention_elapsed``,
``oversize``; ``content_unavailable`` for remote sessions) or ``synthetic_marker`` (the
system-prompt placeholder). Inspection happens afterwards, on the scan's thread
(``vigil.scan.work``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from vigil.scan.batch import Batch
from vigil.scan.claims import Claims
from vigil.scan.fetch import NotFound, ObjectUnavailable
from vigil.scan.inspect import Verdict
from vigil.scan.messages import message_segments
from vigil.scan.rows import (LOCAL_SESSION, LOCAL_SESSION_MESSAGE, REMOTE_SESSION, REMOTE_SESSION_MESSAGE,
                             Context, ObjectRef, block_tool_names)
from vigil.scan.work import Pending, Work, inspect_all

LOCAL = "local"
REMOTE = "remote"
KINDS = {LOCAL: (LOCAL_SESSION, LOCAL_SESSION_MESSAGE), REMOTE: (REMOTE_SESSION, REMOTE_SESSION_MESSAGE)}
MARKER = "synthetic_marker"


def inspect_sessions(session: Any, kind: str, records: Iterable[Mapping[str, Any]], on_item: Any = None) -> Batch:
    """Rows for the in-scope sessions (``kind`` local or remote) of one list page."""
    claims = Claims(session.ledger)
    return inspect_all(session, lambda record: fetch_session(session, claims, kind, record), records, on_item)


def session_owner(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(user id, e-mail)`` of the user a session belongs to (who started an agent session)."""
    owner = record.get("user") or record.get("started_by_user") or {}
    return owner.get("id"), owner.get("email_address")


def session_context(session: Any, record: Mapping[str, Any], kind: str) -> Context:
    """The context of a session's messages (list record merged with the transcript's copy)."""
    user_id, email = session_owner(record)
    return Context(org_id=record.get("organization_uuid") or session.org_id,
                   user_id=user_id, user_email=session.owner_email(user_id, email),
                   project_id=record.get("claude_project_id"), session_id=record["id"],
                   product_surface=record.get("product_surface") or ("cowork_remote" if kind == REMOTE else None),
                   agent_id=record.get("agent_id"))


def fetch_session(session: Any, claims: Claims, kind: str, record: Mapping[str, Any]) -> Work:
    """Fetch what is new in one session (runs on a worker thread; no inspection here).

    ``record`` is a list record, or ``{"id", "updated_at"?, "retry_keys"}`` when a later scan
    retries a session whose transcript could not be read.
    """
    container_kind, message_kind = KINDS[kind]
    work = Work(retry_keys=list(record.get("retry_keys") or ()))
    work.counts[f"{kind}_sessions_seen"] += 1
    version = record.get("updated_at")
    container = ObjectRef(container_kind, record["id"], version)
    if version and session.ledger.inspected(container_kind, record["id"], version):
        work.counts[f"{kind}_sessions_unchanged"] += 1
        return work
    ctx = session_context(session, record, kind)
    if record.get("status") == "pending":  # the API has no transcript yet (404): no request
        return _container_skip(work, container, ctx, "pending")
    try:
        transcript = session.fetcher.session_transcript(kind, dict(record))
    except (NotFound, ObjectUnavailable) as exc:
        return _container_skip(work, container, ctx, exc.reason)
    work.counts[f"{kind}_sessions_fetched"] += 1
    merged = {**(transcript["session"] or {}), **{k: v for k, v in record.items() if v is not None}}
    ctx = session_context(session, merged, kind)
    new = 0
    for message in transcript["messages"]:
        if claims.claim(message_kind, message["id"], None):
            work.pending.append(message_pending(ObjectRef(message_kind, message["id"]), ctx, message))
            new += 1
    entry = session.ledger.get(container_kind, record["id"], version)
    if new or version or entry is None or entry.status != "scanned":
        # Without updated_at the container row says "read successfully"; it is written again
        # only when something changed, not on every re-read of the trailing window.
        work.container = container
        work.container_ctx = ctx
    return work


def _container_skip(work: Work, container: ObjectRef, ctx: Context, reason: str) -> Work:
    work.container = container
    work.container_ctx = ctx
    work.container_verdict = Verdict("skipped", reason)
    work.skipped[reason] += 1
    return work


def message_pending(ref: ObjectRef, session_ctx: Context, message: Mapping[str, Any]) -> Pending:
    """One session message to inspect, or its skip when the API gives no content for it."""
    provenance = message.get("provenance") or {}
    ptype = provenance.get("type")
    ctx = session_ctx.with_(message_id=message["id"], author_role=message.get("role"),
                            model=message.get("model") or session_ctx.model,
                            event_time=message.get("created_at"), tool_names=block_tool_names(message),
                            content_verification=None if ptype == "content_unavailable" else (ptype or "verified"))
    if ptype == "content_unavailable":
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", provenance.get("reason") or "content_unavailable"))
    if message.get("content_unavailable"):
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", "content_unavailable"))
    if ptype == MARKER:
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", MARKER))
    return Pending(ref, ctx, ref.kind, segments=list(message_segments(message)),
                   evidence_text=json.dumps(message, ensure_ascii=False, sort_keys=True),
                   partial=partial_reason(message))


def partial_reason(message: Mapping[str, Any]) -> str | None:
    """``truncated`` when a tool block was cut (at the server maximum), ``binary_not_shown``
    when a text block is the placeholder of an image or other binary content, else None."""
    blocks = [b for b in message.get("content") or () if isinstance(b, Mapping)]
    if any(b.get("truncated") and b.get("type") in ("tool_use", "tool_result") for b in blocks):
        return "truncated"
    if any(b.get("truncated") and b.get("type") == "text" for b in blocks):
        return "binary_not_shown"
    return None
