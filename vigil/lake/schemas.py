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

# Where a finding in a Cowork / Claude Code session or a Claude Code hosted site comes from
# (issue 12); null for chat and project content except ``tool_name``.
_SESSION_FINDING_METADATA = [
    ("session_id", STR),            # clls_… (local) or cse_… (remote) session
    ("product_surface", STR),       # cowork | claude_code | cowork_remote
    ("tool_name", STR),             # tool of a tool_use / tool_result block (Bash, Read, …)
    ("content_verification", STR),  # verified | client_asserted
    ("read_mode", STR),             # code artifacts: owner | users | org | public
    ("exposure", STR),              # code artifacts: who can open the site (public = the internet)
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
    + _SESSION_FINDING_METADATA
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


# -- sessions, code artifacts, the directory and the organization's posture (issue 12) ---------

SESSION_EVENTS = pa.schema(
    [
        ("event_id", STR),
        ("event_kind", STR),  # local_session_message | remote_session_message | code_artifact_version
        ("org_id", STR),
        ("session_id", STR),
        ("product_surface", STR),
        ("message_id", STR),
        ("role", STR),
        ("model", STR),
        ("tool_names", STR),  # tools of the message's blocks, comma-separated
        ("content_verification", STR),
        ("truncated", pa.bool_()),
        ("user_id", STR),
        ("user_email", STR),
        ("agent_id", STR),
        ("project_id", STR),
        ("artifact_name", STR),
        ("read_mode", STR),
        ("object_key", STR),
    ]
    + _OBJECT_REF
    + [
        ("event_time", TS),
        ("bytes", INT),
        ("findings_count", INT),
        ("scan_status", STR),
        ("reason", STR),
        ("scanned_at", TS),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

# Directory rows: whether the API still lists it, and when this state was landed.
_DIRECTORY_STATE = [("active", pa.bool_()), ("seen_at", TS), ("scan_run_id", STR), (LANDED_AT, TS)]

USERS = pa.schema(
    [
        ("user_key", STR),
        ("org_id", STR),
        ("user_id", STR),
        ("email", STR),
        ("full_name", STR),
        ("organization_role", STR),
        ("created_at", TS),
    ]
    + _DIRECTORY_STATE
)

GROUPS = pa.schema(
    [
        ("group_key", STR),
        ("org_id", STR),
        ("group_id", STR),
        ("name", STR),
        ("description", STR),
        ("source_type", STR),
        ("roles", STR),  # JSON list of role ids
        ("member_count", INT),
        ("created_at", TS),
        ("updated_at", TS),
    ]
    + _DIRECTORY_STATE
)

GROUP_MEMBERS = pa.schema(
    [
        ("member_key", STR),
        ("org_id", STR),
        ("group_id", STR),
        ("group_name", STR),
        ("user_id", STR),
        ("email", STR),
        ("created_at", TS),
    ]
    + _DIRECTORY_STATE
)

POSTURE_SNAPSHOTS = pa.schema(
    [
        ("snapshot_id", STR),
        ("org_id", STR),
        ("organization_name", STR),
        ("taken_at", TS),
        ("settings_json", STR),
        ("api_keys_json", STR),
        ("settings_count", INT),
        ("digest", STR),
        ("scan_run_id", STR),
        (LANDED_AT, TS),
    ]
)

POSTURE_CHANGES = pa.schema(
    [
        ("change_id", STR),
        ("org_id", STR),
        ("organization_name", STR),
        ("setting", STR),
        ("change", STR),
        ("from_value", STR),
        ("to_value", STR),
        ("description", STR),
        ("previous_snapshot_id", STR),
        ("snapshot_id", STR),
        ("previous_taken_at", TS),
        ("detected_at", TS),
        ("scan_run_id", STR),
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
        TableSpec("session_events", SESSION_EVENTS, "event_id"),
        TableSpec("users", USERS, "user_key"),
        TableSpec("groups", GROUPS, "group_key"),
        TableSpec("group_members", GROUP_MEMBERS, "member_key"),
        TableSpec("posture_snapshots", POSTURE_SNAPSHOTS, "snapshot_id"),
        TableSpec("posture_changes", POSTURE_CHANGES, "change_id"),
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
