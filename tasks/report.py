"""Run artifacts: a markdown summary, a table of the top findings (masked) and live progress.

Artifact keys carry the connector's name (``forward-scan-summary-<connector>``), so each
connector's runs have their own history in the UI, and deleting a connector can remove exactly
its artifacts (``artifact_keys`` / ``delete_connector_artifacts``).
"""

from __future__ import annotations

import re
from typing import Any

from prefect import task
from prefect.artifacts import (create_markdown_artifact, create_progress_artifact,
                               create_table_artifact, update_progress_artifact)
from prefect.cache_policies import NO_CACHE

from vigil.scan.report import summary_markdown, top_findings_table


def connector_slug(connector: str | None) -> str:
    """A connector name as artifact keys allow it (lowercase letters, digits, dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", (connector or "default").lower()).strip("-") or "default"


def artifact_keys(connector: str | None) -> list[str]:
    """Every artifact key a connector's runs publish."""
    slug = connector_slug(connector)
    return [f"{kind}-scan-{what}-{slug}" for kind in ("forward", "historical")
            for what in ("summary", "top-findings", "progress", "run-summary", "severe-incidents",
                         "severe-incidents-table")]


@task(name="publish-summary", cache_policy=NO_CACHE)
def publish_summary(summary: Any, incidents: dict | None = None) -> None:
    """Markdown summary (objects, skips by reason, findings by infotype and severity, requests,
    incidents and alerts) and the top findings, masked, as a table."""
    slug = connector_slug(summary.connector)
    key = f"{summary.run_type}-scan"
    create_markdown_artifact(summary_markdown(summary, incidents), key=f"{key}-summary-{slug}",
                             description=f"{summary.run_type} scan {summary.run_id}")
    rows = top_findings_table(summary)
    if rows:
        create_table_artifact(rows, key=f"{key}-top-findings-{slug}",
                              description="Most severe findings of the run (values masked)")


class ProgressReporter:
    """Keeps one progress artifact of a run up to date, every few chats and every page."""

    def __init__(self, run_type: str, connector: str | None):
        self.artifact_id = create_progress_artifact(
            0.0, key=f"{run_type}-scan-progress-{connector_slug(connector)}",
            description=f"{run_type} scan of connector {connector or 'default'}")
        self._last = -1.0

    def __call__(self, run: Any) -> None:
        summary = run.summary
        if summary.progress > self._last:
            self._last = summary.progress
            c = summary.counts
            update_progress_artifact(
                self.artifact_id, summary.progress,
                description=(f"{run.items_done} chats and projects inspected; "
                             f"{c['objects_scanned']} objects scanned and {c['findings']} findings landed"))


def delete_connector_artifacts(connector: str) -> int:
    """Delete every artifact version a connector's runs published.

    Uses the configured Prefect API (``PREFECT_API_URL``); without one, the local database that
    ephemeral runs wrote to, if there is one (starting Prefect's temporary server takes ~10 s).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME  # noqa: PLC0415

    if not PREFECT_API_URL.value() and not (PREFECT_HOME.value() / "prefect.db").exists():
        return 0  # no Prefect server and no local Prefect database: no artifact was ever stored
    from prefect.client.orchestration import get_client  # noqa: PLC0415
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey  # noqa: PLC0415

    removed = 0
    with get_client(sync_client=True) as client:
        for key in artifact_keys(connector):
            for artifact in client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))):
                client.delete_artifact(artifact.id)
                removed += 1
    return removed
