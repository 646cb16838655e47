"""Plain-Python entry points (no Prefect): the same loop the flows run, with plain steps."""

from __future__ import annotations

from typing import Any

from vigil.scan.runner import forward_plan, historical_plan, run_scan
from vigil.scan.setup import open_session


def run_forward(config_path: str | None = None, connector: str | None = None, **session_kw: Any) -> dict:
    """One forward scan; returns its counts."""
    with open_session(config_path, connector, **session_kw) as (session, settings):
        if not settings.forward_enabled:
            return {"status": "disabled"}
        return run_scan(session, forward_plan(session, settings.lookback)).result()


def run_historical(days: int, config_path: str | None = None, connector: str | None = None,
                   **session_kw: Any) -> dict:
    """One historical scan of the last ``days`` days (resumes an unfinished one); its counts."""
    with open_session(config_path, connector, **session_kw) as (session, _settings):
        return run_scan(session, historical_plan(session, days)).result()
