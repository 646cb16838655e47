"""Rows of the lake tables built from what a scan saw (schemas in ``vigil.lake.schemas``).

Every row id is deterministic (``vigil.lake.ids``), and nothing here copies content: findings
carry the detector's masked value and keyed fingerprint only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vigil.lake.ids import chat_event_id, finding_id, object_key

# Object kinds, as they appear in objects.object_kind and findings.object_kind.
MESSAGE = "message"
CHAT_FILE = "file"  # chat attachments and project files: same ids, same endpoints
GENERATED_FILE = "generated_file"
ARTIFACT_VERSION = "artifact_version"
PROJECT_DOCUMENT = "project_document"
PROJECT_INSTRUCTIONS = "project_instructions"
CHAT = "chat"  # a transcript, versioned by updated_at: "this chat was fully inspected as of then"
PROJECT = "project"  # landed only when a project could not be read (and once it could again)


@dataclass(frozen=True)
class Context:
    """Where an object lives: the chat-event metadata copied onto findings and events."""

    org_id: str | None = None
    chat_id: str | None = None
    chat_title: str | None = None
    message_id: str | None = None
    author_role: str | None = None
    model: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    user_id: str | None = None
    user_email: str | None = None
    chat_url: str | None = None
    deleted_at: datetime | str | None = None
    event_time: datetime | str | None = None

    def with_(self, **changes: Any) -> "Context":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def metadata(self) -> dict[str, Any]:
        """The chat-metadata columns shared by findings and chat_events."""
        return {
            "org_id": self.org_id, "chat_id": self.chat_id, "chat_title": self.chat_title,
            "message_id": self.message_id, "author_role": self.author_role, "model": self.model,
            "file_id": self.file_id, "file_name": self.file_name, "project_id": self.project_id,
            "project_name": self.project_name, "user_id": self.user_id, "user_email": self.user_email,
            "chat_url": self.chat_url, "deleted_at": self.deleted_at,
        }


def chat_context(chat: Mapping[str, Any], project_name: str | None, org_id: str | None) -> Context:
    """The context of a chat object as the API returns it (list entry or transcript)."""
    user = chat.get("user") or {}
    return Context(
        org_id=chat.get("organization_uuid") or chat.get("organization_id") or org_id,
        chat_id=chat.get("id"), chat_title=chat.get("name"), model=chat.get("model"),
        project_id=chat.get("project_id"), project_name=project_name,
        user_id=user.get("id"), user_email=user.get("email_address"),
        chat_url=chat.get("href"), deleted_at=chat.get("deleted_at"),
    )


@dataclass(frozen=True)
class ObjectRef:
    """One inspectable object version (the ledger's unit)."""

    kind: str
    object_id: str
    version: str | None = None
    name: str | None = None
    mime: str | None = None
    size: int | None = None

    @property
    def key(self) -> str:
        return object_key(self.kind, self.object_id, self.version)


def finding_row(ref: ObjectRef, ctx: Context, locator: str, finding: Any, run_id: str,
                scanned_at: datetime, category: str | None = None) -> dict[str, Any]:
    """One ``findings`` row for a detector hit (``finding`` is a ``vigil.detect.Finding``).

    ``category`` is the detector's category (credential, pii, financial, health, ...).
    """
    row = ctx.metadata()
    row.update(
        finding_id=finding_id(ref.kind, ref.object_id, ref.version, locator, finding.detector,
                              finding.start, finding.end),
        object_key=ref.key, object_kind=ref.kind, object_id=ref.object_id,
        object_version=ref.version, locator=locator, start=finding.start, end=finding.end,
        infotype=finding.infotype, category=category, detector=finding.detector, likelihood=finding.likelihood,
        severity=finding.severity, masked=finding.masked, fingerprint=finding.fingerprint,
        context=finding.context, event_time=ctx.event_time,
        scanned_at=scanned_at, scan_run_id=run_id,
    )
    return row


def event_row(event_kind: str, ref: ObjectRef | None, ctx: Context, *, bytes_: int | None,
              findings_count: int | None, scan_status: str, run_id: str,
              scanned_at: datetime) -> dict[str, Any]:
    """One ``chat_events`` row: a message, or a file/artifact event inside a message."""
    row = ctx.metadata()
    file_id = ref.object_id if ref is not None and event_kind != MESSAGE else None
    version = ref.version if ref is not None and event_kind == PROJECT_DOCUMENT else None
    row.update(
        event_id=chat_event_id(event_kind, ctx.chat_id or ctx.project_id, ctx.message_id,
                               file_id, version),
        event_kind=event_kind, object_key=ref.key if ref else None,
        object_kind=ref.kind if ref else None, object_id=ref.object_id if ref else None,
        object_version=ref.version if ref else None,
        event_time=ctx.event_time, bytes=bytes_, findings_count=findings_count,
        scan_status=scan_status, scanned_at=scanned_at, scan_run_id=run_id,
    )
    return row


def object_row(ref: ObjectRef, ctx: Context, *, status: str, reason: str | None,
               bytes_: int | None, findings_count: int | None, run_id: str, scanned_at: datetime,
               detected_type: str | None = None, evidence_uri: str | None = None,
               duration_ms: int | None = None, attempts: int = 1) -> dict[str, Any]:
    """One ``objects`` ledger row: the object version was scanned, or skipped for ``reason``."""
    return {
        "object_key": ref.key, "object_kind": ref.kind, "object_id": ref.object_id,
        "object_version": ref.version, "status": status, "reason": reason, "attempts": attempts,
        "bytes": bytes_,
        "findings_count": findings_count, "detected_type": detected_type,
        "file_name": ref.name, "mime": ref.mime, "org_id": ctx.org_id, "chat_id": ctx.chat_id,
        "project_id": ctx.project_id, "user_email": ctx.user_email, "evidence_uri": evidence_uri,
        "duration_ms": duration_ms, "scanned_at": scanned_at, "scan_run_id": run_id,
    }

