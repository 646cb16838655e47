"""What the HTML report shows, computed by DuckDB over the lake (aggregates only, no raw values).

Every chart is one small query; the largest result is the worst-incidents table (a few dozen
rows), so the report's memory does not grow with the lake. ``incidents`` follows the column
contract in docs/export.md; without that table the incident charts say so instead of drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb

from vigil.lake.reads import latest_findings_sql, limit_memory, relation_columns

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_RANK_SQL = ("CASE {col} WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 "
                     "WHEN 'low' THEN 1 ELSE 0 END")
UNRESOLVED = ("open", "acknowledged")
AGE_BUCKETS = (("< 1 day", 1), ("1–7 days", 7), ("7–30 days", 30), ("30–90 days", 90), ("> 90 days", None))
TOP_N = 12
WORST_N = 25


@dataclass
class ReportData:
    """Rows behind each chart and table (lists of dicts), plus headline numbers."""

    generated_at: datetime
    since: datetime | None
    lake: str
    has_incidents: bool
    totals: dict[str, Any] = field(default_factory=dict)
    findings_per_day: list[dict[str, Any]] = field(default_factory=list)
    incidents_per_day: list[dict[str, Any]] = field(default_factory=list)
    top_infotypes: list[dict[str, Any]] = field(default_factory=list)
    top_users: list[dict[str, Any]] = field(default_factory=list)
    top_projects: list[dict[str, Any]] = field(default_factory=list)
    open_by_age: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    budget_per_day: list[dict[str, Any]] = field(default_factory=list)
    worst_open: list[dict[str, Any]] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    rel = con.sql(sql)
    names = rel.columns
    return [dict(zip(names, r)) for r in rel.fetchall()]


def _ts(value: datetime | None) -> str:
    if value is None:
        return "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
    return f"TIMESTAMPTZ '{value.astimezone(timezone.utc).isoformat()}'"


def _sev(col: str) -> str:
    return SEVERITY_RANK_SQL.format(col=col)


def has_incidents(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the connection has an ``incidents`` table or view."""
    return bool(relation_columns(con, "incidents"))


