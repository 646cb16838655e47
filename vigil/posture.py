"""The organization's posture: a dated snapshot of its settings per scan, and what changed.

Every scan reads the effective settings of each linked organization (SPEC §8.5: rows
``{name, type, value}`` and the Compliance Access Keys) and lands them as one
``posture_snapshots`` row per organization and run. Compared with the organization's previous
snapshot, each difference becomes a ``posture_changes`` row: what changed, from what, to what,
a one-line description, and between which two snapshots (hence when, within the scan interval).
The first snapshot of an organization is the baseline and gives no change.

Changes (``change`` column):

- boolean settings: ``turned_on`` / ``turned_off`` (``claude_ai_chat_sharing_enabled`` turned on,
  ``public_projects_enabled`` turned on, ...);
- ``data_retention_periods``: ``shortened``, ``lengthened`` or ``changed`` (per data type; a
  month counts as 30 days, ``indefinite`` as longer than any period);
- other settings: ``changed``; a setting that appears or disappears: ``added`` / ``removed``
  (a missing row means "not controllable by the org's admins", not "off");
- Compliance Access Keys: ``key_created``, ``key_deactivated``, ``key_reactivated``,
  ``key_removed``, ``key_scopes_changed`` (setting ``api_key:<id>``; never a secret, the API
  gives none).

``changes_since(lake, since)`` lists the changes detected since a date, Prefect-free, for
reports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from vigil.lake.ids import stable_id

DAYS_PER = {"day": 1, "month": 30}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def snapshot_id(org_id: str, run_id: str) -> str:
    return stable_id("posture_snapshot", org_id, run_id)


def snapshot_row(record: Mapping[str, Any], run_id: str, taken_at: datetime) -> dict[str, Any]:
    """One ``posture_snapshots`` row from a settings response (``Fetcher.organization_settings``)."""
    settings = {r["name"]: r.get("value") for r in record.get("settings") or () if r.get("name")}
    types = {r["name"]: r.get("type") for r in record.get("settings") or () if r.get("name")}
    keys = sorted((dict(k) for k in record.get("api_keys") or ()), key=lambda k: str(k.get("id")))
    body = {"settings": settings, "types": types}
    org_id = record["organization_id"]
    return {"snapshot_id": snapshot_id(org_id, run_id), "org_id": org_id,
            "organization_name": record.get("organization_name"), "taken_at": taken_at,
            "settings_json": _json(body), "api_keys_json": _json(keys), "settings_count": len(settings),
            "digest": hashlib.sha256((_json(body) + _json(keys)).encode()).hexdigest()[:16],
            "scan_run_id": run_id}


def diff_snapshots(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``posture_changes`` rows between two ``posture_snapshots`` rows of one organization."""
    before, after = json.loads(previous["settings_json"]), json.loads(current["settings_json"])
    old, new = before["settings"], after["settings"]
    types = {**before.get("types", {}), **after.get("types", {})}
    changes = []
    for name in sorted(set(old) | set(new)):
        if name in old and name in new and old[name] == new[name]:
            continue
        change, text = _setting_change(name, types.get(name), old.get(name), new.get(name),
                                       name in old, name in new)
        changes.append(_change(previous, current, name, change, old.get(name), new.get(name), text))
    old_keys = {k["id"]: k for k in json.loads(previous["api_keys_json"])}
    new_keys = {k["id"]: k for k in json.loads(current["api_keys_json"])}
    for key_id in sorted(set(old_keys) | set(new_keys)):
        change = _key_change(old_keys.get(key_id), new_keys.get(key_id))
        if change is not None:
            key = new_keys.get(key_id) or old_keys[key_id]
            text = f"Compliance key {key.get('name') or key_id!r} ({key_id}): {change.replace('key_', '').replace('_', ' ')}"
            changes.append(_change(previous, current, f"api_key:{key_id}", change, old_keys.get(key_id),
                                   new_keys.get(key_id), text))
    return changes


