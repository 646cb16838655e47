"""Explicit pyarrow schemas of the lake's tables.

Each table has an id column (the deterministic key the views deduplicate on) and a
``landed_at`` column that the writer stamps. Files are Hive-partitioned by ``dt`` (UTC date of
``landed_at``); ``dt`` lives in the directory name, not inside the Parquet files.
See docs/schema.md for the meaning of every column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
INT = pa.int64()

PARTITION_COLUMN = "dt"
LANDED_AT = "landed_at"

# Chat-event metadata shared by findings and chat_events.
_CHAT_METADATA = [
    ("org_id", STR),
    ("chat_id", STR),
    ("chat_title", STR),
    ("message_id", STR),
    ("author_role", STR),
    ("model", STR),
    ("file_id", STR),
    ("file_name", STR),
    ("project_id", STR),
    ("project_name", STR),
    ("user_id", STR),
    ("user_email", STR),
    ("chat_url", STR),
    ("deleted_at", TS),
]

_OBJECT_REF = [
    ("object_kind", STR),
    ("object_id", STR),
    ("object_version", STR),
]

FINDINGS = pa.schema(
    [("finding_id", STR)]
    + _CHAT_METADATA
    + [("object_key", STR)]
    + _OBJECT_REF
    + [
        ("locator", STR),
        ("start", INT),
        ("end", INT),
        ("infotype", STR),
        ("category", STR),
        ("detector", STR),
        ("likelihood", STR),
        ("severity", STR),
        ("masked", STR),
        ("fingerprint", STR),
        ("context", STR),
        ("event_time", TS),
        ("scanned_at", TS),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

CHAT_EVENTS = pa.schema(
    [("event_id", STR), ("event_kind", STR)]
    + _CHAT_METADATA
    + [("object_key", STR)]
    + _OBJECT_REF
    + [
        ("event_time", TS),
        ("bytes", INT),
        ("findings_count", INT),
        ("scan_status", STR),
        ("scanned_at", TS),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

OBJECTS = pa.schema(
    [("object_key", STR)]
    + _OBJECT_REF
    + [
        ("status", STR),
        ("reason", STR),
        ("attempts", INT),
        ("bytes", INT),
        ("findings_count", INT),
        ("detected_type", STR),
        ("file_name", STR),
        ("mime", STR),
        ("org_id", STR),
        ("chat_id", STR),
        ("project_id", STR),
        ("user_email", STR),
        ("evidence_uri", STR),
        ("duration_ms", INT),
        ("scanned_at", TS),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

ACTIVITIES = pa.schema(
    [
        ("activity_id", STR),
        ("created_at", TS),
        ("type", STR),
        ("actor_type", STR),
        ("actor_user_id", STR),
        ("actor_email", STR),
        ("actor_api_key_id", STR),
        ("actor_ip_address", STR),
        ("actor_user_agent", STR),
        ("organization_id", STR),
        ("organization_uuid", STR),
        ("claude_chat_id", STR),
        ("claude_project_id", STR),
        ("claude_file_id", STR),
        ("raw_json", STR),
        ("is_vigil_read", pa.bool_()),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

SCAN_RUNS = pa.schema(
    [
        ("scan_run_id", STR),
        ("run_type", STR),
        ("connector", STR),
        ("org_id", STR),
        ("status", STR),
        ("started_at", TS),
        ("finished_at", TS),
        ("window_start", TS),
        ("window_end", TS),
        ("cursors_before", STR),
        ("cursors_after", STR),
        ("chats_seen", INT),
        ("objects_scanned", INT),
        ("objects_skipped", INT),
        ("bytes_scanned", INT),
        ("findings_count", INT),
        ("chat_events_count", INT),
        ("activities_count", INT),
        ("requests_used", INT),
        ("rate_limited_429", INT),
        ("retries", INT),
        ("duration_s", pa.float64()),
        ("error", STR),
        ("owner", STR),
        ("rules_version", STR),
        ("parameters_json", STR),
        (LANDED_AT, TS),
    ]
)


@dataclass(frozen=True)
class TableSpec:
    """A lake table: its name, Parquet schema (without ``dt``) and deduplication key."""

    name: str
    schema: pa.Schema
    id_column: str

    def view_schema(self) -> pa.Schema:
        """Schema as the DuckDB view exposes it: file columns plus the ``dt`` partition."""
        return self.schema.append(pa.field(PARTITION_COLUMN, pa.date32()))


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("findings", FINDINGS, "finding_id"),
        TableSpec("chat_events", CHAT_EVENTS, "event_id"),
        TableSpec("activities", ACTIVITIES, "activity_id"),
        TableSpec("scan_runs", SCAN_RUNS, "scan_run_id"),
        # The ledger is landed last in a batch: an object counts as inspected only once
        # everything derived from it is durable.
        TableSpec("objects", OBJECTS, "object_key"),
    )
}

LANDING_ORDER: tuple[str, ...] = tuple(TABLES)


# -- incidents and alerts (vigil/incidents, vigil/alerts; docs/incidents.md, docs/alerts.md) ------
# Derived views over these tables (``incidents``, ``suppressed_fingerprints``, ``alerts``) are in
# vigil/lake/incident_views.py.

INCIDENT_ROLLUPS = pa.schema(
    [
        ("incident_id", STR),
        ("policy", STR),
        ("fingerprint", STR),
        ("infotype", STR),
        ("category", STR),
        ("severity", STR),
        ("likelihood", STR),
        ("masked", STR),
        ("first_seen", TS),
        ("last_seen", TS),
        ("occurrences", INT),
        ("users", INT),
        ("chats", INT),
        ("projects", INT),
        ("first_user", STR),
        ("chat_url", STR),
        ("object_key", STR),
        ("latest_chat_url", STR),
        ("latest_object_key", STR),
        ("first_detected_at", TS),
        ("created_at", TS),
        ("content_hash", STR),
        (LANDED_AT, TS),
    ]
)

INCIDENT_EVENTS = pa.schema(
    [
        ("event_id", STR),
        ("incident_id", STR),
        ("policy", STR),
        ("fingerprint", STR),
        ("who", STR),
        ("changed_at", TS),
        ("from_status", STR),
        ("to_status", STR),
        ("assignee", STR),
        ("note", STR),
        (LANDED_AT, TS),
    ]
)

ALERT_OUTBOX = pa.schema(
    [
        ("alert_id", STR),
        ("destination", STR),
        ("policy", STR),
        ("incident_id", STR),
        ("fingerprint", STR),
        ("severity", STR),
        ("created_at", TS),
        ("payload_json", STR),
        (LANDED_AT, TS),
    ]
)

ALERT_DELIVERIES = pa.schema(
    [
        ("delivery_id", STR),
        ("alert_id", STR),
        ("destination", STR),
        ("message_key", STR),
        ("state", STR),
        ("delivered_at", TS),
        ("error", STR),
        (LANDED_AT, TS),
    ]
)

TABLES.update(
    (spec.name, spec)
    for spec in (
        TableSpec("incident_rollups", INCIDENT_ROLLUPS, "incident_id"),
        TableSpec("incident_events", INCIDENT_EVENTS, "event_id"),
        TableSpec("alert_outbox", ALERT_OUTBOX, "alert_id"),
        TableSpec("alert_deliveries", ALERT_DELIVERIES, "delivery_id"),
    )
)
# The ledger stays last: incidents and alerts are never landed in a scan's batch, but the order
# must keep its promise if they ever are.
LANDING_ORDER = tuple(name for name in TABLES if name != "objects") + ("objects",)
