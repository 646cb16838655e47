"""``vigil report``: one self-contained HTML file (charts included, no network needed to open it).

The page is a Jinja2 template with autoescaping: every value from the lake (chat titles, e-mails,
masked values, context) is escaped, so ``<script>`` or ``[red]`` in a chat title shows as
written. plotly.js comes from the pinned ``plotly`` package and is inlined once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

import vigil
from vigil.report import charts
from vigil.report.data import SEVERITIES, ReportData

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class ChartSpec:
    id: str
    title: str
    what: str
    empty: str = "Nothing in this period."
    incidents: bool = False
    wide: bool = False


CHARTS = (
    ChartSpec("findings_per_day", "Findings per day", "Findings by the day the content was written, stacked by severity.",
              wide=True),
    ChartSpec("incidents_per_day", "New incidents per day",
              "Incidents (one per leaked value and policy) by the day the value was first seen, by severity.",
              incidents=True, wide=True),
    ChartSpec("top_infotypes", "Top infotypes", "The kinds of sensitive data found most, by severity."),
    ChartSpec("open_by_age", "Open incidents by age",
              "Unresolved incidents (open or acknowledged) by time since the value was first seen.", incidents=True),
    ChartSpec("top_users", "Top users", "Owners of the chats and projects with the most findings."),
    ChartSpec("top_projects", "Top projects", "Projects with the most findings (chats outside projects are not counted)."),
    ChartSpec("coverage", "Scan coverage",
              "Objects inspected in the period: scanned, or skipped with the reason, by kind of object."),
    ChartSpec("budget", "API budget used",
              "Compliance API requests per day across scan runs (bars) and 429 rate-limit responses (line)."),
)


def _when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _num(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _count_of(value: Any) -> str:
    """Incident ``users``/``chats`` are counts or lists."""
    if isinstance(value, (list, tuple, set)):
        return f"{len(value):,}"
    return _num(value)


def _days(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.0f} d" if value >= 1 else f"{value * 24:.0f} h"


def _web_url(value: Any) -> str:
    """Only http(s) links become links."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else ""


def _sevclass(value: Any) -> str:
    return value if value in SEVERITIES else "other"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, num=_num, count_of=_count_of, days=_days, web_url=_web_url, sevclass=_sevclass)
    return env


def period_text(data: ReportData) -> str:
    if data.since is None:
        return "all time"
    return f"since {data.since.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def render(data: ReportData) -> str:
    """The whole report page as HTML text."""
    import plotly  # noqa: PLC0415
    from plotly.offline import get_plotlyjs  # noqa: PLC0415

    built = charts.build(data)
    rows = []
    for spec in CHARTS:
        chart_html = built.get(spec.id)
        empty = ("This lake has no incidents table yet." if spec.incidents and not data.has_incidents
                 else spec.empty)
        rows.append({"id": spec.id, "title": spec.title, "what": spec.what, "wide": spec.wide,
                     "html": Markup(chart_html) if chart_html else None, "empty": empty})
    template = _environment().get_template("report.html.j2")
    return template.render(data=data, charts=rows, period=period_text(data), version=vigil.__version__,
                           plotly_js=Markup(get_plotlyjs()), plotly_version=plotly.__version__)


def write_report(data: ReportData, out: str | os.PathLike[str], storage_options: dict[str, Any] | None = None) -> str:
    """Render and write the report to a path or fsspec URL (atomically); returns where."""
    from vigil.lake.storage import LakeStorage  # noqa: PLC0415

    page = render(data).encode("utf-8")
    storage = LakeStorage(os.fspath(out), storage_options)
    storage.write_bytes_atomic(storage.root, page)
    return storage.url(storage.root)