def _change(previous: Mapping[str, Any], current: Mapping[str, Any], setting: str, change: str,
            before: Any, after: Any, description: str) -> dict[str, Any]:
    return {
        # Diffed against the same previous snapshot, two runs give one change (same id).
        "change_id": stable_id("posture_change", current["org_id"], setting, previous["snapshot_id"],
                               _json(before), _json(after)),
        "org_id": current["org_id"], "organization_name": current.get("organization_name"),
        "setting": setting, "change": change, "from_value": _json(before), "to_value": _json(after),
        "description": description, "previous_snapshot_id": previous["snapshot_id"],
        "snapshot_id": current["snapshot_id"], "previous_taken_at": previous["taken_at"],
        "detected_at": current["taken_at"], "scan_run_id": current["scan_run_id"],
    }


def _setting_change(name: str, type_: str | None, before: Any, after: Any, had: bool, has: bool) -> tuple[str, str]:
    if not had:
        return "added", f"{name} is now controllable ({_show(after)})"
    if not has:
        return "removed", f"{name} is no longer controllable (was {_show(before)})"
    if type_ == "boolean" or (isinstance(before, bool) and isinstance(after, bool)):
        return ("turned_on", f"{name} turned on") if after else ("turned_off", f"{name} turned off")
    if type_ == "data_retention" or name == "data_retention_periods":
        direction = _retention_direction(before, after)
        return direction, f"{name} {direction}: {_show(before)} -> {_show(after)}"
    return "changed", f"{name} changed: {_show(before)} -> {_show(after)}"


def _retention_days(period: Any) -> float:
    if not isinstance(period, Mapping) or period.get("type") == "indefinite":
        return float("inf")
    return float(period.get("duration") or 0) * DAYS_PER.get(period.get("timescale"), 1)


def _retention_direction(before: Any, after: Any) -> str:
    """``shortened`` when some data type is kept for less time (and none longer), etc."""
    before, after = before or {}, after or {}
    base_b, base_a = before.get("all"), after.get("all")
    kinds = (set(before) | set(after)) - {"all"} or {"all"}
    shorter = longer = False
    for kind in kinds:
        b = _retention_days(before.get(kind, base_b))
        a = _retention_days(after.get(kind, base_a))
        shorter, longer = shorter or a < b, longer or a > b
    if shorter and not longer:
        return "shortened"
    if longer and not shorter:
        return "lengthened"
    return "changed"


def _key_change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str | None:
    if before is None:
        return "key_created"
    if after is None:
        return "key_removed"
    if before.get("is_active") and not after.get("is_active"):
        return "key_deactivated"
    if not before.get("is_active") and after.get("is_active"):
        return "key_reactivated"
    if sorted(before.get("scopes") or []) != sorted(after.get("scopes") or []):
        return "key_scopes_changed"
    return None


def _show(value: Any) -> str:
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        return ", ".join(f"{k}: {'indefinite' if _retention_days(v) == float('inf') else f'{_retention_days(v):g} days'}"
                         for k, v in sorted(value.items()))
    return _json(value)


def posture_rows(lake: Any, records: Iterable[Mapping[str, Any]], run_id: str,
                 taken_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """This run's snapshots and the changes since each organization's previous snapshot."""
    snapshots, changes = [], []
    for record in records:
        current = snapshot_row(record, run_id, taken_at)
        previous = lake.query(
            "SELECT * EXCLUDE (dt, landed_at) FROM posture_snapshots WHERE org_id = ? AND scan_run_id <> ? "
            "AND taken_at <= ? ORDER BY taken_at DESC, snapshot_id LIMIT 1",
            [current["org_id"], run_id, taken_at]).to_pylist()
        snapshots.append(current)
        if previous and previous[0]["digest"] != current["digest"]:
            changes.extend(diff_snapshots(previous[0], current))
    return {"posture_snapshots": snapshots, "posture_changes": changes}


def changes_since(lake: Any, since: datetime | str, org_id: str | None = None) -> list[dict[str, Any]]:
    """Posture changes detected at or after ``since`` (oldest first), as dicts with ``org_id``,
    ``organization_name``, ``setting``, ``change``, ``from_value``, ``to_value`` (JSON text),
    ``description``, ``previous_taken_at``, ``detected_at`` and ``scan_run_id``."""
    sql = ("SELECT * EXCLUDE (dt, landed_at) FROM posture_changes WHERE detected_at >= ?"
           + (" AND org_id = ?" if org_id else "") + " ORDER BY detected_at, org_id, setting")
    params: list[Any] = [since] + ([org_id] if org_id else [])
    return lake.query(sql, params).to_pylist()
