"""Fetch one list page. The client already retried single requests; this retries the page."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import OUTAGE_RETRY_DELAYS, transient_error
from vigil.scan import steps
from vigil.scan.fetch import ListPage


@task(name="fetch-page", task_run_name="fetch-{source.name}-page",
      retries=len(OUTAGE_RETRY_DELAYS), retry_delay_seconds=OUTAGE_RETRY_DELAYS, retry_jitter_factor=0.3,
      retry_condition_fn=transient_error, timeout_seconds=900,
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def fetch_page(run: Any, source: Any, state: dict[str, Any]) -> ListPage:
    """One list request for ``source`` resuming from ``state`` (see ``vigil.scan.steps``)."""
    return steps.fetch_page(run, source, state)
