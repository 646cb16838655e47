"""Effective organization settings of the simulated linked organizations (SPEC §8.5).

Rows are ``{name, type, value}``; a missing row means the setting is not controllable by the
org's admins. The seeded posture is a cautious one (chat sharing and public projects off,
content kept 24 months); live changes (``SyntheticOrg.update_settings``) turn it around so a
posture change between two scans can be tested. The claude.ai organization's
``data_retention_periods`` also bounds how long local-session calls are kept (SPEC §9.1).
"""

from __future__ import annotations

import copy
from typing import Any

from vigil.simulator.sessions import DAY, LOCAL_RETENTION_DEFAULT_S

ROW_TYPES = ("boolean", "integer", "string", "string_list", "provisioning_mode", "data_retention")
PROVISIONING_MODES = ("jit_advanced", "jit_permissive", "login_only", "scim_advanced", "scim_permissive")

# Names documented in §8.5 first, then other plausible switches of a Claude Enterprise org.
_CLAUDE_AI_BOOLEANS = {
    "chat_enabled": True, "content_redaction_enabled": False, "web_search_enabled": True,
    "memory_enabled": False, "code_execution_enabled": True, "sso_enabled": True,
    "ip_allowlist_enabled": False, "hipaa_compliance_enabled": False, "public_projects_enabled": False,
    "claude_ai_chat_sharing_enabled": False, "skills_enabled": True, "cowork_enabled": True,
    "claude_code_enabled": True, "artifacts_enabled": True, "file_uploads_enabled": True,
    "mcp_connectors_enabled": True,
}
_CONSOLE_BOOLEANS = {
    "chat_enabled": False, "sso_enabled": True, "ip_allowlist_enabled": True, "claude_code_enabled": True,
    "hipaa_compliance_enabled": False,
}


def default_settings(kind: str) -> list[dict[str, Any]]:
    """The seeded rows of a linked organization of ``kind`` (``claude_ai`` or ``console``)."""
    booleans = _CLAUDE_AI_BOOLEANS if kind == "claude_ai" else _CONSOLE_BOOLEANS
    rows = [{"name": n, "type": "boolean", "value": v} for n, v in booleans.items()]
    rows += [
        {"name": "account_session_duration_seconds", "type": "integer", "value": 43200},
        {"name": "claude_code_default_worker_pool_id", "type": "string", "value": None},
        {"name": "allowed_invite_domains", "type": "string_list", "value": ["acme-corp.com"]},
        {"name": "ip_allowlist_ip_ranges", "type": "string_list",
         "value": ["203.0.113.0/24"] if kind == "console" else []},
        {"name": "disabled_admin_request_types", "type": "string_list", "value": []},
        {"name": "sso_provisioning_mode", "type": "provisioning_mode", "value": "scim_advanced"},
        {"name": "data_retention_periods", "type": "data_retention",
         "value": {"all": {"type": "fixed", "timescale": "month", "duration": 24}}},
    ]
    return rows


def validate_row(name: str, type_: str, value: Any) -> None:
    """Raise ValueError when ``value`` does not fit a row of ``type_``."""
    ok = {
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "string": lambda v: v is None or isinstance(v, str),
        "string_list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "provisioning_mode": lambda v: v in PROVISIONING_MODES,
        "data_retention": _valid_retention,
    }.get(type_)
    if ok is None:
        raise ValueError(f"unknown setting type {type_!r}; known: {', '.join(ROW_TYPES)}")
    if not ok(value):
        raise ValueError(f"setting {name!r} ({type_}) cannot take the value {value!r}")


def _valid_retention(value: Any) -> bool:
    if not isinstance(value, dict) or not value or ("all" in value and len(value) > 1):
        return False
    for period in value.values():
        if not isinstance(period, dict):
            return False
        if period.get("type") == "indefinite" and len(period) == 1:
            continue
        if not (period.get("type") == "fixed" and period.get("timescale") in ("day", "month")
                and isinstance(period.get("duration"), int) and period["duration"] > 0):
            return False
    return True


def apply_changes(rows: list[dict[str, Any]], changes: dict[str, Any],
                  types: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Set ``changes`` (name -> value) on ``rows`` in place; a new name needs its type in
    ``types``. Returns the feed's ``updates`` (``{type, previous_value, current_value}``)."""
    by_name = {r["name"]: r for r in rows}
    planned = []
    for name, value in changes.items():
        row = by_name.get(name)
        type_ = row["type"] if row else (types or {}).get(name)
        if type_ is None:
            raise ValueError(f"unknown setting {name!r}: give its type to add it")
        validate_row(name, type_, value)
        planned.append((name, type_, row, value))
    updates = []
    for name, type_, row, value in planned:
        previous = copy.deepcopy(row["value"]) if row else None
        if row is None:
            row = {"name": name, "type": type_, "value": None}
            rows.append(row)
        row["value"] = copy.deepcopy(value)
        updates.append({"type": name, "previous_value": previous, "current_value": copy.deepcopy(value)})
    return updates


def retention_seconds(rows: list[dict[str, Any]]) -> float:
    """How long local-session calls are kept: the org's finite conversation retention (the
    ``all`` period, a month counted as 30 days), else the default 6 years."""
    for r in rows:
        if r["name"] == "data_retention_periods" and isinstance(r["value"], dict):
            period = r["value"].get("all") or r["value"].get("conversations") or {}
            if period.get("type") == "fixed":
                unit = DAY if period.get("timescale") == "day" else 30 * DAY
                return min(LOCAL_RETENTION_DEFAULT_S, period["duration"] * unit)
    return LOCAL_RETENTION_DEFAULT_S
