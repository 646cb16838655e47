"""One scan run from start to end: exclusive, visible, and bound to its connector.

``open_run`` is what a flow (or ``vigil scan --no-prefect``) wraps its page loop in:

1. opens a session for the connector (its own lake and evidence root, the org's shared budget);
2. checks that the key reads the configured organization (one request);
3. takes the run's lease (one forward and one historical scan at a time per organization and
   lake; a second waits up to ``wait`` seconds, then stops with a clear message);
4. marks runs left ``running`` by a dead process as ``interrupted`` (this run resumes them: the
   checkpoints say where) and removes their orphan temporary files;
5. lands this run's ``scan_runs`` row as ``running``, then, at the end, as ``completed``,
   ``completed_with_skips`` or ``failed`` (an interrupted process leaves ``running``, which the
   next run turns into ``interrupted``), after compacting the run's small files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vigil.lake.lease import Lease
from vigil.scan import progress
from vigil.lake.state import CheckpointStore
from vigil.lake.storage import remove_orphan_tmp_files
from vigil.scan.runner import RunSummary, ScanPlan, forward_plan, historical_plan, progress_at
from vigil.scan.session import ScanSession, new_run_id
from vigil.scan.setup import RunSettings, check_org, open_session
from vigil.scan.sources import Source, iso

log = logging.getLogger("vigil.scan")

MAX_HISTORICAL_DAYS = 3650
COMPACTED_TABLES = ["findings", "chat_events", "objects", "activities", "session_events", "users",
                    "groups", "group_members", "posture_snapshots", "posture_changes"]

ProgressHook = Callable[["ScanRun"], None]


@dataclass
class ScanRun:
    """Everything the steps of one run share (see ``vigil.scan.steps``)."""

    settings: RunSettings
    session: ScanSession
    plan: ScanPlan
    summary: RunSummary
    checkpoints: CheckpointStore
    on_progress: ProgressHook | None = None
    on_page: Callable[[str, int, RunSummary], None] | None = None  # after each landed page (tests)
    pages: Counter = field(default_factory=Counter)
    pages_counted: set = field(default_factory=set)  # (source, state) of pages already counted
    items_done: int = 0
    counters_before: Any = None
    started_monotonic: float = field(default_factory=time.monotonic)

    def resume_state(self, source: Source) -> dict[str, Any] | None:
        """Where ``source`` starts in this run, or None when a resumed run already finished it."""
        saved = self.checkpoints.load().get(source.name) or {}
        if saved.get("done"):
            return None
        return dict(saved)

    def progress_hook(self, source: Source) -> Callable[[int, Any, Any], None]:
        """A per-item callback for ``inspect_page``: progress moves every few chats, not per page."""

        def tick(done: int, _batch: Any, item: Any) -> None:
            self.items_done += 1
            estimate = progress_at(self.plan, source, item, finished=False)
            self.summary.progress = max(self.summary.progress, min(estimate, 99.9))
            if done % 10 == 0:
                self._report()

        return tick

    def page_landed(self, source: Source, page_no: int) -> None:
        """After a page landed and its checkpoint was saved."""
        self._report()
        if self.on_page is not None:
            self.on_page(source.name, page_no, self.summary)

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self)
        progress.notify(self)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def mark_interrupted(session: ScanSession, run_type: str, current_run: str) -> list[str]:
    """Turn this org's other ``running`` runs of ``run_type`` into ``interrupted``.

    Called while holding the run type's lease: no other run of that type can be alive, so a
    ``running`` row is what a killed process left behind.
    """
    rows = session.lake.query(
        "SELECT * EXCLUDE (dt, landed_at) FROM scan_runs WHERE status = 'running' AND run_type = ? "
        "AND scan_run_id <> ? AND (org_id = ? OR org_id IS NULL)",
        [run_type, current_run, session.org_id]).to_pylist()
    if not rows:
        return []
    for row in rows:
        row["status"] = "interrupted"
        row["error"] = row.get("error") or "the process running it stopped (no final status)"
    session.lake.land({"scan_runs": rows})
    return [r["scan_run_id"] for r in rows]


def previous_rules_version(session: ScanSession, current_run: str) -> str | None:
    """The rules version of the organization's latest earlier run that recorded one."""
    rows = session.lake.query(
        "SELECT rules_version FROM scan_runs WHERE rules_version IS NOT NULL AND scan_run_id <> ? "
        "AND (org_id = ? OR org_id IS NULL) ORDER BY started_at DESC LIMIT 1",
        [current_run, session.org_id]).to_pylist()
    return rows[0]["rules_version"] if rows else None


