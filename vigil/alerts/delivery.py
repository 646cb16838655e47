"""Deliver the outbox: per destination, oldest first, grouped into messages.

For each message: *claim* its alerts (``alert_deliveries`` rows ``claimed`` with the message's
idempotency key), send, then record ``sent``. A failure records ``failed`` and stops that
destination for this run (later alerts never overtake earlier ones); the alerts stay pending
and go out, in the same grouping and with the same key, on a later attempt or run. So:
- a retried task resends nothing that was recorded as sent;
- a crash between sending and recording resends the message with the same idempotency key;
- alerts whose value was marked false positive since they were queued are recorded
  ``suppressed`` and never sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from vigil.alerts.messages import AlertMessage, message_key
from vigil.alerts.senders import DeliveryError, Sender
from vigil.alerts.settings import AlertsSettings
from vigil.lake import Lake
from vigil.lake.ids import stable_id

log = logging.getLogger(__name__)


@dataclass
class DestinationReport:
    messages_sent: int = 0
    alerts_sent: int = 0
    failures: int = 0
    error: str | None = None
    waiting: int = 0
    oldest_waiting: datetime | None = None


@dataclass
class DeliveryReport:
    """What one delivery pass did, per destination; ``waiting`` is what is still queued."""

    destinations: dict[str, DestinationReport] = field(default_factory=dict)
    suppressed: int = 0

    @property
    def waiting(self) -> int:
        return sum(d.waiting for d in self.destinations.values())

    @property
    def sent(self) -> int:
        return sum(d.alerts_sent for d in self.destinations.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, d in self.destinations.items() if d.error]

    def summary(self) -> dict:
        """Plain data for a run summary."""
        return {"alerts_sent": self.sent, "alerts_waiting": self.waiting, "alerts_suppressed": self.suppressed,
                "destinations": {n: {"messages_sent": d.messages_sent, "alerts_sent": d.alerts_sent,
                                     "waiting": d.waiting, "error": d.error,
                                     "oldest_waiting": d.oldest_waiting.isoformat() if d.oldest_waiting else None}
                                 for n, d in self.destinations.items()}}


def pending(lake: Lake) -> list[dict]:
    """Alerts not yet sent nor suppressed, oldest first (queued first, then seen first)."""
    return lake.query(
        "SELECT alert_id, destination, fingerprint, created_at, message_key, payload_json FROM alerts "
        "WHERE status = 'pending' "
        "ORDER BY created_at, json_extract_string(payload_json, '$.first_seen'), alert_id").to_pylist()


def plan_messages(destination: str, alerts: list[dict], batch: int) -> list[AlertMessage]:
    """Group one destination's pending alerts (oldest first) into messages.

    Alerts already claimed by an earlier attempt keep their message (same key, same items);
    the rest are cut into messages of at most ``batch`` alerts.
    """
    position = {a["alert_id"]: n for n, a in enumerate(alerts)}
    claimed: dict[str, list[dict]] = {}
    fresh: list[dict] = []
    for a in alerts:
        (claimed.setdefault(a["message_key"], []) if a["message_key"] else fresh).append(a)
    groups = list(claimed.items())
    for i in range(0, len(fresh), batch):
        chunk = fresh[i:i + batch]
        groups.append((message_key(destination, [a["alert_id"] for a in chunk]), chunk))
    groups.sort(key=lambda g: min(position[a["alert_id"]] for a in g[1]))  # oldest alert first
    return [AlertMessage(destination, key, tuple(json.loads(a["payload_json"]) for a in chunk))
            for key, chunk in groups]


def deliver(lake: Lake, settings: AlertsSettings, senders: Mapping[str, Sender],
            now: datetime | None = None) -> DeliveryReport:
    """Send every pending alert that can be sent now; see the module docstring."""
    report = DeliveryReport()
    alerts = pending(lake)
    suppressed = set(lake.query("SELECT fingerprint FROM suppressed_fingerprints").column("fingerprint").to_pylist())
    dropped = [a for a in alerts if a["fingerprint"] in suppressed]
    for destination in sorted({a["destination"] for a in dropped}):
        _record(lake, destination, [a["alert_id"] for a in dropped if a["destination"] == destination],
                "suppressed", None, None, now)
    if dropped:
        report.suppressed = len(dropped)
        alerts = [a for a in alerts if a["fingerprint"] not in suppressed]
    by_destination: dict[str, list[dict]] = {}
    for a in alerts:
        by_destination.setdefault(a["destination"], []).append(a)
    for name, queued in by_destination.items():
        dest = report.destinations.setdefault(name, DestinationReport())
        sender = senders.get(name)
        sent: set[str] = set()
        if name not in settings.destinations:
            dest.error = "destination no longer configured"
        elif sender is None:
            dest.error = "destination not available"
        else:
            sent = _deliver_destination(lake, name, queued, settings.batch_size(name), sender, dest, now)
        left = [a for a in queued if a["alert_id"] not in sent]
        dest.waiting = len(left)
        dest.oldest_waiting = min((a["created_at"] for a in left), default=None)
    return report


def _deliver_destination(lake: Lake, name: str, queued: list[dict], batch: int, sender: Sender,
                         dest: DestinationReport, now: datetime | None) -> set[str]:
    claimed = {a["alert_id"] for a in queued if a["message_key"]}
    sent: set[str] = set()
    for msg in plan_messages(name, queued, batch):
        ids = msg.alert_ids
        fresh = [i for i in ids if i not in claimed]
        if fresh:
            _record(lake, name, fresh, "claimed", msg.key, None, now)
        try:
            sender.send(msg)
        except DeliveryError as exc:
            dest.failures += 1
            dest.error = str(exc)
            _record(lake, name, ids, "failed", msg.key, str(exc), now)
            log.warning("alerts: %s failed (%s); %d alert(s) stay queued", name, exc, len(ids))
            break
        _record(lake, name, ids, "sent", msg.key, None, now)
        dest.messages_sent += 1
        dest.alerts_sent += len(ids)
        sent.update(ids)
    return sent


def _record(lake: Lake, destination: str, alert_ids: list[str], state: str, key: str | None,
            error: str | None, now: datetime | None) -> None:
    at = now or datetime.now(timezone.utc)
    rows = [{"delivery_id": stable_id("delivery", alert_id, state, key,
                                      at.isoformat() if state == "failed" else None),
             "alert_id": alert_id, "destination": destination, "message_key": key,
             "state": state, "delivered_at": at, "error": error} for alert_id in alert_ids]
    lake.land({"alert_deliveries": rows})
