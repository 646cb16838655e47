"""Historical scan: inspect content modified in the last N days; resumable, own checkpoints."""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.report import ProgressReporter, publish_summary
from tasks.steps import PrefectSteps
from vigil.config import HistoricalDays
from vigil.scan.runner import historical_plan, run_scan
from vigil.scan.setup import open_session


@flow(name="historical-scan", log_prints=False)
def historical_scan(max_last_modified_days: HistoricalDays = 30, config_path: str | None = None,
                    connector: str | None = None) -> dict:
    """Scan chats, projects and activities modified in the last ``max_last_modified_days`` days.

    Rerun after a crash, it resumes the unfinished run; it never moves the forward cursor.
    Returns the run's counts (no content).
    """
    with open_session(config_path, connector) as (session, _settings):
        plan = historical_plan(session, max_last_modified_days)
        progress = ProgressReporter(f"historical scan, last {max_last_modified_days} days")
        summary = run_scan(session, plan, PrefectSteps(), on_page=progress,
                           logger=get_run_logger())
    publish_summary(summary)
    return summary.result()
