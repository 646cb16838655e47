"""The alert outbox: one row per (incident, destination) in ``alert_outbox``, queued when an
incident of an alerting policy appears; its delivery state lives in the append-only
``alert_deliveries`` (the ``alerts`` view joins both).

Queueing is exactly once: ``alert_id = stable_id("alert", incident_id, destination)``, and an
alert already in the outbox is never queued again. Candidates are incidents *created* since the
previous queueing (minus an overlap); the mark advances only after the rows are durable, so a
crash between refreshing incidents and queueing their alerts loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from vigil.alerts.messages import ITEM_FIELDS
from vigil.alerts.settings import AlertsSettings
from vigil.lake import Lake
from vigil.lake.views import sql_literal

STATE_NAMESPACE = "alerts"
OVERLAP = timedelta(minutes=15)


@dataclass
class QueueResult:
    queued: int = 0
    suppressed: int = 0  # candidates skipped because their value is marked false positive


def queue_alerts(lake: Lake, settings: AlertsSettings, now: datetime | None = None) -> QueueResult:
    """Queue an alert per destination for every new incident of an alerting policy."""
    now = now or datetime.now(timezone.utc)
    routes = [(p.name, d) for p in settings.policies for d in p.destinations]
    store = lake.checkpoints(STATE_NAMESPACE)
    result = QueueResult()
    if not routes:
        return result
    since = store.load().get("queued_until")
    created = "TRUE"
    if since:
        low = datetime.fromisoformat(since) - OVERLAP
        created = f"created_at >= TIMESTAMPTZ '{low.isoformat()}'"
    policies = ", ".join(sql_literal(p) for p in {p for p, _ in routes})
    con = lake.connect()
    try:
        con.register("_routes", pa.table({"policy": [p for p, _ in routes],
                                          "destination": [d for _, d in routes]}))
        # Filtering before the dedup is exact: every copy of an incident shares its policy and
        # created_at (carried over when the aggregate changes).
        rows = con.sql(f"""
            WITH r AS (
                SELECT * FROM incident_rollups_all WHERE policy IN ({policies}) AND {created}
                QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY landed_at DESC) = 1)
            SELECT left(sha256('alert' || chr(31) || r.incident_id || chr(31) || t.destination), 32) AS alert_id,
                   t.destination, r.*, r.fingerprint IN (SELECT fingerprint FROM suppressed_fingerprints) AS suppressed
            FROM r JOIN _routes t ON t.policy = r.policy
            WHERE r.occurrences > 0
              AND left(sha256('alert' || chr(31) || r.incident_id || chr(31) || t.destination), 32)
                  NOT IN (SELECT alert_id FROM alert_outbox)
            ORDER BY r.created_at, r.first_seen, alert_id""").to_arrow_table().to_pylist()
    finally:
        con.close()
    outbox = []
    for row in rows:
        if row["suppressed"]:
            result.suppressed += 1
            continue
        outbox.append({"alert_id": row["alert_id"], "destination": row["destination"],
                       "policy": row["policy"], "incident_id": row["incident_id"],
                       "fingerprint": row["fingerprint"], "severity": row["severity"],
                       "created_at": now, "payload_json": json.dumps(alert_item(row), sort_keys=True)})
    if outbox:
        lake.land({"alert_outbox": outbox})
    result.queued = len(outbox)
    store.update(queued_until=now.isoformat())
    return result


def alert_item(row: dict[str, Any]) -> dict[str, Any]:
    """What an alert says about its incident (``messages.ITEM_FIELDS``; nothing raw)."""
    item = {f: row.get(f) for f in ITEM_FIELDS}
    item["detected_at"] = row.get("created_at")
    return {k: (v.isoformat() if isinstance(v, (datetime, date)) else v) for k, v in item.items()}
