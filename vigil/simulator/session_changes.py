"""Sessions, code artifacts and settings of a ``SyntheticOrg``: lookups at the simulator's clock
(retention, uploads in flight), their ground truth, and the live changes that add to them.

Mixed into ``SyntheticOrg``; every change takes the org lock, places its timestamps at or before
now (``tick``), bumps ``version`` and, for settings, emits the Activity Feed record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vigil.simulator.ids import squeeze_into
from vigil.simulator.sessions import (READ_MODES, REMOTE_STATUSES, Call, CodeArtifact, CodeVersion, LocalSession,
                                      RemoteMsgSlot, RemoteSession, build_code_artifact, build_local_session,
                                      build_remote_session, explicit_blocks, version_id)
from vigil.simulator.settings import apply_changes, retention_seconds

if TYPE_CHECKING:
    from vigil.simulator.org import GroundTruthRow

LIVE_WINDOW_S = 600.0


class SessionsMixin:
    """Lookups, ground truth and live changes of sessions, code artifacts and settings."""

    # ---------------------------------------------------------------------------- lookups
    def _by_id(self, name: str, items: list) -> dict[str, Any]:
        """An id index of an append-only list, rebuilt when the list grew."""
        index = self.__dict__.setdefault("_id_index", {})
        hit = index.get(name)
        if hit is None or hit[0] != len(items):
            hit = index[name] = (len(items), {x.id: x for x in items})
        return hit[1]

    def local_session(self, session_id: str) -> LocalSession | None:
        return self._by_id("local", self.local_sessions).get(session_id)

    def remote_session(self, session_id: str) -> RemoteSession | None:
        return self._by_id("remote", self.remote_sessions).get(session_id)

    def code_artifact(self, artifact_id: str) -> CodeArtifact | None:
        a = self._by_id("code", self.code_artifacts).get(artifact_id)
        return None if a is None or a.deleted else a

    def local_retention_s(self) -> float:
        """How long local-session calls are kept (the claude.ai org's retention, else 6 years)."""
        return retention_seconds(self.settings.get(self.claude_org.uuid, []))

    def retained_calls(self, s: LocalSession, now: float | None = None) -> list[int]:
        """Indices of the calls still retained at ``now``: older ones have aged out."""
        boundary = (self.clock() if now is None else now) - self.local_retention_s()
        return [i for i, c in enumerate(s.calls) if c.t >= boundary]

    def local_created(self, s: LocalSession, now: float | None = None) -> float | None:
        """``created_at`` of a local session: its earliest *retained* call (None: all aged out)."""
        kept = self.retained_calls(s, now)
        return s.calls[kept[0]].t if kept else None

    @staticmethod
    def version_ready(v: CodeVersion, now: float) -> bool:
        """True when the version's upload is complete (its content can be read)."""
        return not v.abandoned and (v.available_at is None or v.available_at <= now)

    def published_version(self, a: CodeArtifact, now: float) -> CodeVersion | None:
        """The latest retained version whose upload is complete."""
        return next((v for v in reversed(a.retained()) if self.version_ready(v, now)), None)

    # ---------------------------------------------------------------------------- ground truth
    def _session_rows(self, kinds: frozenset[str]) -> Iterator["GroundTruthRow"]:
        from vigil.simulator.org import GroundTruthRow

        now = self.clock()
        if "local_session_message" in kinds:
            for s in list(self.local_sessions):
                kept = set(self.retained_calls(s, now))
                for ci, msg, plants in self.sessions.local_messages(s):
                    if ci in kept:
                        for loc, it, v in plants:
                            yield GroundTruthRow("local_session_message", msg["id"], loc, it, v)
        if "remote_session_message" in kinds:
            for s in list(self.remote_sessions):
                if s.status == "pending":
                    continue
                for _, msg, plants in self.sessions.remote_messages(s):
                    for loc, it, v in plants:
                        yield GroundTruthRow("remote_session_message", msg["id"], loc, it, v)
        if "code_artifact_version" in kinds:
            for a in list(self.code_artifacts):
                if a.deleted:
                    continue
                for v in a.retained():
                    if v.oversize or not self.version_ready(v, now):
                        continue
                    for loc, it, val in self.sessions.site(a, v)[2]:
                        yield GroundTruthRow("code_artifact_version", a.id, loc, it, val, version=v.id)

    # ---------------------------------------------------------------------------- live changes
    def _user_or_none(self, user: str | None) -> int | None:
        return None if user is None else self._user_idx(user)

    def _check_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not messages:
            raise ValueError("give at least one message")
        out = []
        for spec in messages:
            spec = dict(spec)
            if spec.get("role", "user") not in ("user", "assistant"):
                raise ValueError("role must be 'user' or 'assistant'")
            spec["plants"] = [tuple(p) for p in spec.get("plants") or ()]
            explicit_blocks(spec, "toolu_check")  # raises when a planted value is not in the content
            out.append(spec)
        return out

    def add_local_session(self, user: str | None = None, surface: str | None = "claude_code",
                          messages: list[dict[str, Any]] | None = None) -> str:
        """A new local session whose calls happened in the last minutes. Without ``messages`` it
        gets a generated scenario; else one call holding those messages (dicts with ``role``,
        ``text`` / ``tool_use {name, input}`` / ``tool_result {name, text, is_error?}``,
        ``plants: [(infotype, value)]``). Returns the session ID."""
        with self.lock:
            uidx = self._user_or_none(user)
            specs = self._check_messages(messages) if messages is not None else None
            lo = self._last_t
            now = self.tick()
            spec: dict[str, Any] = {"surface": surface}
            if uidx is not None:
                spec["user"] = uidx
            s = build_local_session(self, len(self.local_sessions), spec, start=now)
            if specs is not None:
                s.prompts, s.calls = [], [Call(now, "explicit", messages=specs)]
            else:
                place = squeeze_into(s.calls[0].t, s.calls[-1].t, lo, now, LIVE_WINDOW_S)
                for c in s.calls:
                    c.t = place(c.t)
            self.local_sessions.append(s)
            self.version += 1
            return s.id

    def add_local_session_messages(self, session_id: str, messages: list[dict[str, Any]]) -> list[str]:
        """Append one inference call holding ``messages`` (see ``add_local_session``); returns
        the new message IDs."""
        with self.lock:
            s = self.local_session(session_id)
            if s is None:
                raise KeyError("Local session not found.")
            specs = self._check_messages(messages)
            s.calls.append(Call(self.tick(), "explicit", messages=specs))
            self.version += 1
            out = self.sessions.local_messages(s)
            return [m["id"] for ci, m, _ in out if ci == len(s.calls) - 1]

    def set_local_session_retention_error(self, session_id: str, failing: bool = True) -> None:
        """Make the session's retrieve/messages answer the persistent 503 (or stop doing so)."""
        with self.lock:
            s = self.local_session(session_id)
            if s is None:
                raise KeyError("Local session not found.")
            s.retention_error = failing
            self.version += 1

    def add_remote_session(self, user: str | None = None, agent: bool = False, status: str = "active",
                           messages: list[dict[str, Any]] | None = None, project_id: str | None = None) -> str:
        """A new remote (cloud Cowork) session created now: owned by ``user``, or by an agent
        that ``user`` started. ``status="pending"`` sessions have no messages yet (404)."""
        if status not in REMOTE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REMOTE_STATUSES)}")
        with self.lock:
            uidx = self._user_or_none(user)
            specs = self._check_messages(messages) if messages is not None else None
            if project_id is not None and self.project(project_id) is None:
                raise KeyError(f"unknown project {project_id}")
            lo = self._last_t
            now = self.tick()
            spec: dict[str, Any] = {"agent": agent, "status": status}
            if uidx is not None:
                spec["user"] = uidx
            s = build_remote_session(self, len(self.remote_sessions), spec, start=now)
            s.project_id = project_id if project_id is not None else s.project_id
            if specs is not None:
                s.prompts, s.plan = [], []
                s.slots = [] if status == "pending" else [RemoteMsgSlot(now, spec=m) for m in specs]
                s.pending_specs = specs if status == "pending" else None
            self._place_remote(s, lo, now)
            self.remote_sessions.append(s)
            self.version += 1
            return s.id

    def _place_remote(self, s: RemoteSession, lo: float, now: float) -> None:
        if s.slots:
            place = squeeze_into(s.slots[0].t, s.slots[-1].t, lo, now, LIVE_WINDOW_S)
            for slot in s.slots:
                slot.t = place(slot.t)
            s.created = min(s.created, s.slots[0].t)
            s.updated = s.slots[-1].t
        else:
            s.created = s.updated = now

    def add_remote_session_messages(self, session_id: str, messages: list[dict[str, Any]]) -> list[str]:
        """Append messages (now) to a remote session that is not pending; returns their IDs."""
        with self.lock:
            s = self.remote_session(session_id)
            if s is None:
                raise KeyError("Remote session not found.")
            if s.status == "pending":
                raise ValueError("a pending session has no transcript yet; set its status first")
            specs = self._check_messages(messages)
            first = len(s.slots)
            for spec in specs:
                s.slots.append(RemoteMsgSlot(self.tick(), spec=spec))
            s.updated = s.slots[-1].t
            self.version += 1
            return [m["id"] for _, m, _ in self.sessions.remote_messages(s)[first:]]

    def set_remote_session_status(self, session_id: str, status: str) -> None:
        """Change a remote session's status; a pending session that starts gets its transcript
        (generated in the last minutes)."""
        if status not in REMOTE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REMOTE_STATUSES)}")
        with self.lock:
            s = self.remote_session(session_id)
            if s is None:
                raise KeyError("Remote session not found.")
            lo = max(self._last_t, s.created)
            now = self.tick()
            if s.status == "pending" and status != "pending" and not s.slots:
                if s.pending_specs:
                    s.slots = [RemoteMsgSlot(now, spec=m) for m in s.pending_specs]
                else:
                    s.slots = [RemoteMsgSlot(now + dt, p, pos) for dt, p, pos in s.plan]
                if s.slots:
                    self._place_remote(s, lo, now)
            s.status = status
            s.updated = now
            self.version += 1

    def add_code_artifact(self, user: str | None = None, read_mode: str = "org", content: str | None = None,
                          plants: list[tuple[str, str]] | None = None, name: str | None = None,
                          mime: str | None = None) -> tuple[str, str]:
        """Publish a new hosted site now (generated body unless ``content`` is given, with
        ``plants`` as ``(infotype, value)``). Returns ``(artifact_id, version_id)``."""
        if read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {', '.join(READ_MODES)}")
        with self.lock:
            uidx = self._user_or_none(user)
            now = self.tick()
            spec: dict[str, Any] = {"read_mode": read_mode, "versions": 1, "encoding": "identity"}
            if uidx is not None:
                spec["owner"] = uidx
            a = build_code_artifact(self, len(self.code_artifacts), spec, start=now)
            if name:
                a.name = a.versions[0].name = name
            if content is not None:
                _set_content(a.versions[0], content, plants, mime)
            self.code_artifacts.append(a)
            self.version += 1
            return a.id, a.versions[0].id

    def add_code_artifact_version(self, artifact_id: str, content: str | None = None,
                                  plants: list[tuple[str, str]] | None = None, name: str | None = None,
                                  read_mode: str | None = None, upload_seconds: float = 0.0,
                                  abandoned: bool = False, encoding: str = "identity", oversize: bool = False,
                                  mime: str | None = None) -> str:
        """Publish a new version now (the oldest beyond the kept 20 rotates out: 404). Optional:
        flip ``read_mode`` (e.g. to ``public``); ``upload_seconds`` keeps its content 503 that
        long, ``abandoned`` for good; ``oversize`` stores it encoded and too large (the download
        aborts mid-stream). Returns the version ID."""
        if read_mode is not None and read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {', '.join(READ_MODES)}")
        if encoding not in ("identity", "gzip"):
            raise ValueError("encoding must be 'identity' or 'gzip'")
        with self.lock:
            a = self.code_artifact(artifact_id)
            if a is None:
                raise KeyError("Code artifact not found.")
            now = self.tick()
            k = len(a.versions)
            v = CodeVersion(version_id(self.seed, a.idx, k), k, now, name or a.name,
                            "gzip" if oversize else encoding, oversize,
                            now + upload_seconds if upload_seconds > 0 else None, abandoned)
            if content is not None:
                _set_content(v, content, plants, mime)
            a.versions.append(v)
            if name:
                a.name = name
            if read_mode is not None:
                a.read_mode = read_mode
            a.updated = now
            self.version += 1
            return v.id

    def set_code_artifact_read_mode(self, artifact_id: str, read_mode: str) -> None:
        """Who can open the site: ``owner``, ``users``, ``org`` or ``public`` (the internet)."""
        if read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {', '.join(READ_MODES)}")
        with self.lock:
            a = self.code_artifact(artifact_id)
            if a is None:
                raise KeyError("Code artifact not found.")
            a.read_mode = read_mode
            a.updated = self.tick()
            self.version += 1

    def delete_code_artifact(self, artifact_id: str) -> bool:
        """The API's DELETE: the artifact and every version are gone (404 afterwards)."""
        with self.lock:
            a = self.code_artifact(artifact_id)
            if a is None:
                return False
            a.deleted = True
            self.version += 1
            return True

    def update_settings(self, changes: dict[str, Any], organization_id: str | None = None,
                        types: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """An admin changing organization settings (e.g. ``{"claude_ai_chat_sharing_enabled":
        True}``); ``types`` names the row type of settings not present yet. Logs a
        ``claude_organization_settings_updated`` activity; returns its ``updates``."""
        with self.lock:
            unit = self.resolve_org(organization_id) if organization_id else self.claude_org
            if unit is None or unit.uuid not in self.settings:
                raise KeyError(f"organization {organization_id} is not a linked organization")
            updates = apply_changes(self.settings[unit.uuid], changes, types)
            self._emit([self._new_activity(self.tick(), "claude_organization_settings_updated", ("user", 0),
                                           unit.tagged_id, updates=updates)])
            self.version += 1
            return updates


def _set_content(v: CodeVersion, content: str, plants: list[tuple[str, str]] | None, mime: str | None) -> None:
    for _, value in plants or ():
        if value not in content:
            raise ValueError("every planted value must occur in the content")
    v.content, v.plants, v.mime = content, [tuple(p) for p in plants or ()], mime or "text/html"

