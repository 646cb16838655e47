"""Derived DuckDB views of incidents and alerts (tables in ``vigil.lake.schemas``).

- ``incidents``: one row per (policy, fingerprint): the aggregate from ``incident_rollups``
  (recomputed from ``findings`` by ``vigil.incidents``) joined with the triage state from the
  append-only ``incident_events``. A fingerprint whose latest false-positive decision is
  ``false_positive`` shows that status under every policy.
- ``suppressed_fingerprints``: fingerprints marked false positive, who did it, when and why.
- ``alerts``: every queued alert with its delivery state (``pending``, ``sent``, ``suppressed``),
  attempts and last error, from ``alert_outbox`` and the append-only ``alert_deliveries``.
See docs/incidents.md and docs/alerts.md.
"""

from __future__ import annotations

import duckdb

SUPPRESSED_FINGERPRINTS = """
WITH decision AS (
    SELECT fingerprint, who, changed_at, note, to_status FROM incident_events
    WHERE to_status = 'false_positive' OR from_status = 'false_positive'
    QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY changed_at DESC, event_id DESC) = 1
)
SELECT d.fingerprint, d.who AS marked_by, d.changed_at AS marked_at, d.note,
       any_value(r.infotype) AS infotype, any_value(r.masked) AS masked,
       count(r.incident_id) AS incidents
FROM decision d LEFT JOIN incident_rollups r ON r.fingerprint = d.fingerprint AND r.occurrences > 0
WHERE d.to_status = 'false_positive'
GROUP BY d.fingerprint, d.who, d.changed_at, d.note
"""

INCIDENTS = """
WITH dup AS (
    SELECT hash(incident_id) AS h FROM incident_rollups_all GROUP BY 1 HAVING count(*) > 1
),
rollups AS (  -- incident_rollups (latest copy per id), without paying the window for ids landed once
    SELECT * FROM incident_rollups_all WHERE hash(incident_id) NOT IN (SELECT h FROM dup)
    UNION ALL
    SELECT * FROM incident_rollups_all WHERE hash(incident_id) IN (SELECT h FROM dup)
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY landed_at DESC) = 1
),
last_event AS (
    SELECT incident_id, to_status, assignee, changed_at FROM incident_events
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY changed_at DESC, event_id DESC) = 1
),
notes AS (
    SELECT incident_id,
           string_agg(strftime(changed_at, '%Y-%m-%d %H:%M') || ' ' || who || ': ' || note, chr(10) ORDER BY changed_at)
               AS notes
    FROM incident_events WHERE coalesce(note, '') <> '' GROUP BY incident_id
)
SELECT r.incident_id, r.policy, r.fingerprint, r.infotype, r.category, r.severity, r.likelihood,
       r.masked, r.first_seen, r.last_seen, r.occurrences, r.users, r.chats, r.projects,
       CASE WHEN s.fingerprint IS NOT NULL THEN 'false_positive'
            WHEN e.to_status IS NULL OR e.to_status = 'false_positive' THEN 'open'
            ELSE e.to_status END AS status,
       e.assignee, n.notes, r.chat_url, r.object_key, r.latest_chat_url, r.latest_object_key,
       r.first_user, r.first_detected_at, r.created_at,
       greatest(r.landed_at, e.changed_at) AS updated_at
FROM rollups r
LEFT JOIN last_event e ON e.incident_id = r.incident_id
LEFT JOIN notes n ON n.incident_id = r.incident_id
LEFT JOIN suppressed_fingerprints s ON s.fingerprint = r.fingerprint
WHERE r.occurrences > 0
"""

ALERTS = """
WITH d AS (
    SELECT alert_id,
           bool_or(state = 'sent') AS sent,
           bool_or(state = 'suppressed') AS suppressed,
           count(*) FILTER (WHERE state = 'failed') AS failures,
           min(message_key) FILTER (WHERE state = 'claimed') AS message_key,
           max(delivered_at) FILTER (WHERE state = 'sent') AS sent_at,
           arg_max(error, delivered_at) FILTER (WHERE state = 'failed') AS last_error
    FROM alert_deliveries GROUP BY alert_id
)
SELECT o.alert_id, o.destination, o.policy, o.incident_id, o.fingerprint, o.severity, o.created_at,
       CASE WHEN d.sent THEN 'sent' WHEN d.suppressed THEN 'suppressed' ELSE 'pending' END AS status,
       d.message_key, coalesce(d.failures, 0) AS failures, d.last_error, d.sent_at, o.payload_json
FROM alert_outbox o LEFT JOIN d ON d.alert_id = o.alert_id
"""

VIEWS = {"suppressed_fingerprints": SUPPRESSED_FINGERPRINTS, "incidents": INCIDENTS, "alerts": ALERTS}


def create_incident_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the views above; the table views must exist already."""
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
