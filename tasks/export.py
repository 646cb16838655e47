"""The optional OCSF export step of the forward flow: what landed since the last export, to a
folder or bucket prefix a SIEM tails (``vigil.export.export_ocsf_incremental``)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.retry import io_error
from vigil.export import export_ocsf_incremental
from vigil.lake import Lake


@task(name="export-ocsf", retries=3, retry_delay_seconds=[5, 30, 120], retry_condition_fn=io_error,
      cache_policy=NO_CACHE)
def export_ocsf_step(lake_root: str, out: str, *, lake_storage_options: dict[str, Any] | None = None,
                     out_storage_options: dict[str, Any] | None = None, stream: str | None = None,
                     gzip: bool = False, with_context: bool = True) -> dict[str, Any]:
    """Export new findings and incidents as OCSF JSON lines under ``out``; returns counts and files.

    A retry (or the next run after a crash) finishes the interrupted window into the same file
    name, so nothing is sent twice.
    """
    lake = Lake(lake_root, storage_options=lake_storage_options)
    result = export_ocsf_incremental(lake, out, stream=stream, gzip=gzip, with_context=with_context,
                                     storage_options=out_storage_options)
    logger = get_run_logger()
    logger.info("OCSF export: %d finding event(s), %d incident event(s), %d file(s)",
                result.findings, result.incidents, len(result.files))
    for note in result.notes:
        logger.info("OCSF export: %s", note)
    return {"findings": result.findings, "incidents": result.incidents, "files": result.files,
            "bytes": result.bytes}
