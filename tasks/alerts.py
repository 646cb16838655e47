"""Incidents and alerts after landing: two Prefect tasks and the function a flow calls.

```python
from tasks.alerts import update_incidents_and_alert

@flow
def forward_scan(config_path=None, connector=None):
    ...                                    # scan and land findings
    alerts = update_incidents_and_alert(config_path, connector, run_id=summary.run_id)
```

``update-incidents`` recomputes incidents touched by new findings and queues alerts (retried on
storage errors; a retry writes nothing twice). ``deliver-alerts`` sends the outbox: if a
destination fails it raises so Prefect retries it (what was sent is recorded and not sent
again); on its last attempt it returns instead, so a destination that is down does not fail the
scan: its alerts wait in the outbox for the next run, and the summary says how many.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.alert_blocks import resolve_senders
from tasks.retry import io_error
from vigil.alerts import pipeline
from vigil.alerts.settings import AlertsSettings
from vigil.config import Config
from vigil.lake import Lake

DELIVERY_RETRIES = 2
DELIVERY_RETRY_DELAYS = [5, 30]


class AlertsUndelivered(RuntimeError):
    """A destination failed; raised so Prefect retries the delivery task."""


def _delivery_can_heal(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a destination failure or an I/O error; not a configuration error (a missing block)."""
    try:
        state.result()
    except (AlertsUndelivered, OSError):
        return True
    except Exception:  # noqa: BLE001 - ConfigError and bugs: fail now, naming the key
        return False
    return False


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - called outside a run (tests call .fn)
        return logging.getLogger(__name__)


@task(name="update-incidents", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=io_error,
      cache_policy=NO_CACHE)
def update_incidents(lake: Lake, alerts: AlertsSettings) -> dict[str, Any]:
    """Refresh incidents from newly landed findings and queue alerts for new ones."""
    counts = pipeline.update_incidents(lake, alerts)
    _logger().info("incidents: %(incidents_mode)s refresh, %(incidents_new)d new, "
                   "%(incidents_written)d written; %(alerts_queued)d alert(s) queued", counts)
    return counts


@task(name="deliver-alerts", retries=DELIVERY_RETRIES, retry_delay_seconds=DELIVERY_RETRY_DELAYS,
      retry_condition_fn=_delivery_can_heal, cache_policy=NO_CACHE)
def deliver_alerts(lake: Lake, alerts: AlertsSettings, senders: Any = None) -> dict[str, Any]:
    """Send the outbox; ``senders`` (name -> sender) defaults to the configured destinations."""
    from prefect.runtime import task_run  # noqa: PLC0415

    senders = senders if senders is not None else resolve_senders(alerts)
    report = pipeline.deliver_alerts(lake, alerts, senders)
    summary = report.summary()
    log = _logger()
    if report.failed:
        attempt = task_run.run_count or 1
        details = ", ".join(f"{n}: {report.destinations[n].error}" for n in report.failed)
        if attempt <= DELIVERY_RETRIES:
            raise AlertsUndelivered(f"alert delivery failed ({details}); {report.waiting} alert(s) queued")
        log.warning("alert delivery failed (%s); %d alert(s) wait in the outbox for the next run",
                    details, report.waiting)
    log.info("alerts: %d sent, %d waiting, %d suppressed", report.sent, report.waiting, report.suppressed)
    return summary


def update_incidents_and_alert(config: Any = None, connector: str | None = None, *,
                               run_id: str | None = None, senders: Any = None) -> dict[str, Any]:
    """Call from a flow after the scan landed its findings; returns counts for the run summary
    (``incidents_new``, ``alerts_queued``, ``alerts_sent``, ``alerts_waiting``, ...).

    ``config`` is a ``RunSettings``, a ``Config`` or a config path; the lake is the connector's.
    """
    cfg, lake_root = _config_and_lake(config, connector)
    lake = Lake(lake_root, storage_options=dict(cfg.lake.storage_options),
                compact_threshold=cfg.lake.compact_threshold)
    counts = update_incidents(lake, cfg.alerts)
    delivered = deliver_alerts(lake, cfg.alerts, senders) if cfg.alerts.destinations else {
        "alerts_sent": 0, "alerts_waiting": 0, "alerts_suppressed": 0, "destinations": {}}
    return {"run_id": run_id, **counts, **delivered}


def check_alert_destinations(config: Any = None, connector: str | None = None) -> None:
    """Raise ``ConfigError`` (naming the key) when a destination's block or secret is missing;
    a flow can call this first to refuse a bad config before scanning."""
    resolve_senders(_config_and_lake(config, connector)[0].alerts)


def _config_and_lake(config: Any, connector: str | None) -> tuple[Config, str]:
    """The config and the lake of a ``RunSettings``, a ``Config`` or a config path: the
    connector's lake when the config designates one, else the config's ``lake.root``."""
    from vigil.config import load_config  # noqa: PLC0415
    from vigil.connector import ConnectorNotFound  # noqa: PLC0415
    from vigil.scan.setup import RunSettings, load_run_settings  # noqa: PLC0415

    if isinstance(config, RunSettings):
        return config.config, config.binding.lake_root
    cfg = config if isinstance(config, Config) else load_config(config)
    if connector:
        cfg = cfg.with_overrides({"connector.name": connector})
    try:
        settings = load_run_settings(config=cfg)
    except ConnectorNotFound:
        return cfg, cfg.lake.root  # no connector saved: incidents live in the config's lake
    return cfg, settings.binding.lake_root
