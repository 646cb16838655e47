"""Land a page's rows durably, then advance its checkpoint: two tasks, in that order."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import io_error
from vigil.scan import steps


@task(name="land-page", task_run_name="land-{source.name}-page",
      retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=io_error,
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def land_page(run: Any, source: Any, batch: Any) -> None:
    """Write the batch (rows with deterministic ids, so a retry adds nothing visible)."""
    steps.land_page(run, source, batch)


@task(name="advance-checkpoint", task_run_name="advance-{source.name}-checkpoint",
      retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=io_error,
      cache_policy=NO_CACHE, cache_result_in_memory=False)
def advance_checkpoint(run: Any, source: Any, state: dict[str, Any], page: Any,
                       records: list[dict[str, Any]], batch: Any) -> dict[str, Any] | None:
    """Save where the source resumes after the landed page; the next state, or None at its end."""
    return steps.advance_checkpoint(run, source, state, page, records, batch)
