"""Inspect what is new in a page's records (fetch contents, extract, detect).

Bad content never fails this task: it is recorded as skipped with its reason. Only a transient
API error that outlasted the client's own retries makes the task retry.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import transient_api_error
from vigil.scan.batch import Batch
from vigil.scan.runner import Steps


@task(name="inspect-page", task_run_name="inspect-{source_name}-page",
      retries=2, retry_delay_seconds=[10, 30], retry_jitter_factor=0.5,
      retry_condition_fn=transient_api_error,
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def inspect_page(session: Any, source: Any, records: list[dict[str, Any]], source_name: str) -> Batch:
    """Rows (findings, chat events, ledger, activities) for one page of in-scope records."""
    return Steps().inspect(session, source, records)
