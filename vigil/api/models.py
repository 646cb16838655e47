"""Typed records of the Compliance API, tolerant of what SPEC flags as loose.

* unknown fields are kept (``model_extra``) and the record as received is on ``.raw``;
  ``record.get("field")`` / ``record["field"]`` read it like a dict;
* arrays that are ``null`` or absent become empty lists;
* unknown content-block and attachment types are kept as ``UnknownBlock``/``UnknownAttachment``;
* timestamps without an offset are UTC; an unparsable timestamp becomes None (the text stays
  in ``.raw``);
* organization ids come as a bare UUID or an ``org_`` tagged id: ``organization_uuid`` always
  holds the UUID when one is known, ``organization_tag`` the tagged form when one was sent.
"""

from __future__ import annotations

import json
import uuid as _uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PrivateAttr, Tag,
                      model_validator)


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from an RFC 3339 / ISO 8601 value; None if absent or unparsable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


def _json_string(value: Any) -> Any:
    # tool_use.input is documented as a JSON-encoded string; accept a decoded object too.
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def as_uuid(value: Any) -> str | None:
    """The canonical (lowercase) UUID if ``value`` is a bare UUID, else None."""
    if not isinstance(value, str):
        return None
    try:
        return str(_uuid.UUID(value.strip()))
    except ValueError:
        return None


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
List = Annotated[list, BeforeValidator(_list_or_empty)]
Flag = Annotated[bool, BeforeValidator(lambda v: False if v is None else v)]  # null -> False


