"""Keep the records of a page that the configured scope selects."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import OUTAGE_RETRY_DELAYS, transient_error
from vigil.scan import steps


@task(name="filter-page", task_run_name="filter-{source.name}-page",
      retries=len(OUTAGE_RETRY_DELAYS), retry_delay_seconds=OUTAGE_RETRY_DELAYS, retry_jitter_factor=0.3,
      retry_condition_fn=transient_error, cache_policy=NO_CACHE, cache_result_in_memory=False)
def filter_page(run: Any, source: Any, page: Any) -> list[dict[str, Any]]:
    """Apply the chat (owner e-mail) and project (name) scopes to one page."""
    return steps.filter_page(run, source, page)