def collect(con: duckdb.DuckDBPyConnection, *, since: datetime | None = None, lake: str = "",
            now: datetime | None = None, top_n: int = TOP_N, worst_n: int = WORST_N) -> ReportData:
    """Run the report's queries. ``since`` limits findings (by content time), new incidents,
    coverage and runs; open incidents are shown whatever their age."""
    now = now or datetime.now(timezone.utc)
    s = _ts(since)
    data = ReportData(generated_at=now, since=since, lake=lake, has_incidents=has_incidents(con))
    limit_memory(con)
    # The charts read a few columns of the period's findings many times: keep them once.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rf AS
        SELECT event_time, severity, infotype, user_email, project_name, fingerprint, chat_id
        FROM {latest_findings_sql(None if since is None else f"event_time >= {s}")}""")
    data.totals = _rows(con, """
        SELECT count(*) AS findings, count(DISTINCT fingerprint) AS values_,
               count(DISTINCT user_email) AS users, count(DISTINCT chat_id) AS chats,
               count(*) FILTER (WHERE severity = 'critical') AS critical
        FROM _rf""")[0]
    data.findings_per_day = _rows(con, """
        SELECT CAST(event_time AS DATE) AS day, severity, count(*) AS n FROM _rf GROUP BY ALL ORDER BY day""")
    data.top_infotypes = _top(con, "infotype", top_n)
    data.top_users = _top(con, "user_email", top_n)
    data.top_projects = _top(con, "project_name", top_n)
    data.coverage = _rows(con, f"""
        SELECT CASE WHEN status = 'skipped' THEN 'skipped: ' || coalesce(reason, 'unknown')
                    ELSE coalesce(status, 'unknown') END AS outcome,
               coalesce(object_kind, 'unknown') AS object_kind, count(*) AS n
        FROM objects WHERE coalesce(scanned_at, landed_at) >= {s} GROUP BY ALL ORDER BY outcome""")
    cov = _rows(con, f"""SELECT count(*) FILTER (WHERE status = 'scanned') AS scanned,
                                count(*) FILTER (WHERE status = 'skipped') AS skipped
                         FROM objects WHERE coalesce(scanned_at, landed_at) >= {s}""")[0]
    data.budget_per_day = _rows(con, f"""
        SELECT CAST(started_at AS DATE) AS day, count(*) AS runs,
               coalesce(sum(requests_used), 0) AS requests, coalesce(sum(rate_limited_429), 0) AS rate_limited,
               count(*) FILTER (WHERE status = 'failed') AS failed
        FROM scan_runs WHERE started_at >= {s} GROUP BY ALL ORDER BY day""")
    data.totals.update(objects_scanned=cov["scanned"], objects_skipped=cov["skipped"],
                       requests=sum(r["requests"] for r in data.budget_per_day),
                       rate_limited=sum(r["rate_limited"] for r in data.budget_per_day),
                       runs=sum(r["runs"] for r in data.budget_per_day))
    if data.has_incidents:
        _incidents(con, data, s, now, worst_n)
    return data


def _top(con: duckdb.DuckDBPyConnection, column: str, n: int) -> list[dict[str, Any]]:
    """The ``n`` values of ``column`` with most findings, split by severity."""
    return _rows(con, f"""
        WITH top AS (SELECT {column} AS label, count(*) AS total FROM _rf WHERE {column} IS NOT NULL
                     GROUP BY ALL ORDER BY total DESC, label LIMIT {int(n)})
        SELECT t.label, f.severity, count(*) AS n, any_value(t.total) AS total
        FROM _rf AS f JOIN top AS t ON f.{column} = t.label GROUP BY ALL ORDER BY total DESC, t.label""")


def _incidents(con: duckdb.DuckDBPyConnection, data: ReportData, s: str, now: datetime, worst_n: int) -> None:
    unresolved = ", ".join(f"'{x}'" for x in UNRESOLVED)
    data.incidents_per_day = _rows(con, f"""
        SELECT CAST(first_seen AS DATE) AS day, severity, count(*) AS n FROM incidents
        WHERE first_seen >= {s} GROUP BY ALL ORDER BY day""")
    data.status_counts = {r["status"]: r["n"] for r in _rows(con, """
        SELECT coalesce(status, 'unknown') AS status, count(*) AS n FROM incidents GROUP BY ALL""")}
    age_case = " ".join(f"WHEN age_days < {limit} THEN '{label}'" for label, limit in AGE_BUCKETS if limit)
    data.open_by_age = _rows(con, f"""
        WITH o AS (SELECT severity, date_diff('second', first_seen, {_ts(now)}) / 86400.0 AS age_days
                   FROM incidents WHERE status IN ({unresolved}))
        SELECT CASE {age_case} ELSE '{AGE_BUCKETS[-1][0]}' END AS bucket, severity, count(*) AS n
        FROM o GROUP BY ALL""")
    data.totals["open_incidents"] = sum(r["n"] for r in data.open_by_age)
    data.totals["new_incidents"] = sum(r["n"] for r in data.incidents_per_day)
    data.worst_open = _rows(con, f"""
        WITH w AS (SELECT * FROM incidents WHERE status IN ({unresolved})
                   ORDER BY {_sev('severity')} DESC, occurrences DESC, last_seen DESC, incident_id
                   LIMIT {int(worst_n)}),
             latest AS (SELECT f.fingerprint, f.infotype, arg_max(f.context, f.event_time) AS context,
                               arg_max(f.chat_title, f.event_time) AS chat_title,
                               arg_max(f.user_email, f.event_time) AS user_email,
                               arg_max(f.chat_url, f.event_time) AS latest_url
                        FROM {latest_findings_sql()} AS f SEMI JOIN w ON f.fingerprint = w.fingerprint AND f.infotype = w.infotype
                        GROUP BY ALL)
        SELECT w.incident_id, w.severity, w.infotype, w.category, w.masked, w.status, w.assignee,
               w.occurrences, w.users, w.chats, w.first_seen, w.last_seen, w.policy,
               date_diff('second', w.first_seen, {_ts(now)}) / 86400.0 AS age_days,
               l.context, l.chat_title, l.user_email, coalesce(w.chat_url, l.latest_url) AS chat_url
        FROM w LEFT JOIN latest AS l ON l.fingerprint = w.fingerprint AND l.infotype = w.infotype
        ORDER BY {_sev('w.severity')} DESC, w.occurrences DESC, w.last_seen DESC, w.incident_id""")
