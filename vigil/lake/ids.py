"""Deterministic row ids for the lake.

Every landed row carries an id derived only from what identifies it (never from time or run),
so landing the same thing twice produces the same id and the DuckDB views show it once.

Ids are the first 32 hex characters (128 bits) of a SHA-256 over the fields joined with the
ASCII unit separator; ``None`` hashes like the empty string, integers as their decimal text.
"""

from __future__ import annotations

import hashlib

_SEP = "\x1f"


def stable_id(*parts: object) -> str:
    """Hash ``parts`` into a 32-hex-character id (SHA-256, truncated to 128 bits)."""
    text = _SEP.join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def object_key(object_kind: str, object_id: str, object_version: str | None) -> str:
    """Id of an inspectable object version: the ``objects`` ledger key."""
    return stable_id("object", object_kind, object_id, object_version)


def finding_id(
    object_kind: str,
    object_id: str,
    object_version: str | None,
    locator: str,
    detector: str,
    start: int,
    end: int,
) -> str:
    """Id of one finding: the same detector hit on the same span of the same object version."""
    return stable_id("finding", object_kind, object_id, object_version, locator, detector,
                     int(start), int(end))


def chat_event_id(
    event_kind: str,
    chat_id: str | None,
    message_id: str | None,
    file_id: str | None = None,
    object_version: str | None = None,
) -> str:
    """Id of one ``chat_events`` row.

    A message event is ``(\"message\", chat_id, message_id)``; a file event inside a message adds
    the file id (and, for content that can change such as project documents, its version).
    """
    return stable_id("event", event_kind, chat_id, message_id, file_id, object_version)
