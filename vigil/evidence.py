"""Evidence capture: copy content that had findings to a folder or any fsspec URL.

Layout: ``<target>/<object_kind>/<object_id>/<object_version or "_">/<file name>``. Every path
component is sanitised (no ``/``, no ``..``, no control characters), so an attacker-chosen file
name cannot escape the target. Writes are atomic (see ``vigil.lake.storage``) and idempotent:
capturing the same object version again rewrites the same path.

Evidence is raw content, so on local disks every file is written with mode 0600 and every folder
vigil creates for it with 0700, whatever the process umask. Object stores have no such modes:
protect the bucket with its own policy (docs/configuration.md, ``[evidence]``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from vigil.lake.storage import LakeStorage

NONE = "none"
FILE_MODE = 0o600
DIR_MODE = 0o700
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=,-]+")
_MAX_COMPONENT = 150


def safe_component(text: str | None, fallback: str = "_") -> str:
    """A single, harmless path component derived from ``text``."""
    if not text:
        return fallback
    cleaned = _UNSAFE.sub("_", text.strip()).strip("._") or fallback
    if len(cleaned) > _MAX_COMPONENT:  # keep the extension, which tells a reader the type
        head, dot, ext = cleaned.rpartition(".")
        ext = ext[:16] if dot and head else ""
        cleaned = cleaned[: _MAX_COMPONENT - len(ext) - 1] + ("." + ext if ext else "")
    return cleaned


class EvidenceStore:
    """Where evidence goes; build with ``EvidenceStore.from_target(cfg.evidence.target)``."""

    def __init__(self, target: str, storage_options: dict[str, Any] | None = None):
        if not target or target == NONE:
            raise ValueError("EvidenceStore needs a folder or URL; use from_target() for 'none'")
        self.storage = LakeStorage(target, storage_options)
        self.target = target

    @classmethod
    def from_target(cls, target: str | None, storage_options: dict[str, Any] | None = None) -> "EvidenceStore | None":
        """An EvidenceStore, or None when capture is off (``none`` or empty)."""
        if not target or target.strip() == NONE:
            return None
        return cls(target.strip(), storage_options)

    def path_for(self, object_kind: str, object_id: str, object_version: str | None, filename: str | None) -> str:
        """Filesystem path (no protocol) an object's evidence is stored at."""
        return self.storage.path(
            safe_component(object_kind), safe_component(object_id), safe_component(object_version),
            safe_component(filename, fallback="content"),
        )

    def capture(self, object_kind: str, object_id: str, object_version: str | None,
                filename: str | None, data: bytes) -> str:
        """Store ``data`` for an object version; returns its URI (for ``objects.evidence_uri``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("evidence content must be bytes")
        path = self.path_for(object_kind, object_id, object_version, filename)
        if self.storage.is_local:
            self._private_folders(os.path.dirname(path))
            self.storage.write_bytes_atomic(path, bytes(data), mode=FILE_MODE)
        else:
            self.storage.write_bytes_atomic(path, bytes(data))
        return self.uri(path)

    def capture_text(self, object_kind: str, object_id: str, object_version: str | None,
                     text: str, filename: str = "content.txt") -> str:
        """Store text content (a message, project instructions) as UTF-8."""
        return self.capture(object_kind, object_id, object_version, filename, text.encode("utf-8"))

    def _private_folders(self, directory: str) -> None:
        """Create ``directory`` and the folders between it and the target with mode 0700.

        The target itself is made 0700 only when vigil creates it: an existing folder chosen by
        the user keeps its mode (the 0700 folders below it already keep others out).
        """
        root = self.storage.root
        if not os.path.isdir(root):
            os.makedirs(root, exist_ok=True)
            os.chmod(root, DIR_MODE)
        current = root
        for part in os.path.relpath(directory, root).split(os.sep):
            if part in ("", "."):
                continue
            current = os.path.join(current, part)
            try:
                os.mkdir(current, DIR_MODE)
            except FileExistsError:
                pass
            if os.stat(current).st_mode & 0o777 != DIR_MODE:  # umask, or a folder from an older vigil
                os.chmod(current, DIR_MODE)

    def uri(self, path: str) -> str:
        """Full URI of a stored path (``s3://…``, or the local path)."""
        return self.storage.url(path)

    def read(self, uri_or_path: str) -> bytes | None:
        """Stored content (by URI or path), or None."""
        path = uri_or_path.split("://", 1)[1] if "://" in uri_or_path else uri_or_path
        return self.storage.read_bytes(path)
