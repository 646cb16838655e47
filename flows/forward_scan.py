"""Forward scan: inspect what changed since the last run, on the API's own cursors."""

from __future__ import annotations

from prefect import flow

from flows.pipeline import after_scan, export_new_findings, scan_sources
from tasks.alerts import check_alert_destinations
from tasks.report import ProgressReporter
from vigil.scan.run import open_run
from vigil.scan.setup import load_run_settings


@flow(name="forward-scan", log_prints=False)
def forward_scan(config_path: str | None = None, connector: str | None = None,
                 wait_seconds: float = 0.0) -> dict:
    """Continue every source (Activity Feed, projects, chats, then earlier skips due again)
    from the forward checkpoint.

    ``config_path``: vigil config file (TOML/YAML); ``connector``: saved connector name;
    ``wait_seconds``: how long to wait for another forward scan of the org to finish.
    Then updates incidents from the landed findings, sends alerts and publishes the run's
    artifacts. Returns the run's counts (no content).
    """
    settings = load_run_settings(config_path, connector)  # config errors stop here, first
    check_alert_destinations(settings)  # a destination naming a missing Prefect block, too
    if not settings.forward_enabled:
        return {"status": "disabled"}
    progress = ProgressReporter("forward", settings.connector)
    with open_run(settings, "forward", wait=wait_seconds, on_progress=progress) as run:
        scan_sources(run)
    result = after_scan(settings, run)  # incidents, alerts, artifacts
    if settings.config.export.enabled:
        result["export"] = export_new_findings(settings, run)
    return result
