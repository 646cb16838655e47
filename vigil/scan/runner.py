"""Scan plans, the run summary, and the plain-Python scan loop.

The loop — per source, fetch a page → filter → inspect → land → advance the checkpoint — is
written out twice on purpose: in ``run_scan`` below (the ``--no-prefect`` path and the tests of
``vigil/``, which never start Prefect) and in ``flows/*.py``, where each step is a Prefect task.
Both call the same step functions (``vigil.scan.steps``) on the same ``ScanRun``
(``vigil.scan.run``), and a test checks that both land the same rows. A checkpoint is saved only
after a page's rows have landed, so a crash replays at most one page, and the replay lands the
same deterministic ids again (invisible in SQL).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from collections.abc import Mapping
from typing import Any

from vigil.lake import historical_namespace
from vigil.lake.ledger import RETRYABLE_REASONS
from vigil.scan import session_sources  # noqa: F401 - registers the sources of issue 12
from vigil.scan.batch import Batch
from vigil.scan.fetch import ListPage
from vigil.scan.session import ScanSession
from vigil.scan.sources import Source, Window, make_sources

_log = logging.getLogger(__name__)

TOP_FINDINGS = 20
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# The directory comes first: scope by group, and owner e-mails of sessions, read it.
FORWARD_SOURCES = ("directory", "posture", "activities", "projects", "chats", "local_sessions",
                   "remote_sessions", "code_artifacts", "project_retries", "chat_retries", "session_retries")
HISTORICAL_SOURCES = ("directory", "posture", "activities", "projects", "chats", "local_sessions",
                      "remote_sessions", "code_artifacts")
# Skips that are policy, not failure: they do not make a run "completed_with_skips".
POLICY_SKIPS = frozenset({"too_large", "type_excluded", "not_found", "superseded", "out_of_scope"})
# Content the API itself does not give (SPEC §9): recorded in the ledger, not a scan failure.
UNAVAILABLE_CONTENT = frozenset({"not_captured", "cmek_key_revoked", "retention_elapsed", "oversize",
                                 "content_unavailable", "synthetic_marker", "pending", "rotated_out"})


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
    connector: str | None = None
    org_id: str | None = None
    owner: str | None = None
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
    rules_version: str | None = None  # hash of the built-in and custom rules (vigil.scan.rules)
    previous_rules_version: str | None = None  # of the organization's previous run

    @property
    def rules_changed(self) -> bool:
        """Whether this run's rule set differs from the previous run's (False for a first run)."""
        return bool(self.previous_rules_version and self.rules_version
                    and self.previous_rules_version != self.rules_version)

    def add(self, source: str, batch: Batch) -> None:
        self.pages[source] += 1
        self.counts.update(batch.counts)
        self.counts["findings"] += len(batch.findings)
        self.counts["chat_events"] += len(batch.chat_events)
        self.counts["session_events"] += len(batch.session_events)
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
                "retries": self.retries, "retry_later": self.retry_later,
                "rules_version": self.rules_version, "rules_changed": self.rules_changed}

    @property
    def objects_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def failed_skips(self) -> dict[str, int]:
        """Objects skipped because something failed (not by policy), by reason."""
        return {r: n for r, n in self.skipped.items() if r not in POLICY_SKIPS | UNAVAILABLE_CONTENT and n}

    def completion_status(self) -> str:
        """``completed``, or ``completed_with_skips`` when objects were skipped on failure
        (retryable ones are tried again by the next forward scans)."""
        return "completed_with_skips" if self.failed_skips else "completed"

    @property
    def retry_later(self) -> int:
        """Objects skipped for a reason a later scan may heal."""
        return sum(n for r, n in self.skipped.items() if r in RETRYABLE_REASONS)

    def scan_run_row(self, parameters: dict[str, Any]) -> dict[str, Any]:
        finished = self.finished_at or self.started_at
        return {
            "scan_run_id": self.run_id, "run_type": self.run_type, "connector": self.connector,
            "org_id": self.org_id, "status": self.status, "owner": self.owner,
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
            "rules_version": self.rules_version,
            "parameters_json": json.dumps(parameters, sort_keys=True, default=str),
        }


def _top_entry(f: dict[str, Any]) -> dict[str, Any]:
    """A masked, content-free view of a finding for the run's artifact."""
    return {"severity": f["severity"], "infotype": f["infotype"], "masked": f["masked"],
            "object_kind": f["object_kind"], "object_id": f["object_id"], "locator": f["locator"],
            "chat_id": f["chat_id"], "user_email": f["user_email"], "project_name": f["project_name"]}


