"""Fetch one list page. The client already retried single requests; this retries the page."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.retry import transient_api_error
from vigil.scan.fetch import ListPage
from vigil.scan.runner import Steps


@task(name="fetch-page", task_run_name="fetch-{source_name}-page",
      retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5,
      retry_condition_fn=transient_api_error, timeout_seconds=600,
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def fetch_page(session: Any, source: Any, state: dict[str, Any], source_name: str) -> ListPage:
    """One list request for ``source`` resuming from ``state``."""
    return Steps().fetch(session, source, state)
