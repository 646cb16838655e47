"""Row builders for tables whose rows come straight from API records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

VIGIL_USER_AGENT_PREFIX = "vigil/"  # vigil.api.client.USER_AGENT starts with it


def is_vigil_read(activity: Mapping[str, Any]) -> bool:
    """True for a ``compliance_api_accessed`` activity made by vigil itself (its user agent)."""
    actor = activity.get("actor") or {}
    return (activity.get("type") == "compliance_api_accessed"
            and str(actor.get("user_agent") or "").startswith(VIGIL_USER_AGENT_PREFIX))


def activity_row(activity: Mapping[str, Any], scan_run_id: str | None = None) -> dict[str, Any]:
    """An ``activities`` row from an Activity Feed record, which is kept whole in ``raw_json``.

    Unknown activity and actor types pass through: only the common fields are lifted into
    columns, the rest stays in the JSON.
    """
    if not activity.get("id"):
        raise ValueError("activity record has no id")
    actor = activity.get("actor") or {}
    return {
        "activity_id": activity["id"],
        "created_at": activity.get("created_at"),
        "type": activity.get("type"),
        "actor_type": actor.get("type"),
        "actor_user_id": actor.get("user_id"),
        "actor_email": actor.get("email_address") or actor.get("unauthenticated_email_address"),
        "actor_api_key_id": actor.get("api_key_id") or actor.get("admin_api_key_id"),
        "actor_ip_address": actor.get("ip_address"),
        "actor_user_agent": actor.get("user_agent"),
        "organization_id": activity.get("organization_id"),
        "organization_uuid": activity.get("organization_uuid"),
        "claude_chat_id": activity.get("claude_chat_id"),
        "claude_project_id": activity.get("claude_project_id"),
        "claude_file_id": activity.get("claude_file_id"),
        "raw_json": json.dumps(activity, sort_keys=True, separators=(",", ":"), default=str),
        "is_vigil_read": is_vigil_read(activity),
        "scan_run_id": scan_run_id,
    }
