"""Keep the records of a page that the configured scope selects."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from vigil.scan.runner import Steps


@task(name="filter-page", task_run_name="filter-{source_name}-page",
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def filter_page(session: Any, source: Any, page: Any, source_name: str) -> list[dict[str, Any]]:
    """Apply the chat (owner e-mail) and project (name) scopes to one page."""
    return Steps().filter(session, source, page)
