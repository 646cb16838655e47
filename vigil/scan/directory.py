"""The organization's directory: users and groups with their members, landed as tables and used
to scope scans by group.

Each forward (and historical) scan reads the whole directory (SPEC §8.2, §8.4: one request per
1,000 users, one for the groups, one per group for its members) and lands only what changed
since the lake's copy: new or edited users, groups and memberships, and those that disappeared
(``active = false``; the API drops removed users at once). Ids are deterministic per
organization (``user_key``, ``group_key``, ``member_key``), so the views show the latest state of
each; findings, session events and incidents join ``users`` on ``user_id``.

``Directory`` is the in-memory view a run uses for scope and for owner e-mails the session APIs
leave out; it is loaded from the lake (what the directory source landed), never kept from an
earlier attempt.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from vigil.lake.ids import stable_id

USER_COLUMNS = ("email", "full_name", "organization_role", "created_at")
GROUP_COLUMNS = ("name", "description", "source_type", "roles", "member_count", "created_at", "updated_at")
MEMBER_COLUMNS = ("group_name", "email", "created_at")


class ScopeGroupError(ValueError):
    """A group named by the scope is not in the directory (or groups cannot be read)."""


def user_key(org_id: str | None, user_id: str) -> str:
    return stable_id("user", org_id, user_id)


def group_key(org_id: str | None, group_id: str) -> str:
    return stable_id("group", org_id, group_id)


def member_key(org_id: str | None, group_id: str, user_id: str) -> str:
    return stable_id("group_member", org_id, group_id, user_id)


def directory_rows(snapshot: Mapping[str, Any], lake: Any, org_id: str | None, run_id: str,
                   now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Rows of ``users``, ``groups`` and ``group_members`` that differ from the lake's latest copy.

    ``snapshot`` is ``Fetcher.directory()``: raw users, groups (None when the key may not read
    them: the group tables are then left as they are) and members by group id.
    """
    users = [{"user_key": user_key(org_id, u["id"]), "org_id": org_id, "user_id": u["id"],
              "email": u.get("email"), "full_name": u.get("full_name"),
              "organization_role": u.get("organization_role"), "created_at": u.get("created_at")}
             for u in snapshot["users"]]
    out = {"users": _changes(lake, "users", "user_key", USER_COLUMNS, users, org_id, run_id, now)}
    if snapshot.get("groups") is None:
        return out
    groups, members = [], []
    for g in snapshot["groups"]:
        listed = snapshot["members"].get(g["id"]) or []
        groups.append({"group_key": group_key(org_id, g["id"]), "org_id": org_id, "group_id": g["id"],
                       "name": g.get("name"), "description": g.get("description"),
                       "source_type": g.get("source_type"), "roles": json.dumps(g.get("roles") or []),
                       "member_count": len(listed), "created_at": g.get("created_at"),
                       "updated_at": g.get("updated_at")})
        members += [{"member_key": member_key(org_id, g["id"], m["user_id"]), "org_id": org_id,
                     "group_id": g["id"], "group_name": g.get("name"), "user_id": m["user_id"],
                     "email": m.get("email"), "created_at": m.get("created_at")}
                    for m in listed if m.get("user_id")]
    out["groups"] = _changes(lake, "groups", "group_key", GROUP_COLUMNS, groups, org_id, run_id, now)
    out["group_members"] = _changes(lake, "group_members", "member_key", MEMBER_COLUMNS, members, org_id,
                                    run_id, now)
    return out


def _changes(lake: Any, table: str, key: str, columns: tuple[str, ...], rows: list[dict[str, Any]],
             org_id: str | None, run_id: str, now: datetime) -> list[dict[str, Any]]:
    """New and changed rows (``active``), and rows the lake has as active that the API no longer
    lists (landed again with ``active = false``)."""
    current = {r[key]: r for r in lake.query(
        f"SELECT * EXCLUDE (dt, landed_at) FROM {table} WHERE org_id IS NOT DISTINCT FROM ?",
        [org_id]).to_pylist()}
    out = []
    listed = set()
    for row in rows:
        listed.add(row[key])
        old = current.get(row[key])
        if old is None or not old.get("active") or any(_norm(old.get(c)) != _norm(row.get(c)) for c in columns):
            out.append({**row, "active": True, "seen_at": now, "scan_run_id": run_id})
    for k, old in current.items():
        if k not in listed and old.get("active"):
            out.append({**old, "active": False, "seen_at": now, "scan_run_id": run_id})
    return out


def _norm(value: Any) -> Any:
    """Compare API text and lake values alike (timestamps as instants)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    return value


@dataclass
class Directory:
    """Who is who, from the lake: e-mails and groups by user id (see module docstring)."""

    emails: dict[str, str | None] = field(default_factory=dict)  # user id -> e-mail
    user_ids: dict[str, str] = field(default_factory=dict)  # lower-case e-mail -> user id
    groups: dict[str, str | None] = field(default_factory=dict)  # group id -> name
    memberships: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # user id -> groups
    groups_known: bool = False  # whether group tables were ever landed for this organization

    @classmethod
    def load(cls, lake: Any, org_id: str | None) -> "Directory":
        """The active users, groups and memberships of ``org_id`` (three queries)."""
        d = cls()
        for r in lake.query("SELECT user_id, email FROM users WHERE active AND org_id IS NOT DISTINCT FROM ?",
                            [org_id]).to_pylist():
            d.emails[r["user_id"]] = r["email"]
            if r["email"]:
                d.user_ids[r["email"].strip().casefold()] = r["user_id"]
        for r in lake.query("SELECT group_id, name FROM groups WHERE active AND org_id IS NOT DISTINCT FROM ?",
                            [org_id]).to_pylist():
            d.groups[r["group_id"]] = r["name"]
        d.groups_known = bool(d.groups) or bool(lake.query(
            "SELECT 1 FROM groups WHERE org_id IS NOT DISTINCT FROM ? LIMIT 1", [org_id]).num_rows)
        by_user: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for r in lake.query("SELECT group_id, user_id, email FROM group_members WHERE active "
                            "AND org_id IS NOT DISTINCT FROM ? ORDER BY group_id", [org_id]).to_pylist():
            by_user[r["user_id"]].append((r["group_id"], d.groups.get(r["group_id"])))
        d.memberships = dict(by_user)
        return d

    def email_of(self, user_id: str | None) -> str | None:
        return self.emails.get(user_id) if user_id else None

    def groups_of(self, user_id: str | None, email: str | None = None) -> list[tuple[str, str | None]]:
        """``(group id, name)`` of every group holding the user (by id, else by e-mail)."""
        if not user_id and email:
            user_id = self.user_ids.get(email.strip().casefold())
        return self.memberships.get(user_id, []) if user_id else []

    def check_scope_groups(self, scope: Any) -> None:
        """Raise ``ScopeGroupError`` when the scope names a group the directory does not hold:
        including nobody, or excluding nobody, by a typo must not pass silently."""
        if not scope.uses_groups:
            return
        if not self.groups_known:
            raise ScopeGroupError("scope.chats.groups: the directory's groups could not be read "
                                  "(the key needs read:compliance_org_data)")
        missing = [g for g in scope.groups if not any(_names(g, gid, name) for gid, name in self.groups.items())]
        if missing:
            raise ScopeGroupError(f"scope.chats.groups: no group {', '.join(repr(m) for m in missing)} "
                                  "in the organization's directory")


def _names(entry: str, group_id: str, name: str | None) -> bool:
    """True when one configured entry designates this group."""
    wanted = entry.strip().casefold()
    return wanted == group_id.casefold() or (name is not None and wanted == name.strip().casefold())
