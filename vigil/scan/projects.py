"""Fetch what is new in a page of projects: instructions, project files, project documents.

Instructions are versioned by the md5 of their text, files by md5, documents by the md5 of their
content, so an unchanged project costs its detail and attachment-list requests only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from vigil.scan.batch import Batch
from vigil.scan.chats import fetch_object
from vigil.scan.claims import Claims
from vigil.scan.fetch import NotFound, ObjectUnavailable
from vigil.scan.inspect import Verdict
from vigil.scan.rows import CHAT_FILE, PROJECT, PROJECT_DOCUMENT, PROJECT_INSTRUCTIONS, Context, ObjectRef
from vigil.scan.work import Pending, Work, inspect_all


def text_md5(text: str) -> str:
    """MD5 hex of UTF-8 text: the version of text objects that carry no md5 of their own."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def inspect_projects(session: Any, projects: Iterable[Mapping[str, Any]], on_item: Any = None) -> Batch:
    """Rows for the in-scope projects of one list page."""
    claims = Claims(session.ledger)
    return inspect_all(session, lambda p: fetch_project(session, claims, p), projects, on_item)


def project_context(project: Mapping[str, Any], org_id: str | None) -> Context:
    """Metadata of project content (findings carry the project id and name and the creator)."""
    user = project.get("user") or {}
    return Context(org_id=project.get("organization_uuid") or project.get("organization_id") or org_id,
                   project_id=project["id"], project_name=project.get("name"),
                   user_id=user.get("id"), user_email=user.get("email_address"),
                   event_time=project.get("updated_at"))


def fetch_project(session: Any, claims: Claims, project: Mapping[str, Any]) -> Work:
    """Fetch what is new in one project (runs on a worker thread).

    ``project`` is a project-list record, or ``{"id": ...}`` alone when a later scan retries a
    project whose content was skipped for a reason that can heal. A project the API keeps
    failing for is recorded as a skipped ``project`` object, which later scans retry.
    """
    work = Work(retry_keys=list(project.get("retry_keys") or ()))
    work.counts["projects_seen"] += 1
    try:
        detail = session.fetcher.project(project["id"])
        ctx = project_context({**project, **detail}, session.org_id)
        instructions = detail.get("instructions") or ""
        if instructions:
            ref = ObjectRef(PROJECT_INSTRUCTIONS, project["id"], text_md5(instructions), name="instructions")
            work.referenced.add(ref.key)
            if claims.claim(ref.kind, ref.object_id, ref.version):
                work.pending.append(Pending(ref, ctx, None, segments=[("instructions", instructions)],
                                            evidence_text=instructions))
        for att in session.fetcher.project_attachments(project["id"]):
            if att.get("type") == "project_file":
                ref = ObjectRef(CHAT_FILE, att["id"], att.get("md5"), name=att.get("filename"),
                                mime=att.get("mime_type"), size=att.get("size_bytes"))
                fctx = ctx.with_(file_id=ref.object_id, file_name=ref.name, event_time=att.get("created_at"))
                work.referenced.add(ref.key)
                if claims.claim(ref.kind, ref.object_id, ref.version):
                    work.pending.append(fetch_object(session, ref, fctx, None))
            elif att.get("type") == "project_doc":
                _add_document(session, claims, work, ctx, att)
    except NotFound:
        work.skipped["not_found"] += 1
        gone = Work(counts=work.counts, skipped=work.skipped, retry_keys=work.retry_keys)
        if work.retry_keys:
            gone.container = ObjectRef(PROJECT, project["id"], None, name=project.get("name"))
            gone.container_ctx = project_context(project, session.org_id)
            gone.container_verdict = Verdict("skipped", "not_found")
        return gone
    except ObjectUnavailable as exc:
        work.skipped[exc.reason] += 1
        failed = Work(counts=work.counts, skipped=work.skipped, retry_keys=work.retry_keys)
        failed.container = ObjectRef(PROJECT, project["id"], None, name=project.get("name"))
        failed.container_ctx = project_context(project, session.org_id)
        failed.container_verdict = Verdict("skipped", exc.reason)
        return failed
    if session.ledger.get(PROJECT, project["id"]) is not None:
        # It failed in an earlier scan: record that it is readable now.
        work.container = ObjectRef(PROJECT, project["id"], None, name=detail.get("name"))
        work.container_ctx = ctx
    return work


def _add_document(session: Any, claims: Claims, work: Work, ctx: Context, att: Mapping[str, Any]) -> None:
    """Fetch a project document (its JSON carries the text); keep it if its md5 is new."""
    fctx = ctx.with_(file_id=att["id"], file_name=att.get("filename"), event_time=att.get("created_at"))
    try:
        doc = session.fetcher.document(att["id"])
    except NotFound:
        return
    except ObjectUnavailable as exc:
        ref = ObjectRef(PROJECT_DOCUMENT, att["id"], None, name=att.get("filename"), mime="text/plain")
        work.referenced.add(ref.key)
        if claims.claim(ref.kind, ref.object_id, ref.version):
            work.pending.append(Pending(ref, fctx, None, verdict=Verdict("skipped", exc.reason)))
        return
    data = (doc.get("content") or "").encode("utf-8")
    ref = ObjectRef(PROJECT_DOCUMENT, att["id"], hashlib.md5(data, usedforsecurity=False).hexdigest(),
                    name=att.get("filename"), mime="text/plain", size=len(data))
    work.referenced.add(ref.key)
    if not claims.claim(ref.kind, ref.object_id, ref.version):
        return
    if session.inspector.too_large(len(data)):
        work.pending.append(Pending(ref, fctx, None, verdict=Verdict("skipped", "too_large", bytes=len(data))))
    else:
        work.pending.append(Pending(ref, fctx, None, data=data))
