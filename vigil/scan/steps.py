"""The five steps of a page, as plain functions of a ``ScanRun`` (the Prefect tasks wrap them).

Each step is safe to retry: it changes nothing in memory that outlives a failed attempt.
``fetch_page`` and ``filter_page`` only read; ``inspect_page`` keeps its claims in a local
object (``vigil.scan.claims``) and returns rows without landing them; ``land_page`` writes rows
whose ids are deterministic (a second landing is invisible in SQL) and tells the ledger only
once the files are durable; ``advance_checkpoint`` saves the state after the page atomically
and is the one place the run's counters move, after everything before it succeeded.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from vigil.lake import activity_row
from vigil.scan.batch import Batch
from vigil.scan.chats import inspect_chats
from vigil.scan.fetch import ListPage
from vigil.scan.projects import inspect_projects
from vigil.scan.runner import progress_at
from vigil.scan.session_sources import SelfInspectingSource
from vigil.scan.sources import Source

log = logging.getLogger("vigil.scan")

CHAT_SOURCES = ("chats", "chat_retries")
PROJECT_SOURCES = ("projects", "project_retries")


def fetch_page(run: Any, source: Source, state: dict[str, Any]) -> ListPage:
    """One list request for ``source`` resuming from ``state`` (the client retries transient
    errors itself; the retry sources read the lake instead of the API)."""
    return source.fetch(run.session, state)


def filter_page(run: Any, source: Source, page: ListPage) -> list[dict[str, Any]]:
    """The records of a page that the chat scope (owner e-mail) and project scope select."""
    session = run.session
    if isinstance(source, SelfInspectingSource):  # directory, posture, sessions, hosted sites
        return source.select(session, page)
    if source.name in CHAT_SOURCES:
        return [c for c in page.records if session.chat_in_scope(c)]
    if source.name == "projects":
        session.remember_projects(page.records)
        return [p for p in page.records if session.project_in_scope(p)]
    if source.name == "project_retries":
        return [p for p in page.records
                if session.project_in_scope({"id": p["id"], "name": session.project_name(p["id"])})]
    return list(page.records)


def inspect_page(run: Any, source: Source, records: list[dict[str, Any]]) -> Batch:
    """Rows for one page of in-scope records: fetch what is new, extract, detect.

    Bad content never raises (it is a skip with a reason); an object the API keeps failing for
    while the API as a whole answers is a skip too (retried by later scans). Only an outage
    raises, so the task retries the page or the next scan resumes it.
    """
    session = run.session
    if isinstance(source, SelfInspectingSource):
        return source.inspect(session, records, on_item=run.progress_hook(source))
    if source.name in CHAT_SOURCES:
        return inspect_chats(session, records, on_item=run.progress_hook(source))
    if source.name in PROJECT_SOURCES:
        return inspect_projects(session, records, on_item=run.progress_hook(source))
    return Batch(activities=[activity_row(a, session.run_id) for a in records])


def land_page(run: Any, source: Source, batch: Batch) -> None:
    """Land a page's rows durably (``objects``, the ledger, last)."""
    if batch.row_count():
        # Compaction waits for the end of the run: merging growing partitions after every few
        # pages would redo the same work many times in a long scan.
        run.session.lake.land(batch.tables(), ledger=run.session.ledger, compact=False)


def advance_checkpoint(run: Any, source: Source, state: dict[str, Any], page: ListPage,
                       records: list[dict[str, Any]], batch: Batch) -> dict[str, Any] | None:
    """Save where ``source`` resumes after this (landed) page; the next state, or None when the
    source's walk is complete. Also moves the run's counters and progress."""
    new_state = source.advance(state, page)
    more = source.more(new_state, page)
    if not more:
        new_state = source.finish(new_state)
        if run.plan.run_type == "historical":
            new_state["done"] = True
    run.checkpoints.update(**{source.name: new_state})
    page_key = (source.name, json.dumps(state, sort_keys=True, default=str))
    if page_key in run.pages_counted:  # a retry of this step after the save: count the page once
        return new_state if more else None
    run.pages_counted.add(page_key)
    summary = run.summary
    summary.add(source.name, batch)
    last = page.records[-1] if page.records else None
    summary.progress = max(summary.progress, progress_at(run.plan, source, last, finished=not more))
    run.pages[source.name] += 1
    log.info("%s page %d landed: %d records, %d in scope, %d findings, %d skipped", source.name,
             run.pages[source.name], len(page.records), len(records), len(batch.findings),
             sum(batch.skipped.values()))
    run.page_landed(source, run.pages[source.name])
    return new_state if more else None
