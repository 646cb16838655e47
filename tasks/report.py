"""Run artifacts: a markdown summary, a table of the top findings (masked) and progress."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import (create_markdown_artifact, create_progress_artifact,
                               create_table_artifact, update_progress_artifact)
from prefect.cache_policies import NO_CACHE

from vigil.scan.report import summary_markdown, top_findings_table


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: Any) -> None:
    """Markdown summary (objects, skips by reason, findings by infotype and severity, requests)
    and the top findings, masked, as a table."""
    key = f"{summary.run_type}-scan"
    create_markdown_artifact(summary_markdown(summary), key=f"{key}-summary",
                             description=f"{summary.run_type} scan {summary.run_id}")
    rows = top_findings_table(summary)
    if rows:
        create_table_artifact(rows, key=f"{key}-top-findings",
                              description="Most severe findings of the run (values masked)")


class ProgressReporter:
    """Keeps one progress artifact up to date while a scan runs (historical scans)."""

    def __init__(self, description: str):
        self.artifact_id = create_progress_artifact(0.0, key="historical-scan-progress",
                                                    description=description)
        self._last = 0.0

    def __call__(self, source: str, page: int, summary: Any) -> None:
        if summary.progress > self._last:
            self._last = summary.progress
            update_progress_artifact(self.artifact_id, summary.progress,
                                     description=f"{source}: {page} pages landed")