def _record(session: ScanSession, summary: RunSummary, plan: ScanPlan) -> None:
    session.lake.land({"scan_runs": [summary.scan_run_row(plan.parameters)]})


@contextlib.contextmanager
def open_run(settings: RunSettings, run_type: str, *, days: int | None = None, wait: float = 0.0,
             on_progress: ProgressHook | None = None,
             on_page: Callable[[str, int, RunSummary], None] | None = None,
             **session_options: Any) -> Iterator[ScanRun]:
    """A started run of ``run_type`` (``forward`` or ``historical`` with ``days``); see the
    module docstring. ``session_options`` go to ``open_session`` (tests, benchmarks)."""
    if run_type not in ("forward", "historical"):
        raise ValueError("run_type must be 'forward' or 'historical'")
    if run_type == "historical" and not (days is not None and 1 <= days <= MAX_HISTORICAL_DAYS):
        raise ValueError(f"max_last_modified_days must be between 1 and {MAX_HISTORICAL_DAYS}")
    with open_session(settings, **session_options) as session:
        check_org(session.fetcher.client)
        lease = Lease(session.lake.storage, run_type, org_id=session.org_id)
        started = session.clock()
        run_id = new_run_id(run_type, started)
        with lease.held(run_id, wait=wait):
            session.start_run(run_id)
            orphans = remove_orphan_tmp_files(session.lake.storage)
            interrupted = mark_interrupted(session, run_type, run_id)
            plan = (forward_plan(session, settings.lookback, now=started) if run_type == "forward"
                    else historical_plan(session, days, now=started))
            if interrupted:
                plan.parameters["resumes"] = interrupted
            summary = RunSummary(run_id, run_type, started, plan.window, connector=settings.connector,
                                 org_id=session.org_id, owner=_owner(),
                                 rules_version=getattr(session.inspector, "rules_version", None),
                                 previous_rules_version=previous_rules_version(session, run_id))
            checkpoints = session.lake.checkpoints(plan.namespace, org_id=session.org_id)
            summary.cursors_before = {s.name: checkpoints.load().get(s.name) for s in plan.sources}
            counters_before = session.fetcher.counters()
            run = ScanRun(settings, session, plan, summary, checkpoints, on_progress=on_progress,
                          on_page=on_page, counters_before=counters_before)
            t0 = time.perf_counter()
            _record(session, summary, plan)
            if summary.rules_changed:
                log.info("rule set changed since the previous run: %s -> %s", summary.previous_rules_version,
                         summary.rules_version)
            log.info("%s scan %s started for connector %s (window from %s)%s%s", run_type, run_id,
                     settings.connector, iso(plan.window.start),
                     f"; resumes interrupted run(s) {', '.join(interrupted)}" if interrupted else "",
                     f"; removed {len(orphans)} orphan temporary file(s)" if orphans else "")
            try:
                yield run
                if session.lake.compact_threshold:
                    session.lake.compact_if_needed(COMPACTED_TABLES)
                summary.status = summary.completion_status()
                summary.progress = 100.0
                if run_type == "historical":
                    checkpoints.update(status="done")
            except BaseException as exc:
                summary.status = "failed"
                summary.error = type(exc).__name__  # messages may quote content; the type is enough
                raise
            finally:
                summary.finished_at = session.clock()
                summary.cursors_after = {s.name: checkpoints.load().get(s.name) for s in plan.sources}
                used = session.fetcher.counters()
                summary.requests = used.requests - counters_before.requests
                summary.rate_limited = used.rate_limited - counters_before.rate_limited
                summary.retries = used.retries - counters_before.retries
                try:
                    _record(session, summary, plan)
                except Exception:  # noqa: BLE001 - never hide the run's own error behind this one
                    log.exception("could not record scan run %s", run_id)
                    if summary.status != "failed":
                        raise
                log.info("%s scan %s %s in %.1f s: %d requests, %d findings, %d objects skipped "
                         "(%d to retry)", run_type, run_id, summary.status, time.perf_counter() - t0,
                         summary.requests, summary.counts["findings"], summary.objects_skipped,
                         summary.retry_later)
