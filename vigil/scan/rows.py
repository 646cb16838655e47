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
# Sessions and Claude Code hosted sites (issue 12).
LOCAL_SESSION_MESSAGE = "local_session_message"
REMOTE_SESSION_MESSAGE = "remote_session_message"
CODE_ARTIFACT_VERSION = "code_artifact_version"  # object_id = the cart_ artifact, version = its version id
LOCAL_SESSION = "local_session"  # a transcript read (version: updated_at when the API gives one)
REMOTE_SESSION = "remote_session"  # a transcript read, versioned by the session's updated_at
SESSION_EVENT_KINDS = (LOCAL_SESSION_MESSAGE, REMOTE_SESSION_MESSAGE, CODE_ARTIFACT_VERSION)
PUBLIC_READ_MODE = "public"  # a code artifact anyone on the internet can open


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
    # Sessions and code artifacts (issue 12); tool_names maps a block index to its tool's name.
    session_id: str | None = None
    product_surface: str | None = None
    content_verification: str | None = None
    agent_id: str | None = None
    read_mode: str | None = None
    tool_names: tuple[tuple[int, str], ...] = ()

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


    def tool_name(self, locator: str) -> str | None:
        """The tool of the ``tool_use:I`` / ``tool_result:I/J`` block a locator points into."""
        kind, _, pos = locator.partition(":")
        if kind not in ("tool_use", "tool_result") or not self.tool_names:
            return None
        index = pos.split("/", 1)[0]
        return next((name for i, name in self.tool_names if str(i) == index), None)

    def session_metadata(self, locator: str) -> dict[str, Any]:
        """The session and code-artifact columns of a finding at ``locator``."""
        return {"session_id": self.session_id, "product_surface": self.product_surface,
                "tool_name": self.tool_name(locator), "content_verification": self.content_verification,
                "read_mode": self.read_mode, "exposure": self.read_mode}


def block_tool_names(message: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    """``(block index, tool name)`` of a message's ``tool_use`` and ``tool_result`` blocks."""
    return tuple((i, str(b["name"])) for i, b in enumerate(message.get("content") or ())
                 if isinstance(b, Mapping) and b.get("type") in ("tool_use", "tool_result") and b.get("name"))


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

    ``category`` is the detector's category (credential, pii, financial, health, ...). A secret
    (``credential``) in a site anyone on the internet can open (``read_mode`` public) is
    ``critical``, whatever the rule's own severity.
    """
    row = ctx.metadata()
    severity = finding.severity
    if ctx.read_mode == PUBLIC_READ_MODE and category == "credential":
        severity = "critical"
    row.update(
        finding_id=finding_id(ref.kind, ref.object_id, ref.version, locator, finding.detector,
                              finding.start, finding.end),
        object_key=ref.key, object_kind=ref.kind, object_id=ref.object_id,
        object_version=ref.version, locator=locator, start=finding.start, end=finding.end,
        infotype=finding.infotype, category=category, detector=finding.detector, likelihood=finding.likelihood,
        severity=severity, masked=finding.masked, fingerprint=finding.fingerprint,
        context=finding.context, event_time=ctx.event_time,
        scanned_at=scanned_at, scan_run_id=run_id,
    )
    row.update(ctx.session_metadata(locator))
    return row


def session_event_row(event_kind: str, ref: ObjectRef, ctx: Context, *, bytes_: int | None,
                      findings_count: int | None, scan_status: str, reason: str | None,
                      truncated: bool, run_id: str, scanned_at: datetime) -> dict[str, Any]:
    """One ``session_events`` row: a session message or a code-artifact version."""
    container = ctx.session_id if event_kind != CODE_ARTIFACT_VERSION else ref.object_id
    return {
        "event_id": chat_event_id(event_kind, container, ctx.message_id, None,
                                  ref.version if event_kind == CODE_ARTIFACT_VERSION else None),
        "event_kind": event_kind, "org_id": ctx.org_id, "session_id": ctx.session_id,
        "product_surface": ctx.product_surface, "message_id": ctx.message_id, "role": ctx.author_role,
        "model": ctx.model, "tool_names": ",".join(name for _, name in ctx.tool_names) or None,
        "content_verification": ctx.content_verification, "truncated": truncated,
        "user_id": ctx.user_id, "user_email": ctx.user_email, "agent_id": ctx.agent_id,
        "project_id": ctx.project_id, "artifact_name": ctx.file_name if event_kind == CODE_ARTIFACT_VERSION else None,
        "read_mode": ctx.read_mode, "object_key": ref.key, "object_kind": ref.kind,
        "object_id": ref.object_id, "object_version": ref.version, "event_time": ctx.event_time,
        "bytes": bytes_, "findings_count": findings_count, "scan_status": scan_status, "reason": reason,
        "scanned_at": scanned_at, "scan_run_id": run_id,
    }


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

