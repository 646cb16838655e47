"""Work fetched for one chat or project, waiting for inspection.

Fetching (worker threads) and inspecting (the scan's thread) are split so the detection engine,
which runs one scan at a time, is only ever used from one thread, while the next chats' requests
are already in flight.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.lake.ledger import RETRYABLE_REASONS
from vigil.scan.batch import Batch
from vigil.scan.inspect import Verdict
from vigil.scan.rows import SESSION_EVENT_KINDS, Context, ObjectRef, event_row, object_row, session_event_row


@dataclass
class Pending:
    """One object to inspect: text segments, downloaded bytes, or an already decided skip."""

    ref: ObjectRef
    ctx: Context
    event_kind: str | None  # the chat_events row it gives (None: no event, e.g. project content)
    segments: list[tuple[str, str]] | None = None
    data: bytes | None = None
    verdict: Verdict | None = None
    evidence_text: str | None = None  # what evidence capture stores for text objects
    document: str | None = None  # a text read whole, located by line (code-artifact versions)
    partial: str | None = None  # scanned, but only in part: ``truncated`` or ``binary_not_shown``


@dataclass
class Work:
    """Everything fetched for one chat or project."""

    pending: list[Pending] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # rows needing no inspection
    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    container: ObjectRef | None = None  # the chat transcript's ledger row, written last
    container_ctx: Context | None = None
    container_verdict: Verdict | None = None
    retry_keys: list[tuple[str, str, str | None]] = field(default_factory=list)  # due objects revisited
    referenced: set[str] = field(default_factory=set)  # object keys the chat or project still holds

    def skipped_retryable(self) -> bool:
        """Whether something of this chat was skipped for a reason a later scan may heal."""
        return any(reason in RETRYABLE_REASONS for reason in self.skipped)


def complete(session: Any, work: Work, now: datetime) -> Batch:
    """Inspect a work item's pending objects and build its rows (the scan's thread)."""
    batch = Batch(chat_events=list(work.events), counts=Counter(work.counts),
                  skipped=Counter(work.skipped))
    retry_later = work.skipped_retryable()
    inspector = session.inspector
    for p in work.pending:
        verdict = p.verdict
        if verdict is None and p.segments is not None:
            verdict = inspector.segments(p.ref, p.ctx, p.segments, session.run_id, now)
            if verdict.findings and inspector.evidence is not None and p.evidence_text is not None:
                verdict.evidence_uri = inspector.evidence.capture_text(
                    p.ref.kind, p.ref.object_id, p.ref.version, p.evidence_text,
                    filename=f"{p.ref.kind}.json" if p.evidence_text.startswith("{") else f"{p.ref.kind}.txt")
        elif verdict is None and p.document is not None:
            verdict = inspector.document(p.ref, p.ctx, p.document, session.run_id, now)
            if verdict.findings and inspector.evidence is not None:
                verdict.evidence_uri = inspector.evidence.capture_text(
                    p.ref.kind, p.ref.object_id, p.ref.version, p.document, filename=p.ref.name or "content.txt")
        elif verdict is None:
            verdict = inspector.content(p.ref, p.ctx, p.data or b"", session.run_id, now)
        if p.partial and verdict.status == "scanned":
            verdict.reason = p.partial
        record_verdict(session, batch, p.ref, p.ctx, verdict, now, p.event_kind)
        retry_later = retry_later or (verdict.status == "skipped" and verdict.reason in RETRYABLE_REASONS)
    container_verdict = work.container_verdict
    if container_verdict is None:
        _settle_superseded(session, batch, work, now)
    elif container_verdict.reason not in RETRYABLE_REASONS:
        _settle_superseded(session, batch, work, now, reason=container_verdict.reason or "not_found")
    if work.container is not None and (container_verdict is not None or not retry_later):
        # A chat with an object still due again is not "fully inspected as of updated_at".
        v = container_verdict or Verdict("scanned")
        batch.objects.append(object_row(work.container, work.container_ctx or Context(),
                                        status=v.status, reason=v.reason, bytes_=None,
                                        findings_count=None, run_id=session.run_id,
                                        scanned_at=now, attempts=_attempt(session, work.container, v)))
    return batch


def _settle_superseded(session: Any, batch: Batch, work: Work, now: datetime,
                       reason: str = "superseded") -> None:
    """Close ledger rows a retry came back for but did not meet again.

    A due object that its chat or project no longer references (the chat was edited, the file
    replaced) got no new verdict; it is recorded as ``superseded`` so no scan retries it again.
    When the chat or project itself is gone, its due objects get that final ``reason``.
    """
    held = set(work.referenced)
    if work.container is not None and work.container_verdict is None:
        held.add(work.container.key)
    for kind, object_id, version in work.retry_keys:
        ref = ObjectRef(kind, object_id, version)
        if ref.key not in held:
            batch.objects.append(object_row(ref, work.container_ctx or Context(), status="skipped",
                                            reason=reason, bytes_=None, findings_count=0,
                                            run_id=session.run_id, scanned_at=now,
                                            attempts=_attempt(session, ref, Verdict("skipped"))))


def _attempt(session: Any, ref: ObjectRef, verdict: Verdict) -> int:
    """The attempt number this verdict records (retryable skips count towards the limit)."""
    return session.ledger.next_attempt(ref.kind, ref.object_id, ref.version)


def record_verdict(session: Any, batch: Batch, ref: ObjectRef, ctx: Context, verdict: Verdict,
                   now: datetime, event_kind: str | None) -> None:
    """Add an inspected object's findings, chat event and ledger row to the batch."""
    batch.findings.extend(verdict.findings)
    if verdict.status == "scanned":
        batch.counts["objects_scanned"] += 1
        batch.bytes_scanned += verdict.bytes or 0
    else:
        batch.skipped[verdict.reason or "unknown"] += 1
    if verdict.status == "scanned" and verdict.reason:
        batch.counts[f"objects_{verdict.reason}"] += 1  # scanned in part (truncated, ...)
    if event_kind in SESSION_EVENT_KINDS:
        batch.session_events.append(session_event_row(
            event_kind, ref, ctx, bytes_=verdict.bytes, findings_count=verdict.findings_count,
            scan_status=verdict.status, reason=verdict.reason, truncated=verdict.reason == "truncated",
            run_id=session.run_id, scanned_at=now))
    elif event_kind is not None and ctx.chat_id is not None:
        batch.chat_events.append(event_row(event_kind, ref, ctx, bytes_=verdict.bytes,
                                           findings_count=verdict.findings_count,
                                           scan_status=verdict.status, run_id=session.run_id,
                                           scanned_at=now))
    batch.objects.append(object_row(ref, ctx, status=verdict.status, reason=verdict.reason,
                                    bytes_=verdict.bytes, findings_count=verdict.findings_count,
                                    run_id=session.run_id, scanned_at=now,
                                    detected_type=verdict.detected_type,
                                    evidence_uri=verdict.evidence_uri,
                                    duration_ms=verdict.duration_ms,
                                    attempts=_attempt(session, ref, verdict)))


def inspect_all(session: Any, fetch: Any, items: Any, on_item: Any = None) -> Batch:
    """Fetch items on the worker pool and inspect each, in order, on this thread.

    ``on_item(done, batch, item)`` (optional) runs after each item: progress reports.
    """
    batch = Batch()
    items = list(items)
    for done, work in enumerate(session.pool.ordered(fetch, items), 1):
        batch.extend(complete(session, work, session.clock()))
        if on_item is not None:
            on_item(done, batch, items[done - 1])
    return batch
