"""Typed models over SPEC's example bodies and the loose shapes SPEC flags."""

from __future__ import annotations

import json
from datetime import timezone
from pathlib import Path

import httpx
import pytest
from pydantic import TypeAdapter

from vigil.api import ResponseFormatError
from vigil.api import models as m

EXAMPLES = Path(__file__).parent / "examples"  # copies of SPEC's examples/ (see its README)


def example(name):
    return json.loads((EXAMPLES / name).read_text())


LISTS = [("organizations_list.json", m.Organization), ("organization_users.json", m.OrgUser),
         ("groups_list.json", m.Group), ("group_members.json", m.GroupMember), ("roles_list.json", m.Role),
         ("activities_list.json", m.Activity), ("chats_list.json", m.Chat), ("projects_list.json", m.Project),
         ("project_collaborators.json", m.ProjectCollaborator), ("code_artifacts_list.json", m.CodeArtifact),
         ("local_sessions_list.json", m.Session), ("remote_sessions_list.json", m.Session)]
SINGLE = [("chat_messages.json", m.ChatTranscript), ("file_metadata.json", m.FileMetadata),
          ("generated_file_metadata.json", m.GeneratedFileMetadata), ("artifact_metadata.json", m.ArtifactMetadata),
          ("project_details.json", m.Project), ("project_document_content.json", m.ProjectDocument),
          ("project_document_metadata.json", m.ProjectDocumentMetadata)]


@pytest.mark.parametrize("name,model", LISTS)
def test_list_examples_parse(name, model):
    body = example(name)
    records = [model.model_validate(item) for item in body["data"]]
    assert records and all(r.raw == item for r, item in zip(records, body["data"]))


@pytest.mark.parametrize("name,model", SINGLE)
def test_single_examples_parse(name, model):
    body = example(name)
    assert model.model_validate(body).raw == body


def test_transcript_example_blocks_and_refs():
    t = m.ChatTranscript.model_validate(example("chat_messages.json"))
    kinds = [type(b).__name__ for msg in t.messages for b in msg.content]
    assert {"TextBlock", "ToolUseBlock", "ToolResultBlock"} <= set(kinds)
    assert t.messages[0].files[0].id.startswith("claude_file_") and t.messages[0].generated_files == []
    assert t.messages[0].get("generated_files") is None  # the raw null is still visible
    assert t.organization_uuid == "344408a7-2f0b-414a-a80c-0a156b94a21d"
    assert t.organization_tag.startswith("org_")


def test_loose_shapes():
    msg = m.ChatMessage.model_validate({
        "id": "claude_chat_msg_1", "role": "assistant", "created_at": "2026-08-20T14:27:41",
        "content": [{"type": "image", "source": {"x": 1}}, {"type": "tool_use", "input": {"q": "ssn"}, "truncated": None},
                    {"type": "tool_result", "content": None}, {"type": "text", "text": "hi", "new_flag": 1}],
        "artifacts": None, "future_field": [1, 2]})
    unknown, tool_use, tool_result, text = msg.content
    assert isinstance(unknown, m.UnknownBlock) and unknown.type == "image" and unknown.model_extra["source"] == {"x": 1}
    assert tool_use.input == '{"q": "ssn"}' and tool_use.truncated is False
    assert tool_result.content == [] and text.model_extra == {"new_flag": 1}
    assert msg.files == msg.generated_files == msg.artifacts == []  # absent or null
    assert msg.created_at.tzinfo == timezone.utc and msg["future_field"] == [1, 2]
    chat = m.Chat.model_validate({"id": "c", "organization_id": "344408A7-2F0B-414A-A80C-0A156B94A21D",
                                  "created_at": "yesterday", "deleted_at": "2026-01-01T00:00:00+02:00"})
    assert chat.organization_uuid == "344408a7-2f0b-414a-a80c-0a156b94a21d" and chat.organization_tag is None
    assert chat.created_at is None and chat.raw["created_at"] == "yesterday"
    assert chat.deleted_at.hour == 22 and chat.is_deleted
    attachments = TypeAdapter(m.ProjectAttachment)
    assert isinstance(attachments.validate_python({"type": "project_link", "id": "x"}), m.UnknownAttachment)


def test_malformed_record_error_does_not_echo_content(make_client):
    secret_text = "4111 1111 1111 1111 belongs to Ada"
    client = make_client(lambda r: httpx.Response(200, json={
        "data": [{"name": secret_text}], "has_more": False, "first_id": None, "last_id": None}))
    with pytest.raises(ResponseFormatError) as info:
        list(client.chats())
    assert "id" in str(info.value) and "4111" not in str(info.value) and "Ada" not in repr(info.value)
