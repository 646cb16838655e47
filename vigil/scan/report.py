"""Human-readable summaries of a scan run (no content, masked values only)."""

from __future__ import annotations

from typing import Any


def summary_markdown(summary: Any, incidents: dict | None = None) -> str:
    """A markdown report: objects scanned, skipped by reason, findings by infotype and severity,
    API requests used, and (when given) the incidents and alerts the run produced."""
    c = summary.counts
    lines = [
        f"# {summary.run_type.capitalize()} scan `{summary.run_id}`: {summary.status}",
        "",
        f"Window: from {summary.window.start:%Y-%m-%d %H:%M} UTC"
        + (f" to {summary.window.end:%Y-%m-%d %H:%M} UTC" if summary.window.end else " (incremental)"),
        "",
        "| | |", "|---|---:|",
        f"| chats listed in scope | {c['chats_seen']} |",
        f"| chats fetched (new or changed) | {c['chats_fetched']} |",
        f"| projects inspected | {c['projects_seen']} |",
        f"| objects scanned | {c['objects_scanned']} |",
        f"| objects skipped | {summary.objects_skipped} |",
        f"| bytes scanned | {summary.bytes_scanned:,} |",
        f"| findings | {c['findings']} |",
        f"| chat events | {c['chat_events']} |",
        f"| activities landed | {c['activities']} |",
        f"| API requests used | {summary.requests} |",
        f"| 429 responses seen | {summary.rate_limited} |",
        f"| retries | {summary.retries} |",
    ]
    if summary.retry_later:
        lines.append(f"| objects to retry in later scans | {summary.retry_later} |")
    if incidents:
        lines += [f"| new incidents | {incidents.get('incidents_new', 0)} |",
                  f"| alerts sent | {incidents.get('alerts_sent', 0)} |",
                  f"| alerts waiting in the outbox | {incidents.get('alerts_waiting', 0)} |"]
    lines += _sessions_and_rules_rows(summary)
    if summary.skipped:
        lines += ["", "## Skipped by reason", "", "| reason | objects |", "|---|---:|"]
        lines += [f"| {reason} | {n} |" for reason, n in sorted(summary.skipped.items())]
    if summary.findings_by:
        lines += ["", "## Findings by infotype and severity", "",
                  "| infotype | severity | findings |", "|---|---|---:|"]
        for (infotype, severity), n in sorted(summary.findings_by.items(),
                                              key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {infotype} | {severity} | {n} |")
    if summary.error:
        lines += ["", f"Run failed: `{summary.error}`"]
    return "\n".join(lines) + "\n"


def _sessions_and_rules_rows(summary: Any) -> list[str]:
    """Sessions, hosted sites, posture and the rule set (issue 12), as summary table rows."""
    c = summary.counts
    rows = [f"| local sessions read (listed in scope) | {c['local_sessions_fetched']} ({c['local_sessions_seen']}) |",
            f"| remote sessions read (listed in scope) | {c['remote_sessions_fetched']} ({c['remote_sessions_seen']}) |",
            f"| code artifacts listed in scope | {c['code_artifacts_seen']} |",
            f"| session events | {c['session_events']} |",
            f"| posture changes | {c['posture_changes']} |"]
    rules = getattr(summary, "rules_version", None)
    if rules:
        changed = (f" (changed: was `{summary.previous_rules_version}`)" if summary.rules_changed else "")
        rows.append(f"| rules version | `{rules}`{changed} |")
    return rows


def top_findings_table(summary: Any) -> list[dict[str, Any]]:
    """The run's most severe findings as table rows (masked values only)."""
    return [dict(row) for row in summary.top_findings]


def summary_text(summary: Any) -> str:
    """A few plain lines for the terminal."""
    c = summary.counts
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary.skipped.items())) or "none"
    return (f"{summary.run_type} scan {summary.run_id}: {summary.status}\n"
            f"  chats in scope {c['chats_seen']} (fetched {c['chats_fetched']}), projects {c['projects_seen']}, "
            f"activities {c['activities']}\n"
            f"  objects scanned {c['objects_scanned']}, skipped {summary.objects_skipped} ({skipped})\n"
            f"  findings {c['findings']}; API requests {summary.requests}, 429s {summary.rate_limited}, "
            f"retries {summary.retries}\n"
            f"  sessions read: local {c['local_sessions_fetched']}, remote {c['remote_sessions_fetched']}; "
            f"code artifacts {c['code_artifacts_seen']}; posture changes {c['posture_changes']}\n"
            f"  rules version {getattr(summary, 'rules_version', None) or 'unknown'}"
            + (f" (changed since the previous run: was {summary.previous_rules_version})"
               if getattr(summary, "rules_changed", False) else ""))
