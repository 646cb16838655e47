"""The scan loop's steps as Prefect tasks (see ``vigil.scan.runner.Steps``).

Arguments are wrapped in ``quote`` so Prefect does not walk sessions, pages and batches looking
for futures (that would cost time and memory on every call).
"""

from __future__ import annotations

from typing import Any

from prefect.utilities.annotations import quote

from tasks.fetch import fetch_page
from tasks.inspection import inspect_page
from tasks.land import land_page
from tasks.scope import filter_page
from vigil.scan.runner import Steps


class PrefectSteps(Steps):
    """Each step runs as a task run, with its own retries and logs."""

    def fetch(self, session, source, state):
        return fetch_page(quote(session), quote(source), state, source.name)

    def filter(self, session, source, page):
        return filter_page(quote(session), quote(source), quote(page), source.name)

    def inspect(self, session, source, records):
        return inspect_page(quote(session), quote(source), quote(records), source.name)

    def land(self, session, checkpoints, source, batch, state: dict[str, Any]) -> None:
        land_page(quote(session), quote(checkpoints), quote(source), quote(batch), state, source.name)
