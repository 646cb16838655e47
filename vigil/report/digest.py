"""The short version of the report for one scan run (what its Prefect artifacts show).

``run_digest(con, scan_run_id)`` returns the run's summary table and its newest severe
incidents: the leaked values (one row per fingerprint, never one per finding) that the run found,
most severe and newest first, at most ``per_infotype`` rows of one infotype so that one noisy
detector cannot fill the list. With an ``incidents`` table the rows carry the incident's id,
status and total occurrences, and values marked ``false_positive`` are left out. Prefect-free:
``tasks/run_report.py`` publishes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb

from vigil.lake.reads import latest_findings_sql
from vigil.report.data import SEVERITIES, SEVERITY_RANK_SQL, has_incidents

DIGEST_ROWS = 10
PER_INFOTYPE = 2
MIN_SEVERITY = "high"


@dataclass
class RunDigest:
    """A run's summary rows (metric, value) and its newest severe incidents."""

    scan_run_id: str
    run_type: str | None
    status: str | None
    summary: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    found_run: bool = True


def _rank(severity: str) -> int:
    if severity not in SEVERITIES:
        raise ValueError(f"min_severity: expected one of {', '.join(SEVERITIES)}")
    return len(SEVERITIES) - SEVERITIES.index(severity)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def run_digest(con: duckdb.DuckDBPyConnection, scan_run_id: str, *, limit: int = DIGEST_ROWS,
               per_infotype: int = PER_INFOTYPE, min_severity: str = MIN_SEVERITY) -> RunDigest:
    """The digest of run ``scan_run_id`` from the lake views on ``con`` (see the module docstring)."""
    floor = _rank(min_severity)
    runs = _rows(con, "SELECT * FROM scan_runs WHERE scan_run_id = ?", [scan_run_id])
    run = runs[0] if runs else {}
    digest = RunDigest(scan_run_id, run.get("run_type"), run.get("status"), found_run=bool(runs))
    run_findings = latest_findings_sql("scan_run_id = ?")
    counts = _rows(con, f"""SELECT count(*) AS findings, count(DISTINCT fingerprint) AS values_,
                                  count(*) FILTER (WHERE severity = 'critical') AS critical
                           FROM {run_findings}""", [scan_run_id])[0]
    digest.summary = _summary_rows(run, counts)
    incidents = has_incidents(con)
    rank = SEVERITY_RANK_SQL.format(col="severity")
    join = ("LEFT JOIN incidents AS i ON i.fingerprint = g.fingerprint AND i.infotype = g.infotype"
            if incidents else "")
    inc_cols = ("i.incident_id, i.status, i.occurrences AS total_occurrences, "
                f"coalesce(i.severity, g.severity) AS severity" if incidents
                else "NULL AS incident_id, 'new' AS status, NULL AS total_occurrences, g.severity")
    not_fp = "coalesce(i.status, '') <> 'false_positive'" if incidents else "TRUE"
    digest.incidents = _rows(con, f"""
        WITH rf AS (SELECT *, {rank} AS sev_rank FROM {run_findings}),
             g AS (SELECT fingerprint, infotype, max(sev_rank) AS sev_rank,
                          arg_max(severity, sev_rank) AS severity, any_value(masked) AS masked,
                          max(event_time) AS time, arg_max(chat_title, event_time) AS chat_title,
                          arg_max(project_name, event_time) AS project_name,
                          arg_max(file_name, event_time) AS file_name,
                          arg_max(user_email, event_time) AS user_email,
                          arg_max(chat_url, event_time) AS link, count(*) AS run_occurrences
                   FROM rf GROUP BY fingerprint, infotype),
             j AS (SELECT g.*, {inc_cols} FROM g {join} WHERE g.sev_rank >= ? AND {not_fp}),
             d AS (SELECT *, row_number() OVER (PARTITION BY infotype ORDER BY sev_rank DESC, time DESC,
                                                 fingerprint) AS nth FROM j)
        SELECT severity, infotype, masked, chat_title, project_name, file_name, user_email, time, link,
               run_occurrences, incident_id, status, total_occurrences
        FROM d WHERE nth <= ? ORDER BY sev_rank DESC, time DESC, fingerprint LIMIT ?
    """, [scan_run_id, floor, int(per_infotype), int(limit)])
    for row in digest.incidents:
        row["title"] = incident_title(row)
    return digest


def incident_title(row: dict[str, Any]) -> str:
    """``AWS_CREDENTIALS ****MPLE in "Deploy notes"`` (chat, else file, else project)."""
    where = row.get("chat_title") or row.get("file_name") or row.get("project_name")
    return f"{row['infotype']} {row.get('masked') or ''}".strip() + (f' in "{where}"' if where else "")


def _summary_rows(run: dict[str, Any], counts: dict[str, Any]) -> list[dict[str, Any]]:
    def when(v: Any) -> str:
        return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(v, datetime) else ""

    items = [
        ("run", run.get("scan_run_id")), ("type", run.get("run_type")), ("status", run.get("status")),
        ("started", when(run.get("started_at"))), ("finished", when(run.get("finished_at"))),
        ("duration (s)", None if run.get("duration_s") is None else round(run["duration_s"], 1)),
        ("chats seen", run.get("chats_seen")), ("objects scanned", run.get("objects_scanned")),
        ("objects skipped", run.get("objects_skipped")), ("findings", counts["findings"]),
        ("critical findings", counts["critical"]), ("distinct leaked values", counts["values_"]),
        ("API requests", run.get("requests_used")), ("429 responses", run.get("rate_limited_429")),
        ("retries", run.get("retries")), ("error", run.get("error")),
    ]
    return [{"metric": k, "value": "" if v is None else v} for k, v in items if k != "error" or v]


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def md_escape(value: Any) -> str:
    """Text safe inside a markdown table cell (no markup, no HTML, one line)."""
    text = " ".join(str("" if value is None else value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_link(url: Any) -> str:
    text = str(url or "")
    if not text.startswith(("https://", "http://")):
        return ""
    safe = text.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[open chat]({safe})"


def digest_markdown(digest: RunDigest) -> str:
    """The newest severe incidents as a markdown table (title, user, time, link)."""
    head = f"# Newest severe incidents of run `{md_escape(digest.scan_run_id)}`\n\n"
    if not digest.incidents:
        return head + "No high or critical leaked values in this run.\n"
    lines = ["| severity | incident | user | time | seen | status | link |", "|---|---|---|---|---:|---|---|"]
    for r in digest.incidents:
        seen = r["run_occurrences"] if r.get("total_occurrences") is None else \
            f"{r['run_occurrences']} (total {r['total_occurrences']})"
        when = r["time"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if r.get("time") else ""
        lines.append(f"| {md_escape(r['severity'])} | {md_escape(r['title'])} | {md_escape(r.get('user_email'))} | "
                     f"{when} | {seen} | {md_escape(r.get('status'))} | {_md_link(r.get('link'))} |")
    return head + "\n".join(lines) + "\n"
