"""Triage: read incidents, change their status, list suppressed values.

Every change is one row of the append-only ``incident_events`` table (who, when, from → to,
assignee, note); the ``incidents`` view shows the latest state. Marking an incident
``false_positive`` suppresses its value (fingerprint) under every policy: alerts for it stop
everywhere until some incident of that fingerprint is set to another status.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from vigil.detect.model import SEVERITIES
from vigil.incidents.policy import ALL_POLICY, IncidentPolicy
from vigil.incidents.rollup import FINDING_COLUMNS, duplicates_sql, latest_copies_sql, matches_sql
from vigil.lake import Lake
from vigil.lake.ids import stable_id
from vigil.lake.views import sql_literal

STATUSES: tuple[str, ...] = ("open", "acknowledged", "false_positive", "resolved")
_ID_PREFIX = re.compile(r"^[0-9a-f]{4,32}$")


class TriageError(ValueError):
    """A triage request that cannot be applied (unknown id, bad status, ...)."""


@dataclass(frozen=True)
class StatusChange:
    """One landed ``incident_events`` row."""

    event_id: str
    incident_id: str
    who: str
    changed_at: datetime
    from_status: str
    to_status: str
    assignee: str | None
    note: str | None


def current_user() -> str:
    """Who is triaging: ``$VIGIL_USER``, else the OS user name."""
    return os.environ.get("VIGIL_USER") or getpass.getuser()


def find_incident(lake: Lake, id_or_prefix: str) -> dict[str, Any]:
    """The incident whose id is (or uniquely starts with) ``id_or_prefix``."""
    prefix = id_or_prefix.strip().lower()
    if not _ID_PREFIX.match(prefix):
        raise TriageError("an incident id is 4 to 32 hexadecimal characters")
    rows = lake.query("SELECT * FROM incidents WHERE starts_with(incident_id, $p) LIMIT 2",
                      {"p": prefix}).to_pylist()
    if not rows:
        raise TriageError(f"no incident {prefix}")
    if len(rows) > 1:
        raise TriageError(f"incident id {prefix} is ambiguous; give more characters")
    return rows[0]


def list_incidents(lake: Lake, *, status: list[str] | None = None, min_severity: str | None = None,
                   since: datetime | None = None, policy: str | None = None,
                   limit: int | None = 100) -> pa.Table:
    """Incidents, most severe and most recent first. ``since`` keeps incidents seen since then."""
    where, params = ["TRUE"], {}
    if status:
        for s in status:
            _check_status(s)
        where.append("status IN (" + ", ".join(sql_literal(s) for s in status) + ")")
    if min_severity:
        if min_severity not in SEVERITIES:
            raise TriageError(f"unknown severity {min_severity!r}; expected one of {', '.join(SEVERITIES)}")
        where.append(f"list_position({_severities()}, severity) >= {SEVERITIES.index(min_severity) + 1}")
    if since:
        where.append("last_seen >= $since")
        params["since"] = since
    if policy:
        where.append("policy = $policy")
        params["policy"] = policy
    sql = (f"SELECT * FROM incidents WHERE {' AND '.join(where)} "
           f"ORDER BY list_position({_severities()}, severity) DESC NULLS LAST, last_seen DESC, incident_id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return lake.query(sql, params or None)


def occurrences(lake: Lake, incident: dict[str, Any], policies: list[IncidentPolicy] | None = None,
                limit: int | None = 1000) -> pa.Table:
    """Every finding counted by ``incident``, oldest first (chat title, user, time, masked
    context, link). When the incident's policy is not among ``policies`` (not configured any
    more), every finding of its value is listed."""
    policy = next((p for p in (policies or []) if p.name == incident["policy"]), None)
    if policy is None:
        policy = IncidentPolicy(ALL_POLICY)
    scope = f"fingerprint = {sql_literal(incident['fingerprint'])}"
    ctes = [f"dup AS ({duplicates_sql('findings_all', 'finding_id', scope)})",
            f"f AS ({latest_copies_sql('findings_all', 'finding_id', scope, FINDING_COLUMNS, 'dup')})"]
    if policy.match.min_per_object > 1:
        objects = "object_key IN (SELECT object_key FROM f)"
        ctes.append(f"odup AS ({duplicates_sql('findings_all', 'finding_id', objects)})")
        ctes.append(f"fo AS ({latest_copies_sql('findings_all', 'finding_id', objects, FINDING_COLUMNS, 'odup')})")
    ctes.append(f"m AS ({matches_sql(policy, 'fo')})")
    sql = ("WITH " + ",\n".join(ctes) + """
        SELECT x.event_time, x.chat_title, x.user_email, x.project_name, x.file_name, x.object_kind,
               x.infotype, x.severity, x.masked, x.context, x.chat_url, x.object_key, x.finding_id
        FROM findings x SEMI JOIN m ON m.finding_id = x.finding_id
        ORDER BY x.event_time, x.finding_id""")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return lake.query(sql)


def set_status(lake: Lake, id_or_prefix: str, *, status: str | None = None, note: str | None = None,
               assignee: str | None = None, who: str | None = None,
               now: datetime | None = None) -> StatusChange:
    """Record a triage change of one incident (status, assignee and/or a note).

    ``assignee`` None keeps the current assignee, ``""`` clears it. Returns the landed event.
    """
    if status is None and note is None and assignee is None:
        raise TriageError("nothing to change: give a status, a note or an assignee")
    if status is not None:
        _check_status(status)
    incident = find_incident(lake, id_or_prefix)
    who = (who or current_user()).strip()
    if not who:
        raise TriageError("who made the change is required")
    now = now or datetime.now(timezone.utc)
    to_status = status or incident["status"]
    new_assignee = incident["assignee"] if assignee is None else (assignee.strip() or None)
    note = note.strip() if note else None
    event = StatusChange(
        event_id=stable_id("incident_event", incident["incident_id"], now.isoformat(), who,
                           to_status, new_assignee, note),
        incident_id=incident["incident_id"], who=who, changed_at=now,
        from_status=incident["status"], to_status=to_status, assignee=new_assignee, note=note)
    lake.land({"incident_events": [{
        "event_id": event.event_id, "incident_id": event.incident_id, "policy": incident["policy"],
        "fingerprint": incident["fingerprint"], "who": who, "changed_at": now,
        "from_status": event.from_status, "to_status": to_status, "assignee": new_assignee,
        "note": note}]})
    return event


def history(lake: Lake, incident_id: str) -> pa.Table:
    """The incident's events, oldest first."""
    return lake.query("SELECT changed_at, who, from_status, to_status, assignee, note FROM incident_events "
                      "WHERE incident_id = $id ORDER BY changed_at, event_id", {"id": incident_id})


def suppressed(lake: Lake) -> pa.Table:
    """Fingerprints marked false positive (they alert nowhere), most recent first."""
    return lake.query("SELECT * FROM suppressed_fingerprints ORDER BY marked_at DESC, fingerprint")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise TriageError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")


def _severities() -> str:
    return "[" + ", ".join(sql_literal(s) for s in SEVERITIES) + "]"
