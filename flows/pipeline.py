"""The page loop both scans run: per source, fetch → filter → inspect → land → checkpoint.

Each step is a Prefect task (``tasks/``) around a Prefect-free function (``vigil.scan.steps``);
``vigil.scan.runner.run_scan`` is the same loop without Prefect.
"""

from __future__ import annotations

from prefect.utilities.annotations import quote

from tasks.fetch import fetch_page
from tasks.filter import filter_page
from tasks.inspection import inspect_page
from tasks.land import advance_checkpoint, land_page
from vigil.scan.run import ScanRun


def scan_sources(run: ScanRun) -> None:
    """Walk every source of the run's plan to its end, one page at a time."""
    # quote(): Prefect would otherwise walk the run's objects and rows looking for futures.
    for source in run.plan.sources:
        state = run.resume_state(source)  # None: a resumed run already finished this source
        while state is not None:
            page = fetch_page(quote(run), source, state)
            records = filter_page(quote(run), source, quote(page))
            batch = inspect_page(quote(run), source, quote(records))
            land_page(quote(run), source, quote(batch))
            # The checkpoint moves only after the page's rows are durable.
            state = advance_checkpoint(quote(run), source, state, quote(page), quote(records),
                                       quote(batch))
