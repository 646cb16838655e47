"""Evidence capture: copy content that had findings to a folder or any fsspec URL.

Layout: ``<target>/<object_kind>/<object_id>/<object_version or "_">/<file name>``. Every path
component is sanitised (no ``/``, no ``..``, no control characters), so an attacker-chosen file
name cannot escape the target. Writes are atomic (see ``vigil.lake.storage``) and idempotent:
capturing the same object version again rewrites the same path.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.lake.storage import LakeStorage

NONE = "none"
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
        self.storage.write_bytes_atomic(path, bytes(data))
        return self.uri(path)

    def capture_text(self, object_kind: str, object_id: str, object_version: str | None,
                     text: str, filename: str = "content.txt") -> str:
        """Store text content (a message, project instructions) as UTF-8."""
        return self.capture(object_kind, object_id, object_version, filename, text.encode("utf-8"))

    def uri(self, path: str) -> str:
        """Full URI of a stored path (``s3://…``, or the local path)."""
        return self.storage.url(path)

    def read(self, uri_or_path: str) -> bytes | None:
        """Stored content (by URI or path), or None."""
        path = uri_or_path.split("://", 1)[1] if "://" in uri_or_path else uri_or_path
        return self.storage.read_bytes(path)
