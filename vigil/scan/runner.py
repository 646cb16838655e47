"""The scan loop: for each source, fetch a page → filter → inspect → land → checkpoint.

The loop is written once and used by both the plain-Python path (``vigil scan``, the tests) and
the Prefect flows, which pass ``Steps`` whose methods are Prefect tasks. A checkpoint is saved
only after ``land`` returned, so a crash replays at most one page, and the replay lands the same
deterministic ids again (invisible in SQL).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.lake import CheckpointStore, historical_namespace
from vigil.scan.batch import Batch
from vigil.scan.chats import inspect_chats
from vigil.scan.fetch import ListPage
from vigil.scan.projects import inspect_projects
from vigil.scan.session import ScanSession, new_run_id
from vigil.scan.sources import Source, Window, iso, make_sources

_log = logging.getLogger(__name__)

TOP_FINDINGS = 20
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass
class ScanPlan:
    """What a run walks and where its checkpoints live."""

    run_type: str  # "forward" | "historical"
    namespace: str
    window: Window
    sources: list[Source]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    """What a run did; becomes its ``scan_runs`` row and the flows' artifacts."""

    run_id: str
    run_type: str
    started_at: datetime
    window: Window
    status: str = "running"
    finished_at: datetime | None = None
    pages: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    findings_by: Counter = field(default_factory=Counter)  # (infotype, severity) -> n
    top_findings: list[dict[str, Any]] = field(default_factory=list)
    bytes_scanned: int = 0
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    cursors_before: dict[str, Any] = field(default_factory=dict)
    cursors_after: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    progress: float = 0.0

    def add(self, source: str, batch: Batch) -> None:
        self.pages[source] += 1
        self.counts.update(batch.counts)
        self.counts["findings"] += len(batch.findings)
        self.counts["chat_events"] += len(batch.chat_events)
        self.counts["activities"] += len(batch.activities)
        self.skipped.update(batch.skipped)
        self.bytes_scanned += batch.bytes_scanned
        for f in batch.findings:
            self.findings_by[(f["infotype"], f["severity"])] += 1
        if batch.findings:
            ranked = self.top_findings + [_top_entry(f) for f in batch.findings]
            ranked.sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"] or "", 9), f["infotype"]))
            self.top_findings = ranked[:TOP_FINDINGS]

    def result(self) -> dict[str, Any]:
        """Counts only (no content): what a flow returns."""
        return {"run_id": self.run_id, "run_type": self.run_type, "status": self.status,
                "counts": dict(self.counts), "skipped": dict(self.skipped),
                "requests": self.requests, "rate_limited": self.rate_limited,
                "retries": self.retries}

    @property
    def objects_skipped(self) -> int:
        return sum(self.skipped.values())

    def scan_run_row(self, parameters: dict[str, Any]) -> dict[str, Any]:
        finished = self.finished_at or self.started_at
        return {
            "scan_run_id": self.run_id, "run_type": self.run_type, "status": self.status,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "window_start": self.window.start, "window_end": self.window.end,
            "cursors_before": json.dumps(self.cursors_before, sort_keys=True),
            "cursors_after": json.dumps(self.cursors_after, sort_keys=True),
            "chats_seen": self.counts["chats_seen"],
            "objects_scanned": self.counts["objects_scanned"],
            "objects_skipped": self.objects_skipped, "bytes_scanned": self.bytes_scanned,
            "findings_count": self.counts["findings"],
            "chat_events_count": self.counts["chat_events"],
            "activities_count": self.counts["activities"], "requests_used": self.requests,
            "rate_limited_429": self.rate_limited, "retries": self.retries,
            "duration_s": (finished - self.started_at).total_seconds(), "error": self.error,
            "parameters_json": json.dumps(parameters, sort_keys=True, default=str),
        }


def _top_entry(f: dict[str, Any]) -> dict[str, Any]:
    """A masked, content-free view of a finding for the run's artifact."""
    return {"severity": f["severity"], "infotype": f["infotype"], "masked": f["masked"],
            "object_kind": f["object_kind"], "object_id": f["object_id"], "locator": f["locator"],
            "chat_id": f["chat_id"], "user_email": f["user_email"], "project_name": f["project_name"]}