class ApiModel(BaseModel):
    """Base of every record: extra fields allowed, raw JSON kept, dict-style reads."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)
    _raw: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Any:
        obj = handler(data)
        if isinstance(data, dict):
            obj._raw = data
        return obj

    @property
    def raw(self) -> dict:
        """The record exactly as the API sent it."""
        return self._raw

    def get(self, key: str, default: Any = None) -> Any:
        """``raw.get(key, default)``: read a field as the API sent it."""
        return self._raw.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]


class OrgScoped(ApiModel):
    """A record carrying ``organization_uuid`` and/or ``organization_id``."""

    organization_uuid: str | None = None
    organization_id: str | None = None

    @model_validator(mode="after")
    def _normalise_org(self) -> "OrgScoped":
        uid = as_uuid(self.organization_uuid) or as_uuid(self.organization_id)
        if uid:
            self.organization_uuid = uid
        return self

    @property
    def organization_tag(self) -> str | None:
        """The ``org_``-tagged organization id, when the record carries it."""
        org = self.organization_id
        return org if isinstance(org, str) and org.startswith("org_") else None


class UserRef(ApiModel):
    id: str | None = None
    email_address: str | None = None


# --- directory ------------------------------------------------------------------------------

class Organization(ApiModel):
    uuid: str
    name: str | None = None
    created_at: Timestamp = None

    @model_validator(mode="after")
    def _canonical(self) -> "Organization":
        self.uuid = as_uuid(self.uuid) or self.uuid
        return self


class OrgUser(ApiModel):
    id: str
    email: str | None = None
    full_name: str | None = None
    created_at: Timestamp = None
    organization_role: str | None = None


class Role(ApiModel):
    id: str
    name: str | None = None
    description: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class Group(ApiModel):
    id: str
    name: str | None = None
    description: str | None = None
    source_type: str | None = None
    roles: List = Field(default_factory=list)
    created_at: Timestamp = None
    updated_at: Timestamp = None


class GroupMember(ApiModel):
    user_id: str | None = None
    email: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class RolePermission(ApiModel):
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None


class SettingRow(ApiModel):
    """One effective setting: ``type`` is boolean, integer, string, string_list,
    provisioning_mode or data_retention (others may appear; the value is kept as sent)."""

    name: str
    type: str | None = None
    value: Any = None


class ComplianceApiKeyInfo(ApiModel):
    """A Compliance Access Key as the settings list it (never the secret)."""

    id: str
    name: str | None = None
    scopes: List = Field(default_factory=list)
    is_active: bool | None = None
    created_at: Timestamp = None
    created_by_id: str | None = None
    expires_at: Timestamp = None


class OrganizationSettings(ApiModel):
    """Effective settings of a linked organization (SPEC §8.5), computed at read time. A
    setting missing from ``settings`` is not controllable by the org's admins (not "off")."""

    type: str | None = None
    organization_id: str | None = None
    settings: Annotated[list[SettingRow], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    api_keys: Annotated[list[ComplianceApiKeyInfo], BeforeValidator(_list_or_empty)] = Field(default_factory=list)

    def value(self, name: str, default: Any = None) -> Any:
        """The value of setting ``name`` (``default`` when the org does not expose it)."""
        return next((r.value for r in self.settings if r.name == name), default)

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}`` of every exposed setting (a snapshot to compare with a later one)."""
        return {r.name: r.value for r in self.settings}


# --- activities -----------------------------------------------------------------------------

class Actor(ApiModel):
    """``actor``; its fields depend on ``type`` (kept even when unknown)."""

    type: str | None = None
    user_id: str | None = None
    email_address: str | None = None
    api_key_id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None


class Activity(OrgScoped):
    """One Activity Feed record. Type-specific fields are in ``model_extra``/``raw``."""

    id: str
    type: str | None = None
    created_at: Timestamp = None
    actor: Actor | None = None


# --- chats ----------------------------------------------------------------------------------

class Chat(OrgScoped):
    id: str
    name: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    deleted_at: Timestamp = None
    href: str | None = None
    model: str | None = None
    project_id: str | None = None
    user: UserRef | None = None

    @property
    def is_deleted(self) -> bool:
        """True when a user soft-deleted the chat in claude.ai."""
        return self.deleted_at is not None or bool(self._raw.get("deleted_at"))


class TextBlock(ApiModel):
    type: Literal["text"] = "text"
    text: str | None = None
    truncated: Flag = False
    thinking_redacted: Flag = False


class ToolUseBlock(ApiModel):
    type: Literal["tool_use"] = "tool_use"
    id: str | None = None
    name: str | None = None
    input: Annotated[str | None, BeforeValidator(_json_string)] = None
    truncated: Flag = False
    integration_name: str | None = None
    mcp_server_url: str | None = None


class ToolResultItem(ApiModel):
    type: str | None = None
    text: str | None = None


class ToolResultBlock(ApiModel):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str | None = None
    name: str | None = None
    is_error: bool | None = None
    content: Annotated[list[ToolResultItem], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    truncated: Flag = False
    integration_name: str | None = None
    mcp_server_url: str | None = None


class UnknownBlock(ApiModel):
    """A content block of a type this client does not know; kept whole."""

    type: str | None = None


def _block_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("text", "tool_use", "tool_result") else "unknown"


ContentBlock = Annotated[
    Union[Annotated[TextBlock, Tag("text")], Annotated[ToolUseBlock, Tag("tool_use")],
          Annotated[ToolResultBlock, Tag("tool_result")], Annotated[UnknownBlock, Tag("unknown")]],
    Discriminator(_block_tag),
]


class FileRef(ApiModel):
    """``files[]`` entry of a message (a user upload)."""

    id: str
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    md5: str | None = None
    created_at: Timestamp = None


class GeneratedFileRef(ApiModel):
    """``generated_files[]`` entry of a message."""

    id: str
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    md5: str | None = None


class ArtifactRef(ApiModel):
    """``artifacts[]`` entry of a message: one artifact version."""

    id: str | None = None
    version_id: str
    title: str | None = None
    artifact_type: str | None = None


class ChatMessage(ApiModel):
    id: str
    role: str | None = None
    created_at: Timestamp = None
    content: Annotated[list[ContentBlock], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    files: Annotated[list[FileRef], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    generated_files: Annotated[list[GeneratedFileRef], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    artifacts: Annotated[list[ArtifactRef], BeforeValidator(_list_or_empty)] = Field(default_factory=list)


class ChatTranscript(Chat):
    """A chat with its messages (``GET /apps/chats/{id}/messages``)."""

    chat_messages: Annotated[list[ChatMessage], BeforeValidator(_list_or_empty)] = Field(default_factory=list)

    @property
    def messages(self) -> list[ChatMessage]:
        return self.chat_messages


class FileMetadata(ApiModel):
    id: str
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    md5: str | None = None
    created_at: Timestamp = None
    message_ids: List = Field(default_factory=list)
    claude_chat_ids: List = Field(default_factory=list)


class GeneratedFileMetadata(ApiModel):
    id: str
    claude_chat_id: str | None = None
    created_at: Timestamp = None
    filename: str | None = None
    md5: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None


class ArtifactMetadata(ApiModel):
    id: str | None = None
    version_id: str | None = None
    claude_chat_id: str | None = None
    created_at: Timestamp = None
    title: str | None = None
    artifact_type: str | None = None
    md5: str | None = None
    size_bytes: int | None = None


# --- projects -------------------------------------------------------------------------------

class Project(OrgScoped):
    """A project; the detail endpoint adds description, instructions and counts."""

    id: str
    name: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    deleted_at: Timestamp = None
    is_private: bool | None = None
    user: UserRef | None = None
    description: str | None = None
    instructions: str | None = None
    chats_count: int | None = None
    attachments_count: int | None = None


class ProjectFile(ApiModel):
    type: Literal["project_file"] = "project_file"
    id: str
    created_at: Timestamp = None
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    md5: str | None = None


class ProjectDoc(ApiModel):
    type: Literal["project_doc"] = "project_doc"
    id: str
    created_at: Timestamp = None
    filename: str | None = None
    mime_type: str | None = None
    updated_at: Timestamp = None


class UnknownAttachment(ApiModel):
    type: str | None = None
    id: str | None = None


def _attachment_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("project_file", "project_doc") else "unknown"


ProjectAttachment = Annotated[
    Union[Annotated[ProjectFile, Tag("project_file")], Annotated[ProjectDoc, Tag("project_doc")],
          Annotated[UnknownAttachment, Tag("unknown")]],
    Discriminator(_attachment_tag),
]


class ProjectCollaborator(ApiModel):
    """One role assignment; which id field is set depends on ``type``."""

    type: str | None = None
    role: str | None = None
    granted_at: Timestamp = None
    user_id: str | None = None
    group_id: str | None = None
    organization_uuid: str | None = None
    organization_role: str | None = None


class ProjectDocument(ApiModel):
    id: str
    filename: str | None = None
    content: str | None = None
    created_at: Timestamp = None
    user: UserRef | None = None


class ProjectDocumentMetadata(ApiModel):
    id: str
    claude_project_id: str | None = None
    filename: str | None = None
    created_at: Timestamp = None
    mime_type: str | None = None
    md5: str | None = None
    size_bytes: int | None = None
    user: UserRef | None = None


# --- sessions (beta) and code artifacts -----------------------------------------------------

PRODUCT_SURFACES = ("cowork", "claude_code", "cowork_remote")  # others may appear: kept as sent


class Provenance(ApiModel):
    """Where a local-session message's content comes from: ``synthetic_marker`` (text the API put
    in place of something it does not export), ``client_asserted`` (reported by the client, not
    verified) or ``content_unavailable`` (with ``reason``: not_captured, cmek_key_revoked,
    retention_elapsed, oversize). A null provenance means verified content."""

    type: str | None = None
    reason: str | None = None


class Session(ApiModel):
    """A local (``clls_``) or remote (``cse_``) session (beta); fields vary by kind, all kept.

    Local: ``workspace_id``, ``product_surface`` (``cowork`` | ``claude_code`` | None | future
    values) and ``created_at`` = the earliest call still retained (it moves forward as old calls
    age out); no ``updated_at`` in the August 2026 docs. Remote: ``agent_id`` / ``started_by_user``
    (agent-owned sessions), ``status``, ``updated_at``, ``claude_project_id``."""

    id: str
    type: str | None = None
    organization_uuid: str | None = None
    workspace_id: str | None = None
    user: UserRef | None = None
    agent_id: str | None = None
    started_by_user: UserRef | None = None
    product_surface: str | None = None
    status: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    claude_project_id: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.id.startswith("cse_")

    @property
    def owner_id(self) -> str | None:
        """The user who owns the session, or who started an agent-owned one."""
        if self.user is not None and self.user.id:
            return self.user.id
        return self.started_by_user.id if self.started_by_user is not None else None


class SessionMessage(ApiModel):
    """A local (``clsm_``) or remote (``csev_``) session message. Local ones carry
    ``provenance``; remote ones ``content_unavailable`` and ``sent_by_user_id``."""

    id: str
    type: str | None = None
    role: str | None = None
    created_at: Timestamp = None
    content: Annotated[list[ContentBlock], BeforeValidator(_list_or_empty)] = Field(default_factory=list)
    provenance: Provenance | None = None
    content_unavailable: Flag = False
    sent_by_user_id: str | None = None
    model: str | None = None

    @property
    def unavailable_reason(self) -> str | None:
        """Why the content is missing: a local ``content_unavailable`` reason (``unknown`` when
        none is given), ``content_unavailable`` for a remote message, else None."""
        if self.provenance is not None and self.provenance.type == "content_unavailable":
            return self.provenance.reason or "unknown"
        return "content_unavailable" if self.content_unavailable else None

    @property
    def verification(self) -> str:
        """``verified``, ``client_asserted``, ``synthetic_marker`` or ``unavailable``."""
        if self.unavailable_reason is not None:
            return "unavailable"
        kind = self.provenance.type if self.provenance is not None else None
        return kind if kind in ("client_asserted", "synthetic_marker") else "verified"

    @property
    def truncated(self) -> bool:
        """True when a tool input or result of this message was cut (byte cap or server max)."""
        return any(getattr(b, "truncated", False) for b in self.content if b.type in ("tool_use", "tool_result"))


class SessionTranscript(ApiModel):
    """A session with every message (``local_session_transcript`` / ``remote_session_transcript``)."""

    session: Session
    messages: list[SessionMessage] = Field(default_factory=list)
    request_id: str | None = None


class CodeArtifactVersion(ApiModel):
    id: str
    created_at: Timestamp = None
    name: str | None = None


class CodeArtifact(ApiModel):
    """A Claude Code hosted site. ``read_mode``: ``owner`` | ``users`` | ``org`` | ``public``
    (anyone on the internet); ``versions``: the ≈20 most recent (older ones return 404)."""

    id: str
    organization_uuid: str | None = None
    owner_user_id: str | None = None
    user: UserRef | None = None
    read_mode: str | None = None
    published_version_id: str | None = None
    updated_at: Timestamp = None
    versions: Annotated[list[CodeArtifactVersion], BeforeValidator(_list_or_empty)] = Field(default_factory=list)

    @property
    def is_public(self) -> bool:
        return self.read_mode == "public"
