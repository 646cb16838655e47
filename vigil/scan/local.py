"""Plain-Python entry points (no Prefect): the same steps the flows run, in ``run_scan``."""

from __future__ import annotations

from typing import Any

from vigil.scan.run import open_run
from vigil.scan.runner import run_scan
from vigil.scan.setup import RunSettings, load_run_settings


def run_forward(config_path: str | None = None, connector: str | None = None, *,
                settings: RunSettings | None = None, **run_options: Any) -> dict:
    """One forward scan; returns its counts."""
    settings = settings or load_run_settings(config_path, connector)
    if not settings.forward_enabled:
        return {"status": "disabled"}
    with open_run(settings, "forward", **run_options) as run:
        run_scan(run)
    return run.summary.result()


def run_historical(days: int, config_path: str | None = None, connector: str | None = None, *,
                   settings: RunSettings | None = None, **run_options: Any) -> dict:
    """One historical scan of the last ``days`` days (resumes an unfinished one); its counts."""
    settings = settings or load_run_settings(config_path, connector)
    with open_run(settings, "historical", days=days, **run_options) as run:
        run_scan(run)
    return run.summary.result()
