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

from vigil.scan.batch import Batch
from vigil.scan.inspect import Verdict
from vigil.scan.rows import Context, ObjectRef, event_row, object_row


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


def complete(session: Any, work: Work, now: datetime) -> Batch:
    """Inspect a work item's pending objects and build its rows (the scan's thread)."""
    batch = Batch(chat_events=list(work.events), counts=Counter(work.counts),
                  skipped=Counter(work.skipped))
    inspector = session.inspector
    for p in work.pending:
        verdict = p.verdict
        if verdict is None and p.segments is not None:
            verdict = inspector.segments(p.ref, p.ctx, p.segments, session.run_id, now)
            if verdict.findings and inspector.evidence is not None and p.evidence_text is not None:
                verdict.evidence_uri = inspector.evidence.capture_text(
                    p.ref.kind, p.ref.object_id, p.ref.version, p.evidence_text,
                    filename=f"{p.ref.kind}.json" if p.evidence_text.startswith("{") else f"{p.ref.kind}.txt")
        elif verdict is None:
            verdict = inspector.content(p.ref, p.ctx, p.data or b"", session.run_id, now)
        record_verdict(session, batch, p.ref, p.ctx, verdict, now, p.event_kind)
    if work.container is not None:
        v = work.container_verdict or Verdict("scanned")
        batch.objects.append(object_row(work.container, work.container_ctx or Context(),
                                        status=v.status, reason=v.reason, bytes_=None,
                                        findings_count=len(batch.findings), run_id=session.run_id,
                                        scanned_at=now))
    return batch


def record_verdict(session: Any, batch: Batch, ref: ObjectRef, ctx: Context, verdict: Verdict,
                   now: datetime, event_kind: str | None) -> None:
    """Add an inspected object's findings, chat event and ledger row to the batch."""
    batch.findings.extend(verdict.findings)
    if verdict.status == "scanned":
        batch.counts["objects_scanned"] += 1
        batch.bytes_scanned += verdict.bytes or 0
    else:
        batch.skipped[verdict.reason or "unknown"] += 1
    if event_kind is not None and ctx.chat_id is not None:
        batch.chat_events.append(event_row(event_kind, ref, ctx, bytes_=verdict.bytes,
                                           findings_count=verdict.findings_count,
                                           scan_status=verdict.status, run_id=session.run_id,
                                           scanned_at=now))
    batch.objects.append(object_row(ref, ctx, status=verdict.status, reason=verdict.reason,
                                    bytes_=verdict.bytes, findings_count=verdict.findings_count,
                                    run_id=session.run_id, scanned_at=now,
                                    detected_type=verdict.detected_type,
                                    evidence_uri=verdict.evidence_uri,
                                    duration_ms=verdict.duration_ms))


def inspect_all(session: Any, fetch: Any, items: Any) -> Batch:
    """Fetch items on the worker pool and inspect each, in order, on this thread."""
    batch = Batch()
    for work in session.pool.ordered(fetch, items):
        batch.extend(complete(session, work, session.clock()))
    return batch
