"""Fetch what is new in Claude Code hosted sites (code artifacts, SPEC §9.3).

The list gives each artifact with its ``read_mode`` and its ~20 most recent versions; a version
is inspected once, by version id (``code_artifact_version``, object id = the ``cart_…`` artifact,
version = the version id). Its body is read as served and inspected as text (scripts, comments
and markup included: all of it is what a visitor's browser receives), each finding located at
``line:N``.

- A version whose upload is still in flight (503 after the client's retries) is skipped
  ``uploading`` and read by a later scan; one that left the kept history before it was read
  (404) is skipped ``rotated_out``; a body over the inspection cap is skipped ``too_large``.
- A body the server cut mid-stream (its only signal for oversized content) is inspected as far
  as it arrived and recorded ``scanned`` with reason ``truncated``.
- Findings carry the artifact's ``read_mode`` (and ``exposure``); a secret in a ``public`` site
  is ``critical``. When an artifact's ``read_mode`` changes after its published version was
  inspected (e.g. the site is made public), that version is inspected again so its findings
  carry the new exposure (same finding ids: the views show the latest copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vigil.scan.batch import Batch
from vigil.scan.claims import Claims
from vigil.scan.fetch import NotFound, ObjectUnavailable
from vigil.scan.inspect import Verdict
from vigil.scan.rows import CODE_ARTIFACT_VERSION, Context, ObjectRef
from vigil.scan.work import Pending, Work, inspect_all


def inspect_code_artifacts(session: Any, artifacts: Iterable[Mapping[str, Any]], on_item: Any = None) -> Batch:
    """Rows for the in-scope artifacts of one list page."""
    artifacts = list(artifacts)
    claims = Claims(session.ledger)
    landed_modes = published_read_modes(session.lake, artifacts)
    return inspect_all(session, lambda a: fetch_code_artifact(session, claims, a, landed_modes), artifacts, on_item)


def published_read_modes(lake: Any, artifacts: list[Mapping[str, Any]]) -> dict[tuple[str, str], str | None]:
    """The ``read_mode`` each artifact's published version was last inspected with (one query)."""
    published = [a["id"] for a in artifacts if a.get("published_version_id")]
    if not published:
        return {}
    rows = lake.query("SELECT object_id, object_version, read_mode FROM session_events "
                      "WHERE event_kind = ? AND scan_status = 'scanned' AND list_contains(?, object_id)",
                      [CODE_ARTIFACT_VERSION, published]).to_pylist()
    return {(r["object_id"], r["object_version"]): r["read_mode"] for r in rows}


def artifact_owner(artifact: Mapping[str, Any]) -> tuple[str | None, str | None]:
    user = artifact.get("user") or {}
    return artifact.get("owner_user_id") or user.get("id"), user.get("email_address")


def fetch_code_artifact(session: Any, claims: Claims, artifact: Mapping[str, Any],
                        landed_modes: Mapping[tuple[str, str], str | None]) -> Work:
    """Download the versions of one artifact not inspected yet (runs on a worker thread)."""
    work = Work()
    work.counts["code_artifacts_seen"] += 1
    user_id, email = artifact_owner(artifact)
    read_mode = artifact.get("read_mode")
    ctx = Context(org_id=artifact.get("organization_uuid") or session.org_id, user_id=user_id,
                  user_email=session.owner_email(user_id, email), read_mode=read_mode)
    published = artifact.get("published_version_id")
    for version in artifact.get("versions") or ():
        ref = ObjectRef(CODE_ARTIFACT_VERSION, artifact["id"], version["id"], name=version.get("name"))
        exposure_changed = (version["id"] == published and (artifact["id"], version["id"]) in landed_modes
                            and landed_modes[(artifact["id"], version["id"])] != read_mode)
        if not claims.claim(ref.kind, ref.object_id, ref.version) and not exposure_changed:
            continue
        if exposure_changed:
            work.counts["code_artifacts_reinspected"] += 1
        vctx = ctx.with_(file_name=ref.name, event_time=version.get("created_at"))
        work.pending.append(fetch_version(session, ref, vctx))
    return work


def fetch_version(session: Any, ref: ObjectRef, ctx: Context) -> Pending:
    """Download one version (capped at the inspection limit) and decode it as text."""
    try:
        download = session.fetcher.code_artifact_version(ref.object_id, ref.version, session.inspector.max_file_bytes)
    except NotFound as exc:
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", exc.reason))
    except ObjectUnavailable as exc:
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", exc.reason))
    if download.too_large:
        return Pending(ref, ctx, ref.kind, verdict=Verdict("skipped", "too_large", bytes=download.size))
    ref = ObjectRef(ref.kind, ref.object_id, ref.version, name=ref.name, mime=download.mime_type,
                    size=len(download.content))
    return Pending(ref, ctx, ref.kind, document=download.content.decode("utf-8", errors="replace"),
                   partial="truncated" if download.truncated else None)
