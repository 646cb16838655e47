"""Per-run artifacts from the lake: the run's summary table and its newest severe incidents
(one row per leaked value, at most two per infotype), built by ``vigil.report.digest``."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.report import connector_slug
from vigil.lake import Lake
from vigil.report.digest import digest_markdown, run_digest


@task(name="publish-run-digest", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def publish_run_digest(lake_root: str, scan_run_id: str, *, connector: str | None = None,
                       lake_storage_options: dict[str, Any] | None = None) -> dict[str, int]:
    """Publish ``<run_type>-scan-run-summary-<connector>`` (table),
    ``<run_type>-scan-severe-incidents-<connector>`` (markdown with links) and the same incidents
    as a table. Returns the row counts."""
    lake = Lake(lake_root, storage_options=lake_storage_options)
    con = lake.connect()
    try:
        digest = run_digest(con, scan_run_id)
    finally:
        con.close()
    key = f"{digest.run_type or 'scan'}-scan"
    slug = connector_slug(connector)
    create_table_artifact(digest.summary, key=f"{key}-run-summary-{slug}",
                          description=f"Scan run {scan_run_id}: counts and API budget")
    create_markdown_artifact(digest_markdown(digest), key=f"{key}-severe-incidents-{slug}",
                             description="Newest high and critical leaked values of the run (masked)")
    if digest.incidents:
        create_table_artifact([{"severity": r["severity"], "title": r["title"], "user": r["user_email"] or "",
                                "time": r["time"].isoformat() if r["time"] else "", "link": r["link"] or "",
                                "status": r["status"] or ""} for r in digest.incidents],
                              key=f"{key}-severe-incidents-table-{slug}",
                              description="Newest high and critical leaked values of the run (masked)")
    return {"summary_rows": len(digest.summary), "incident_rows": len(digest.incidents)}
