"""Test data shared by tests/export and tests/report (loaded by their conftest files).

- ``sample_findings(now)``: one finding for every rule of ``vigil.detect`` (so every infotype),
  plus awkward rows: a chat title that is markup, a project object with no chat, a file, an
  assistant message, a user without e-mail, an e-mail OCSF would reject, a non-web chat link.
  Several rules share one repeated fingerprint, as the same secret pasted again would.
- ``INCIDENT_COLUMNS`` / ``create_incident_fixture(con, rows)``: a TEST FIXTURE standing in for
  the incidents table another branch builds: exactly the agreed column contract, nothing else.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from vigil.detect.rules import load_builtin_rules
from vigil.lake import Lake, finding_id, object_key

TRICKY_TITLE = "<script>alert('x')</script> [red]boom[/red] <img src=x onerror=\"document.title='pwned'\">"
ORG = "5e6f7a8b-0000-4000-8000-00000000c0de"

INCIDENT_COLUMNS = {
    "incident_id": "VARCHAR", "policy": "VARCHAR", "fingerprint": "VARCHAR", "infotype": "VARCHAR",
    "category": "VARCHAR", "severity": "VARCHAR", "masked": "VARCHAR", "first_seen": "TIMESTAMPTZ",
    "last_seen": "TIMESTAMPTZ", "occurrences": "BIGINT", "users": "BIGINT", "chats": "BIGINT",
    "projects": "BIGINT", "status": "VARCHAR", "assignee": "VARCHAR", "notes": "VARCHAR",
    "chat_url": "VARCHAR", "object_key": "VARCHAR", "updated_at": "TIMESTAMPTZ",
}


def _fp(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sample_findings(now: datetime, run_id: str = "forward-run-1") -> list[dict]:
    """Rows for the ``findings`` table (see the module docstring)."""
    rows = []
    for i, rule in enumerate(load_builtin_rules()):
        kind = ("message", "file", "project_document", "artifact_version")[i % 4]
        in_chat = kind != "project_document"
        obj_id = f"claude_obj_{i:03d}"
        version = "md5abc" if kind in ("file", "project_document") else ""
        chat = f"claude_chat_{i % 7:03d}" if in_chat else None
        email = (None if i % 11 == 5 else "not an address" if i % 13 == 6 else f"user{i % 5}@acme-corp.com")
        url = (f"https://claude.ai/chat/{i % 7:08d}-0000-4000-8000-000000000000" if in_chat and i % 17 != 3
               else "javascript:alert(1)" if in_chat else None)
        fingerprint = _fp("repeated-secret") if rule.category == "credential" and i % 3 == 0 else _fp(f"v{i}")
        masked = f"{rule.infotype[:3]}****{fingerprint[:4]}"
        rows.append({
            "finding_id": finding_id(kind, obj_id, version, "text:0", rule.id, 10, 30),
            "org_id": ORG, "chat_id": chat,
            "chat_title": (TRICKY_TITLE if i % 7 == 0 else f"Chat número {i % 7} – déjà vu") if in_chat else None,
            "message_id": f"claude_msg_{i:03d}" if in_chat else None,
            "author_role": "assistant" if i % 5 == 4 else "user", "model": "claude-sonnet-4-5",
            "file_id": obj_id if kind in ("file", "project_document") else None,
            "file_name": "secrets & keys.txt" if kind == "file" else "plan.docx" if kind == "project_document" else None,
            "project_id": "claude_proj_001" if i % 3 != 1 else None,
            "project_name": "Project <Phoenix>" if i % 3 != 1 else None,
            "user_id": f"user_{i % 5}" if email else None, "user_email": email,
            "chat_url": url, "deleted_at": now - timedelta(days=1) if i % 19 == 0 else None,
            "object_key": object_key(kind, obj_id, version), "object_kind": kind, "object_id": obj_id,
            "object_version": version, "locator": "text:0", "start": 10, "end": 30,
            "infotype": rule.infotype, "category": rule.category, "detector": rule.id,
            "likelihood": ("VERY_LIKELY", "LIKELY", "POSSIBLE")[i % 3], "severity": rule.severity,
            "masked": masked, "fingerprint": fingerprint,
            "context": f"the value {masked} was pasted <here> | [bold]", "event_time": now - timedelta(hours=3 + i),
            "scanned_at": now - timedelta(hours=1), "scan_run_id": run_id,
        })
    return rows


def sample_objects(findings: list[dict], now: datetime, run_id: str = "forward-run-1") -> list[dict]:
    """Coverage rows: the objects with findings, clean ones and skipped ones (every reason)."""
    rows = {}
    for f in findings:
        rows[f["object_key"]] = {"object_key": f["object_key"], "object_kind": f["object_kind"],
                                 "object_id": f["object_id"], "object_version": f["object_version"],
                                 "status": "scanned", "findings_count": 1, "scanned_at": f["scanned_at"],
                                 "scan_run_id": run_id}
    reasons = ["too_large", "type_excluded", "encrypted", "corrupt", "unsupported", "timeout"]
    for i in range(40):
        kind = ("message", "file")[i % 2]
        key = object_key(kind, f"clean_{i}", "")
        skipped = i < len(reasons) * 2
        rows[key] = {"object_key": key, "object_kind": kind, "object_id": f"clean_{i}", "object_version": "",
                     "status": "skipped" if skipped else "scanned",
                     "reason": reasons[i % len(reasons)] if skipped else None, "findings_count": 0,
                     "scanned_at": now - timedelta(hours=2), "scan_run_id": run_id}
    return list(rows.values())


def sample_runs(now: datetime) -> list[dict]:
    return [{"scan_run_id": f"forward-run-{i}", "run_type": "forward", "status": "completed",
             "started_at": now - timedelta(days=i, minutes=5), "finished_at": now - timedelta(days=i),
             "chats_seen": 7, "objects_scanned": 30, "objects_skipped": 12, "findings_count": 91,
             "requests_used": 40 + 30 * i, "rate_limited_429": i % 2, "retries": 0, "duration_s": 300.0}
            for i in range(1, 4)]


def land_sample(lake: Lake, now: datetime) -> list[dict]:
    """Land the sample findings, objects and runs; returns the findings rows."""
    findings = sample_findings(now)
    lake.land({"findings": findings, "objects": sample_objects(findings, now), "scan_runs": sample_runs(now)})
    return findings


def incident_rows(findings: list[dict], now: datetime) -> list[dict]:
    """One incident per (fingerprint, infotype) of ``findings``, with every status and assignee case."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for f in findings:
        groups.setdefault((f["fingerprint"], f["infotype"]), []).append(f)
    statuses = ["open", "open", "acknowledged", "false_positive", "resolved"]
    rows = []
    for n, ((fp, infotype), fs) in enumerate(sorted(groups.items())):
        latest = max(fs, key=lambda f: f["event_time"])
        status = statuses[n % len(statuses)]
        rows.append({
            "incident_id": _fp(f"incident|{fp}|{infotype}"), "policy": "secrets" if n % 2 else "default",
            "fingerprint": fp, "infotype": infotype, "category": fs[0]["category"], "severity": fs[0]["severity"],
            "masked": fs[0]["masked"], "first_seen": min(f["event_time"] for f in fs) - timedelta(days=n % 40),
            "last_seen": latest["event_time"], "occurrences": len(fs),
            "users": len({f["user_id"] for f in fs}), "chats": len({f["chat_id"] for f in fs}),
            "projects": len({f["project_id"] for f in fs if f["project_id"]}), "status": status,
            "assignee": ("alice@acme-corp.com" if status == "acknowledged" else "bob" if n % 7 == 0 else None),
            "notes": "test key from the docs" if status == "false_positive" else None,
            "chat_url": latest["chat_url"], "object_key": latest["object_key"],
            "updated_at": now - timedelta(minutes=30),
        })
    return rows


def create_incident_fixture(con, rows: list[dict], name: str = "incidents") -> None:  # noqa: ANN001
    """TEST FIXTURE: an ``incidents`` table with exactly the agreed columns, filled with ``rows``."""
    cols = ", ".join(f'"{c}" {t}' for c, t in INCIDENT_COLUMNS.items())
    con.execute(f"DROP VIEW IF EXISTS {name}")  # the lake's own incidents view, replaced for this test
    con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")
    placeholders = ", ".join("?" for _ in INCIDENT_COLUMNS)
    con.executemany(f"INSERT INTO {name} VALUES ({placeholders})",
                    [[r[c] for c in INCIDENT_COLUMNS] for r in rows])


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
