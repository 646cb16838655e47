"""Historical scan: inspect content modified in the last N days; resumable, own checkpoints."""

from __future__ import annotations

from prefect import flow

from flows.pipeline import after_scan, scan_sources
from tasks.alerts import check_alert_destinations
from tasks.report import ProgressReporter
from vigil.config import HistoricalDays
from vigil.scan.run import open_run
from vigil.scan.setup import load_run_settings


@flow(name="historical-scan", log_prints=False)
def historical_scan(max_last_modified_days: HistoricalDays = 30, config_path: str | None = None,
                    connector: str | None = None, wait_seconds: float = 0.0) -> dict:
    """Scan chats, projects and activities modified in the last ``max_last_modified_days`` days
    (1 to 3650).

    Rerun after a crash, it resumes the unfinished run; it never moves the forward cursor.
    Then updates incidents from the landed findings, sends alerts and publishes the run's
    artifacts. Returns the run's counts (no content).
    """
    settings = load_run_settings(config_path, connector)  # config errors stop here, first
    check_alert_destinations(settings)  # a destination naming a missing Prefect block, too
    progress = ProgressReporter("historical", settings.connector)
    with open_run(settings, "historical", days=max_last_modified_days, wait=wait_seconds,
                  on_progress=progress) as run:
        scan_sources(run)
    return after_scan(settings, run)  # incidents, alerts, artifacts