def progress_at(plan: ScanPlan, source: Source, record: Mapping[str, Any] | None, finished: bool) -> float:
    """Rough percent done: sources in order; within chats, the position of a chat's
    ``updated_at`` in the run's window (chats are walked in that order)."""
    weights = {"activities": 5.0, "projects": 5.0, "chats": 85.0, "project_retries": 1.0, "chat_retries": 4.0,
               "local_sessions": 3.0, "remote_sessions": 2.0, "code_artifacts": 1.0}
    total = sum(weights.get(s.name, 0) for s in plan.sources) or 1.0
    index = plan.sources.index(source)
    before = sum(weights.get(s.name, 0) for s in plan.sources[:index])
    part = 1.0 if finished else 0.0
    if source.name == "chats" and not finished and record is not None:
        end = plan.window.end or source.run_started
        try:
            ts = datetime.fromisoformat(str(record.get("updated_at")).replace("Z", "+00:00"))
            span = (end - plan.window.start).total_seconds()
            part = min(max((ts - plan.window.start).total_seconds() / span, 0.0), 0.99) if span > 0 else 0.0
        except (TypeError, ValueError):
            part = 0.0
    return round(100.0 * (before + weights.get(source.name, 0) * part) / total, 1)


def forward_plan(session: ScanSession, lookback: timedelta, now: datetime | None = None,
                 sources: tuple[str, ...] = FORWARD_SOURCES) -> ScanPlan:
    """The forward scan: continue every source from the ``forward`` checkpoint.

    ``lookback`` sets where the very first forward run starts (content modified since
    ``now - lookback``); later runs follow the saved cursors.
    """
    now = now or session.clock()
    window = Window(now - lookback, None)
    return ScanPlan("forward", "forward", window, _prepared(session, make_sources(
        window, now, historical=False, include=sources)), {"lookback_days": lookback.total_seconds() / 86400})


def historical_plan(session: ScanSession, days: int, now: datetime | None = None,
                    sources: tuple[str, ...] = HISTORICAL_SOURCES) -> ScanPlan:
    """A historical scan of content modified in the last ``days`` days.

    If an earlier historical run with the same ``days`` did not finish, this resumes it (same
    window, same checkpoints); otherwise a new window ``[now - days, now)`` gets its own
    namespace. Never touches the forward checkpoint.
    """
    if days < 1:
        raise ValueError("max_last_modified_days must be at least 1")
    now = now or session.clock()
    org = session.org_id
    for ns in reversed(session.lake.checkpoint_namespaces("historical", org_id=org)):
        state = session.lake.checkpoints(ns, org_id=org).load()
        if state.get("days") == days and state.get("status") != "done":
            window = Window(datetime.fromisoformat(state["window_start"]),
                            datetime.fromisoformat(state["window_end"]))
            return ScanPlan("historical", ns, window,
                            _prepared(session, make_sources(window, now, historical=True, include=sources)),
                            {"max_last_modified_days": days, "resumed": True})
    window = Window(now - timedelta(days=days), now)
    ns = historical_namespace(f"{days}d-{now.strftime('%Y%m%dT%H%M%S')}")
    session.lake.checkpoints(ns, org_id=org).save({"days": days, "status": "running",
                                       "window_start": window.start.isoformat(),
                                       "window_end": window.end.isoformat()})
    return ScanPlan("historical", ns, window,
                    _prepared(session, make_sources(window, now, historical=True, include=sources)),
                    {"max_last_modified_days": days, "resumed": False})


def _prepared(session: ScanSession, sources: list[Source]) -> list[Source]:
    """Sources that have read their settings from the session."""
    for source in sources:
        source.prepare(session)
    return sources


def run_scan(run: Any) -> RunSummary:
    """Walk every source of ``run.plan`` to its end (the plain-Python twin of the flows' loop)."""
    from vigil.scan import steps  # noqa: PLC0415 - steps import this module

    for source in run.plan.sources:
        state = run.resume_state(source)
        while state is not None:
            page = steps.fetch_page(run, source, state)
            records = steps.filter_page(run, source, page)
            batch = steps.inspect_page(run, source, records)
            steps.land_page(run, source, batch)
            state = steps.advance_checkpoint(run, source, state, page, records, batch)
    return run.summary
