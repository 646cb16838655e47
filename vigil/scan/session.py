"""Everything one scan run shares: client, lake, ledger, inspector, scope and counters.

A session is built once per run (``vigil.scan.setup.open_session`` builds one from a config) and
passed to every step. Its methods are safe to call from the worker threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from vigil.lake import Lake, Ledger
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

    def __post_init__(self) -> None:
        self._projects: dict[str, str | None] = {}
        self._projects_lock = threading.Lock()
        if self.pool is None:
            self.pool = WorkerPool(self.workers)

    def start_run(self, run_id: str) -> None:
        """Set the run id and load the ledger as of now (once per run, one query)."""
        self.run_id = run_id
        self.ledger = self.lake.ledger(run_id=run_id)

    # -- scope ---------------------------------------------------------------------------------
    def chat_in_scope(self, chat: Mapping[str, Any]) -> bool:
        """The chat scope (owner e-mail) and, for chats in a project, the project scope."""
        email = (chat.get("user") or {}).get("email_address")
        if not self.scope.chats.includes(email):
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