class Steps:
    """The four steps of a page. The Prefect flows subclass this with task-wrapped methods."""

    def fetch(self, session: ScanSession, source: Source, state: dict[str, Any]) -> ListPage:
        """One list request (the client retries transient errors itself)."""
        return source.fetch(session.fetcher, state)

    def filter(self, session: ScanSession, source: Source, page: ListPage) -> list[dict[str, Any]]:
        """The page's records that are in scope."""
        return filter_records(session, source.name, page.records)

    def inspect(self, session: ScanSession, source: Source, records: list[dict[str, Any]]) -> Batch:
        """Inspect what is new in the records; never raises on bad content (records skips)."""
        return inspect_records(session, source.name, records)

    def land(self, session: ScanSession, checkpoints: CheckpointStore, source: Source,
             batch: Batch, state: dict[str, Any]) -> None:
        """Land the batch durably, then save the source's checkpoint."""
        land_page(session, checkpoints, source.name, batch, state)


def filter_records(session: ScanSession, source: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply the scope to one page of ``source`` records."""
    if source == "chats":
        return [c for c in records if session.chat_in_scope(c)]
    if source == "projects":
        session.remember_projects(records)
        return [p for p in records if session.project_in_scope(p)]
    return list(records)


def inspect_records(session: ScanSession, source: str, records: list[dict[str, Any]]) -> Batch:
    """Turn one page of in-scope records into rows."""
    if source == "chats":
        return inspect_chats(session, records)
    if source == "projects":
        return inspect_projects(session, records)
    from vigil.lake import activity_row

    batch = Batch(activities=[activity_row(a, session.run_id) for a in records])
    return batch


def land_page(session: ScanSession, checkpoints: CheckpointStore, source: str, batch: Batch,
              state: dict[str, Any]) -> None:
    """Land a page's rows, then (only then) save the source's new checkpoint state."""
    if batch.row_count():
        # Compaction waits for the end of the run (``compact_after_run``): merging growing
        # partitions after every few pages would redo the same work many times in a long scan.
        session.lake.land(batch.tables(), ledger=session.ledger, compact=False)
    session.release_claims()
    checkpoints.update(**{source: state})


PageHook = Callable[[str, int, RunSummary], None]


def run_scan(session: ScanSession, plan: ScanPlan, steps: Steps | None = None,
             on_page: PageHook | None = None, logger: Any = None) -> RunSummary:
    """Walk every source of ``plan`` to its end; write the run's ``scan_runs`` row.

    ``on_page(source, page_number, summary)`` runs after each page has landed and its
    checkpoint is saved (progress reports; tests use it to simulate a crash). ``logger``
    (default: this module's) receives progress lines: counts and ids, never content.
    """
    log = logger or _log
    steps = steps or Steps()
    started = session.clock()
    session.run_id = session.run_id or new_run_id(plan.run_type, started)
    summary = RunSummary(session.run_id, plan.run_type, started, plan.window)
    checkpoints = session.lake.checkpoints(plan.namespace)
    saved = checkpoints.load()
    summary.cursors_before = {s.name: saved.get(s.name) for s in plan.sources}
    counters_before = session.fetcher.counters()
    t0 = time.perf_counter()
    log.info("%s scan %s started (window from %s)", plan.run_type, session.run_id, iso(plan.window.start))
    try:
        for index, source in enumerate(plan.sources):
            state = dict(saved.get(source.name) or {})
            if state.get("done"):
                continue  # a resumed historical run already finished this source
            page_no = 0
            while True:
                page = steps.fetch(session, source, state)
                records = steps.filter(session, source, page)
                batch = steps.inspect(session, source, records)
                state = source.advance(state, page)
                more = source.more(state, page)
                if not more:
                    state = source.finish(state)
                    if plan.run_type == "historical":
                        state["done"] = True
                steps.land(session, checkpoints, source, batch, state)
                page_no += 1
                summary.add(source.name, batch)
                summary.progress = _progress(plan, index, source, page)
                log.info("%s page %d landed: %d records, %d in scope, %d findings",
                         source.name, page_no, len(page.records), len(records), len(batch.findings))
                if on_page is not None:
                    on_page(source.name, page_no, summary)
                if not more:
                    break
        compact_after_run(session)
        summary.status = "completed"
        summary.progress = 100.0
        if plan.run_type == "historical":
            checkpoints.update(status="done")
    except BaseException as exc:
        summary.status = "failed"
        summary.error = type(exc).__name__  # messages may quote content; the type is enough here
        raise
    finally:
        summary.finished_at = session.clock()
        summary.cursors_after = {s.name: checkpoints.load().get(s.name) for s in plan.sources}
        used = session.fetcher.counters()
        summary.requests = used.requests - counters_before.requests
        summary.rate_limited = used.rate_limited - counters_before.rate_limited
        summary.retries = used.retries - counters_before.retries
        _record_run(session, summary, plan)
        log.info("%s scan %s %s in %.1f s: %d requests, %d findings", plan.run_type,
                 session.run_id, summary.status, time.perf_counter() - t0, summary.requests,
                 summary.counts["findings"])
    return summary


def compact_after_run(session: ScanSession) -> None:
    """Merge the small files the run left, where a partition holds more than the lake's threshold."""
    if session.lake.compact_threshold:
        session.lake.compact_if_needed(["findings", "chat_events", "objects", "activities"])


def _record_run(session: ScanSession, summary: RunSummary, plan: ScanPlan) -> None:
    try:
        session.lake.land({"scan_runs": [summary.scan_run_row(plan.parameters)]})
    except Exception:  # noqa: BLE001 - never hide the run's own error behind this one
        _log.exception("could not record scan run %s", summary.run_id)
        if summary.status == "completed":
            raise


def _progress(plan: ScanPlan, index: int, source: Source, page: ListPage) -> float:
    """Rough percent done: sources in order, chats by the position of their ``updated_at``."""
    weights = {"activities": 5.0, "projects": 5.0, "chats": 90.0}
    total = sum(weights.get(s.name, 0) for s in plan.sources) or 1.0
    before = sum(weights.get(s.name, 0) for s in plan.sources[:index])
    part = 1.0 if not page.has_more else 0.0
    if source.name == "chats" and page.has_more and page.records:
        last = page.records[-1].get("updated_at")
        end = plan.window.end or plan.window.start
        try:
            ts = datetime.fromisoformat(last.replace("Z", "+00:00"))
            span = (end - plan.window.start).total_seconds()
            part = min(max((ts - plan.window.start).total_seconds() / span, 0.0), 0.99) if span > 0 else 0.0
        except (AttributeError, ValueError):
            part = 0.0
    return round(100.0 * (before + weights.get(source.name, 0) * part) / total, 1)


def forward_plan(session: ScanSession, lookback: timedelta, now: datetime | None = None,
                 sources: tuple[str, ...] = ("activities", "projects", "chats")) -> ScanPlan:
    """The forward scan: continue every source from the ``forward`` checkpoint.

    ``lookback`` sets where the very first forward run starts (content modified since
    ``now - lookback``); later runs follow the saved cursors.
    """
    now = now or session.clock()
    window = Window(now - lookback, None)
    return ScanPlan("forward", "forward", window, make_sources(window, now, historical=False,
                                                               include=sources),
                    {"lookback_days": lookback.total_seconds() / 86400})


def historical_plan(session: ScanSession, days: int, now: datetime | None = None,
                    sources: tuple[str, ...] = ("activities", "projects", "chats")) -> ScanPlan:
    """A historical scan of content modified in the last ``days`` days.

    If an earlier historical run with the same ``days`` did not finish, this resumes it (same
    window, same checkpoints); otherwise a new window ``[now - days, now)`` gets its own
    namespace. Never touches the forward checkpoint.
    """
    if days < 1:
        raise ValueError("max_last_modified_days must be at least 1")
    now = now or session.clock()
    for ns in reversed(session.lake.checkpoint_namespaces("historical")):
        state = session.lake.checkpoints(ns).load()
        if state.get("days") == days and state.get("status") != "done":
            window = Window(datetime.fromisoformat(state["window_start"]),
                            datetime.fromisoformat(state["window_end"]))
            return ScanPlan("historical", ns, window,
                            make_sources(window, now, historical=True, include=sources),
                            {"max_last_modified_days": days, "resumed": True})
    window = Window(now - timedelta(days=days), now)
    ns = historical_namespace(f"{days}d-{now.strftime('%Y%m%dT%H%M%S')}")
    session.lake.checkpoints(ns).save({"days": days, "status": "running",
                                       "window_start": window.start.isoformat(),
                                       "window_end": window.end.isoformat()})
    return ScanPlan("historical", ns, window,
                    make_sources(window, now, historical=True, include=sources),
                    {"max_last_modified_days": days, "resumed": False})
