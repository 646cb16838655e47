"""Scope filters include and exclude exactly what they should."""

import pytest

from vigil.scope import ChatScope, ProjectScope

EMAILS = ["alice@corp.com", "Bob@Corp.com", "carol@contractor.io", "dave@corp.com.evil.io", None]


def selected(scope: ChatScope) -> list:
    return [e for e in EMAILS if scope.includes(e)]


def test_chat_scope_modes():
    assert selected(ChatScope()) == EMAILS
    assert selected(ChatScope("include", users=("bob@corp.com", " ALICE@corp.com "))) == [
        "alice@corp.com", "Bob@Corp.com"]
    assert selected(ChatScope("exclude", users=("bob@corp.com",))) == [
        "alice@corp.com", "carol@contractor.io", "dave@corp.com.evil.io", None]
    # anchored: the look-alike domain is not matched
    assert selected(ChatScope("regex", email_regex=r".*@corp\.com")) == ["alice@corp.com", "Bob@Corp.com"]
    assert selected(ChatScope("regex", email_regex=r".*contractor.*")) == ["carol@contractor.io"]


def test_chat_scope_rejects_bad_definitions():
    with pytest.raises(ValueError):
        ChatScope("some")
    with pytest.raises(ValueError):
        ChatScope("regex")


PROJECTS = [("p1", "Finance Q3"), ("p2", "HR"), ("p3", "finance-archive"), ("p4", None), (None, None)]


def chosen(scope: ProjectScope) -> list:
    return [p for p in PROJECTS if scope.includes(*p)]


def test_project_scope_modes():
    assert chosen(ProjectScope()) == PROJECTS
    assert chosen(ProjectScope("include", names=("finance q3",), ids=("p4",))) == [
        ("p1", "Finance Q3"), ("p4", None), (None, None)]
    assert chosen(ProjectScope("exclude", ids=("p2",), names=("finance-archive",))) == [
        ("p1", "Finance Q3"), ("p4", None), (None, None)]
    assert chosen(ProjectScope("regex", name_regex="finance.*")) == [
        ("p1", "Finance Q3"), ("p3", "finance-archive"), (None, None)]
    assert chosen(ProjectScope("regex", name_regex="HR|Legal")) == [("p2", "HR"), (None, None)]


def test_project_scope_rejects_bad_definitions():
    with pytest.raises(ValueError):
        ProjectScope("everything")
    with pytest.raises(ValueError):
        ProjectScope("regex")
