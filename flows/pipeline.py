"""The page loop both scans run: per source, fetch → filter → inspect → land → checkpoint;
then incidents, alerts and artifacts (``after_scan``) and the optional OCSF export.

Each step is a Prefect task (``tasks/``) around a Prefect-free function (``vigil.scan.steps``);
``vigil.scan.runner.run_scan`` is the same loop without Prefect.
"""

from __future__ import annotations

from prefect.utilities.annotations import quote

from tasks.alerts import update_incidents_and_alert
from tasks.export import export_ocsf_step
from tasks.fetch import fetch_page
from tasks.filter import filter_page
from tasks.inspection import inspect_page
from tasks.land import advance_checkpoint, land_page
from tasks.report import publish_summary
from tasks.run_report import publish_run_digest
from vigil.scan.run import ScanRun
from vigil.scan.setup import RunSettings


def scan_sources(run: ScanRun) -> None:
    """Walk every source of the run's plan to its end, one page at a time."""
    # quote(): Prefect would otherwise walk the run's objects and rows looking for futures.
    for source in run.plan.sources:
        state = run.resume_state(source)  # None: a resumed run already finished this source
        while state is not None:
            page = fetch_page(quote(run), source, state)
            records = filter_page(quote(run), source, quote(page))
            batch = inspect_page(quote(run), source, quote(records))
            land_page(quote(run), source, quote(batch))
            # The checkpoint moves only after the page's rows are durable.
            state = advance_checkpoint(quote(run), source, state, quote(page), quote(records),
                                       quote(batch))


def after_scan(settings: RunSettings, run: ScanRun) -> dict:
    """What follows a landed scan: incidents and alerts, then the run's artifacts; its result."""
    incidents = update_incidents_and_alert(settings, run_id=run.summary.run_id)
    publish_summary(quote(run.summary), incidents)
    lake = run.session.lake
    publish_run_digest(lake.root_url, run.summary.run_id, connector=settings.connector,
                       lake_storage_options=lake.storage.storage_options)
    return {**run.summary.result(), "incidents": incidents}


def export_new_findings(settings: RunSettings, run: ScanRun) -> dict:
    """The optional SIEM step: new findings and incidents as OCSF under ``[export] ocsf_target``."""
    export = settings.config.export
    lake = run.session.lake
    return export_ocsf_step(lake.root_url, export.ocsf_target, lake_storage_options=lake.storage.storage_options,
                            out_storage_options=dict(export.storage_options), gzip=export.gzip)
