"""Checkpoints (API cursors and progress) under ``<lake>/_state/``, each replaced atomically.

Each namespace is one small JSON file: ``<org>/forward`` for the forward scan,
``<org>/historical/<run_key>`` for each historical run, so a historical run never moves the
forward cursor and can resume its own progress, and two organizations landing in one lake never
share a cursor. A store opened for an organization stamps its ``org_id`` into every save and
refuses a file stamped with another one (cursors of one org are meaningless, and rejected with
400s, for another). A checkpoint is saved only after the data it covers has landed; saving replaces
the file atomically (see ``LakeStorage.write_atomic``), so a crash leaves the old or the new
checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from vigil.lake.storage import LakeStorage

STATE_DIR = "_state"
FORWARD = "forward"
HISTORICAL_PREFIX = "historical"

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class CheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be read."""


def historical_namespace(run_key: str) -> str:
    """Namespace of one historical run (``run_key`` identifies the run for resuming)."""
    return f"{HISTORICAL_PREFIX}/{run_key}"


def org_namespace(org_id: str | None, namespace: str) -> str:
    """``namespace`` inside the organization's own folder (unchanged when ``org_id`` is None)."""
    return f"{org_id}/{namespace}" if org_id else namespace


class CheckpointStore:
    """A JSON document of cursors and progress, stored at ``<lake>/_state/<namespace>.json``.

    With ``org_id``, the namespace lives under ``<org_id>/`` and the document must belong to it.
    """

    def __init__(self, storage: LakeStorage, namespace: str, org_id: str | None = None):
        namespace = org_namespace(org_id, namespace)
        if not _NAMESPACE.match(namespace) or ".." in namespace.split("/"):
            raise ValueError(f"invalid checkpoint namespace {namespace!r}")
        self.storage = storage
        self.namespace = namespace
        self.org_id = org_id
        self.path = storage.path(STATE_DIR, f"{namespace}.json")

    def load(self) -> dict[str, Any]:
        """The saved state, or ``{}`` when nothing was saved yet."""
        data = self.storage.read_bytes(self.path)
        if data is None:
            return {}
        try:
            state = json.loads(data)
        except ValueError:
            raise CheckpointError(f"checkpoint {self.storage.url(self.path)} is not valid JSON") from None
        if not isinstance(state, dict):
            raise CheckpointError(f"checkpoint {self.storage.url(self.path)} is not a JSON object")
        owner = state.get("org_id")
        if self.org_id and owner and owner != self.org_id:
            raise CheckpointError(f"checkpoint {self.storage.url(self.path)} belongs to organization "
                                  f"{owner}, not {self.org_id}; refusing to use another org's cursors")
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Replace the whole state atomically (``updated_at`` is stamped)."""
        state = dict(state)
        state["updated_at"] = datetime.now(timezone.utc).isoformat()
        if self.org_id:
            state["org_id"] = self.org_id
        data = json.dumps(state, sort_keys=True, indent=1, default=str).encode()
        self.storage.write_bytes_atomic(self.path, data)

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the saved state and save it; returns the new state."""
        state = self.load()
        state.update(changes)
        self.save(state)
        return state

    def delete(self) -> None:
        """Forget this namespace."""
        self.storage.remove([self.path])


def list_namespaces(storage: LakeStorage, prefix: str = "") -> list[str]:
    """Saved namespaces, optionally only those under ``prefix`` (e.g. ``historical``)."""
    base = storage.path(STATE_DIR)
    found = []
    for path in storage.glob(storage.path(STATE_DIR, "**", "*.json")):
        rel = path[len(base) + 1:-len(".json")]
        if not prefix or rel == prefix or rel.startswith(prefix.rstrip("/") + "/"):
            found.append(rel)
    return sorted(found)
