"""The two steps a scan runs after landing findings (Prefect-free; ``tasks/alerts.py`` wraps them).

1. ``update_incidents``: recompute incidents touched by newly landed findings, then queue an
   alert per destination for every new incident of an alerting policy.
2. ``deliver_alerts``: send the outbox, oldest first, grouped per destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from vigil.alerts.delivery import DeliveryReport, deliver
from vigil.alerts.outbox import queue_alerts
from vigil.alerts.senders import Sender
from vigil.alerts.settings import AlertsSettings
from vigil.incidents.rollup import refresh_incidents
from vigil.lake import Lake


def update_incidents(lake: Lake, settings: AlertsSettings, *, full: bool | None = None,
                     now: datetime | None = None) -> dict:
    """Refresh incidents, then queue alerts for the new ones. Returns counts (no content)."""
    now = now or datetime.now(timezone.utc)
    refreshed = refresh_incidents(lake, settings.incident_policies(), full=full, now=now)
    queued = queue_alerts(lake, settings, now=now)
    return {"incidents_mode": refreshed.mode, "incidents_written": refreshed.written,
            "incidents_new": refreshed.new, "incidents_retired": refreshed.retired,
            "incidents_seconds": refreshed.seconds, "alerts_queued": queued.queued,
            "alerts_skipped_suppressed": queued.suppressed}


def deliver_alerts(lake: Lake, settings: AlertsSettings, senders: Mapping[str, Sender],
                   now: datetime | None = None) -> DeliveryReport:
    """Send what the outbox holds (see ``vigil.alerts.delivery``)."""
    return deliver(lake, settings, senders, now=now)
