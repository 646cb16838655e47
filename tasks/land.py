"""Land a page's rows durably, then advance its checkpoint."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.retry import io_error
from vigil.scan.runner import Steps


@task(name="land-page", task_run_name="land-{source_name}-page",
      retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=io_error,
      cache_policy=NO_CACHE)
def land_page(session: Any, checkpoints: Any, source: Any, batch: Any, state: dict[str, Any],
              source_name: str) -> None:
    """Write the batch (rows with deterministic ids, so a retry adds nothing), then the cursor."""
    Steps().land(session, checkpoints, source, batch, state)
