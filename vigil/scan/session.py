"""Everything one scan run shares: client, lake, ledger, inspector, scope and counters.

A session is built once per run (``vigil.scan.setup.open_session`` builds one from a config) and
passed to every step. Its methods are safe to call from the worker threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from vigil.lake import Lake, Ledger
from vigil.scan.directory import Directory
from vigil.scan.fetch import Fetcher, NotFound, ObjectUnavailable
from vigil.scan.inspect import Inspector
from vigil.scan.pool import WorkerPool
from vigil.scope import Scope


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(run_type: str, at: datetime) -> str:
    """A readable unique run id: ``forward-20261127T181500-1a2b3c4d``."""
    return f"{run_type}-{at.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


@dataclass
class ScanSession:
    """The shared state of one run (see module docstring)."""

    fetcher: Fetcher
    lake: Lake
    inspector: Inspector
    scope: Scope = field(default_factory=Scope)
    org_id: str | None = None
    run_id: str = ""
    workers: int = 8
    clock: Callable[[], datetime] = utc_now
    ledger: Ledger | None = None  # loaded by start_run
    pool: WorkerPool | None = None
    local_session_lookback: timedelta = timedelta(days=7)  # forward re-read of local sessions ...
    local_session_reread: timedelta = timedelta(minutes=60)  # ... at most this often
    directory_refresh: timedelta = timedelta(0)  # forward scans re-read the directory when this old

    def __post_init__(self) -> None:
        self._projects: dict[str, str | None] = {}
        self._projects_lock = threading.Lock()
        self._directory: Directory | None = None
        self._directory_lock = threading.Lock()
        if self.pool is None:
            self.pool = WorkerPool(self.workers)

    def start_run(self, run_id: str) -> None:
        """Set the run id and load the ledger as of now (once per run, one query)."""
        self.run_id = run_id
        self.ledger = self.lake.ledger(run_id=run_id)

    # -- the directory (loaded from the lake, after the directory source landed it) --------------
    def directory(self) -> Directory:
        """Users and groups of the organization as the lake has them (loaded once, on first use).

        The directory source runs first in every scan, so the first use comes after this run's
        copy landed; ``forget_directory`` makes the next use read the lake again."""
        with self._directory_lock:
            if self._directory is None:
                directory = Directory.load(self.lake, self.org_id)
                directory.check_scope_groups(self.scope.chats)
                self._directory = directory
            return self._directory

    def forget_directory(self) -> None:
        with self._directory_lock:
            self._directory = None

    def owner_email(self, user_id: str | None, email: str | None) -> str | None:
        """The owner's e-mail: as the record gives it, else from the directory (the session
        transcripts and some lists leave it out)."""
        return email or (self.directory().email_of(user_id) if user_id else None)

    def owner_in_scope(self, user_id: str | None, email: str | None) -> bool:
        """The chat scope, applied to the owner of a chat, a session or a Claude Code site: by
        e-mail, and by directory group when the scope names groups."""
        chats = self.scope.chats
        if chats.mode == "all":
            return True
        if email is None and user_id:
            email = self.directory().email_of(user_id)
        groups = self.directory().groups_of(user_id, email) if chats.uses_groups else ()
        return chats.includes(email, groups)

    # -- scope ---------------------------------------------------------------------------------
    def chat_in_scope(self, chat: Mapping[str, Any]) -> bool:
        """The chat scope (owner e-mail or group) and, for chats in a project, the project scope."""
        owner = chat.get("user") or {}
        if self.scope.chats.uses_groups:
            if not self.owner_in_scope(owner.get("id"), owner.get("email_address")):
                return False
        elif not self.scope.chats.includes(owner.get("email_address")):
            return False
        pid = chat.get("project_id")
        if pid is None or self.scope.projects.mode == "all":
            return True
        return self.scope.projects.includes(pid, self.project_name(pid))

    def project_in_scope(self, project: Mapping[str, Any]) -> bool:
        return self.scope.projects.includes(project["id"], project.get("name"))

    # -- project names for chat metadata ---------------------------------------------------------
    def remember_project(self, project_id: str, name: str | None) -> None:
        with self._projects_lock:
            self._projects[project_id] = name

    def project_name(self, project_id: str | None) -> str | None:
        """The project's name (cached; one request the first time a project is met)."""
        if project_id is None:
            return None
        with self._projects_lock:
            if project_id in self._projects:
                return self._projects[project_id]
        try:
            name = self.fetcher.project(project_id).get("name")
        except NotFound:
            name = None
        except ObjectUnavailable:
            return None  # metadata only: not cached, the next chat of the project asks again
        self.remember_project(project_id, name)
        return name

    def remember_projects(self, projects: Iterable[Mapping[str, Any]]) -> None:
        for p in projects:
            self.remember_project(p["id"], p.get("name"))

    def close(self) -> None:
        self.pool.close()
