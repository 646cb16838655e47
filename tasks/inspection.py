"""Inspect what is new in a page's records (fetch contents, extract, detect).

Bad content never fails this task: it is recorded as skipped with its reason, and so is an
object the API keeps failing for while the API as a whole answers. Only an outage makes the task
fail, and retry with delays that outlast a few minutes of 5xx.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import OUTAGE_RETRY_DELAYS, transient_error
from vigil.scan import steps
from vigil.scan.batch import Batch


@task(name="inspect-page", task_run_name="inspect-{source.name}-page",
      retries=len(OUTAGE_RETRY_DELAYS), retry_delay_seconds=OUTAGE_RETRY_DELAYS, retry_jitter_factor=0.3,
      retry_condition_fn=transient_error, cache_policy=NO_CACHE, cache_result_in_memory=False)
def inspect_page(run: Any, source: Any, records: list[dict[str, Any]]) -> Batch:
    """Rows (findings, chat events, ledger, activities) for one page of in-scope records."""
    return steps.inspect_page(run, source, records)
