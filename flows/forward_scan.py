"""Forward scan: inspect what changed since the last run, on the API's own cursors."""

from __future__ import annotations

from prefect import flow, get_run_logger

from tasks.report import publish_summary
from tasks.steps import PrefectSteps
from vigil.scan.runner import forward_plan, run_scan
from vigil.scan.setup import open_session


@flow(name="forward-scan", log_prints=False)
def forward_scan(config_path: str | None = None, connector: str | None = None) -> dict:
    """Continue every source (Activity Feed, projects, chats) from the forward checkpoint.

    ``config_path``: vigil config file (TOML/YAML); ``connector``: saved connector name.
    Returns the run's counts (no content).
    """
    logger = get_run_logger()
    with open_session(config_path, connector) as (session, settings):
        if not settings.forward_enabled:
            logger.info("forward scan disabled by configuration (forward.enabled = false)")
            return {"status": "disabled"}
        summary = run_scan(session, forward_plan(session, settings.lookback), PrefectSteps(), logger=logger)
    publish_summary(summary)
    return summary.result()
