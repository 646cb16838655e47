"""Fetch what is new in a page of chats: messages, files, generated files, artifact versions.

A chat whose ``updated_at`` is already in the ledger is skipped without a request. Otherwise its
transcript is fetched (one request) and only messages the ledger has not seen are kept; a file
is downloaded only when its (id, md5) is new, its listed size is under the cap and it has not
been claimed by another chat of the same page. Inspection happens afterwards, in order
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
from vigil.scan.rows import (ARTIFACT_VERSION, CHAT, CHAT_FILE, GENERATED_FILE, MESSAGE, Context,
                             ObjectRef, block_tool_names, chat_context, event_row)
from vigil.scan.work import Pending, Work, inspect_all


def inspect_chats(session: Any, chats: Iterable[Mapping[str, Any]], on_item: Any = None) -> Batch:
    """Rows for the in-scope chats of one list page."""
    claims = Claims(session.ledger)
    return inspect_all(session, lambda chat: fetch_chat(session, claims, chat), chats, on_item)


def fetch_chat(session: Any, claims: Claims, chat: Mapping[str, Any]) -> Work:
    """Fetch what is new in one chat (runs on a worker thread; no inspection here).

    ``chat`` is a chat-list record, or ``{"id": ...}`` alone when a later scan retries a chat
    whose objects were skipped for a reason that can heal.
    """
    work = Work(retry_keys=list(chat.get("retry_keys") or ()))
    work.counts["chats_seen"] += 1
    if chat.get("updated_at") and session.ledger.inspected(CHAT, chat["id"], chat["updated_at"]):
        work.counts["chats_unchanged"] += 1
        return work
    project_name = session.project_name(chat.get("project_id"))
    try:
        transcript = session.fetcher.transcript(chat["id"])
    except (NotFound, ObjectUnavailable) as exc:
        reason = exc.reason if isinstance(exc, ObjectUnavailable) else "not_found"
        work.container = ObjectRef(CHAT, chat["id"], chat.get("updated_at"))
        work.container_ctx = chat_context(chat, project_name, session.org_id)
        work.container_verdict = Verdict("skipped", reason)
        work.skipped[reason] += 1
        return work
    work.counts["chats_fetched"] += 1
    if project_name is None and transcript.get("project_id"):
        project_name = session.project_name(transcript["project_id"])
    ctx = chat_context({**chat, **transcript}, project_name, session.org_id)
    for message in transcript.get("chat_messages") or ():
        _add_message(session, claims, work, ctx, message, new=claims.claim(MESSAGE, message["id"], None))
    work.container = ObjectRef(CHAT, chat["id"], transcript.get("updated_at") or chat.get("updated_at"))
    work.container_ctx = ctx
    return work


def _add_message(session: Any, claims: Claims, work: Work, chat_ctx: Context,
                 message: Mapping[str, Any], new: bool) -> None:
    """A new message's text and files; for a message inspected before, only its files that are
    due again (skipped by an earlier scan for a reason that can heal)."""
    ctx = chat_ctx.with_(message_id=message["id"], author_role=message.get("role"),
                         event_time=message.get("created_at"), tool_names=block_tool_names(message))
    if new:
        work.pending.append(Pending(ObjectRef(MESSAGE, message["id"]), ctx, MESSAGE,
                                    segments=list(message_segments(message)),
                                    evidence_text=json.dumps(message, ensure_ascii=False, sort_keys=True)))
    for entry in message.get("files") or ():
        _add_file(session, claims, work, ctx, CHAT_FILE, entry, entry.get("md5"), new)
    for entry in message.get("generated_files") or ():
        _add_file(session, claims, work, ctx, GENERATED_FILE, entry, entry.get("md5"), new)
    for entry in message.get("artifacts") or ():
        art = {"id": entry["version_id"], "filename": artifact_filename(entry),
               "mime_type": entry.get("artifact_type")}
        _add_file(session, claims, work, ctx, ARTIFACT_VERSION, art, None, new)


def _add_file(session: Any, claims: Claims, work: Work, msg_ctx: Context, kind: str,
              entry: Mapping[str, Any], version: str | None, new_message: bool) -> None:
    """The file event of a new message, and the file itself if this (id, version) is new."""
    ref = ObjectRef(kind, entry["id"], version, name=entry.get("filename"),
                    mime=entry.get("mime_type"), size=entry.get("size_bytes"))
    ctx = msg_ctx.with_(file_id=ref.object_id, file_name=ref.name)
    work.referenced.add(ref.key)
    if not claims.claim(kind, ref.object_id, version):
        if not new_message:
            return
        # Inspected before (another chat, an earlier run): a new event, but not new content.
        work.events.append(event_row(kind, ref, ctx, bytes_=ref.size, findings_count=None,
                                     scan_status="inspected_before", run_id=session.run_id,
                                     scanned_at=session.clock()))
        return
    work.pending.append(fetch_object(session, ref, ctx, kind))


def fetch_object(session: Any, ref: ObjectRef, ctx: Context, event_kind: str | None) -> Pending:
    """Download a file-like object unless its listed size already rules it out."""
    if session.inspector.too_large(ref.size):
        return Pending(ref, ctx, event_kind, verdict=Verdict("skipped", "too_large", bytes=ref.size))
    try:
        data = session.fetcher.content(ref.kind, ref.object_id, session.inspector.max_file_bytes)
    except NotFound:
        return Pending(ref, ctx, event_kind, verdict=Verdict("skipped", "not_found", bytes=ref.size))
    except ObjectUnavailable as exc:
        return Pending(ref, ctx, event_kind, verdict=Verdict("skipped", exc.reason, bytes=ref.size))
    if data is None:  # the listed size was missing or wrong; the download stopped at the cap
        return Pending(ref, ctx, event_kind, verdict=Verdict("skipped", "too_large", bytes=ref.size))
    return Pending(ref, ctx, event_kind, data=data)


def artifact_filename(entry: Mapping[str, Any]) -> str:
    """A file name for an artifact version; its extension tells extraction how to read it."""
    kind = (entry.get("artifact_type") or "").lower()
    ext = ".md" if "markdown" in kind else ".html" if "html" in kind else ".txt"
    title = (entry.get("title") or entry["version_id"]).replace("/", "_").replace("\\", "_")
    return f"{title}{ext}"
