"""The report's charts as Plotly figures (plotly.js is inlined once by ``vigil.report.html``).

Labels that come from the lake (user e-mails, project names, infotypes) are HTML-escaped before
they reach Plotly: Plotly reads a small HTML subset in labels (``<b>``, ``<a href>``, …) and shows
entities literally, so a project called ``<script>`` is shown as written and never interpreted.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from vigil.report.data import AGE_BUCKETS, SEVERITIES, ReportData

SEVERITY_COLORS = {"critical": "#991b1b", "high": "#ea580c", "medium": "#ca8a04", "low": "#65a30d"}
OTHER_COLOR = "#6b7280"
KIND_COLORS = ["#2563eb", "#7c3aed", "#0891b2", "#db2777", "#059669", "#d97706", "#4b5563", "#9333ea"]
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def label(value: Any) -> str:
    """A lake value made safe to show as a Plotly label."""
    return html.escape("(none)" if value is None else str(value), quote=False)


def _layout(fig: go.Figure, *, height: int = 320, horizontal: bool = False, stacked: bool = True) -> go.Figure:
    fig.update_layout(
        template="none", barmode="stack" if stacked else "group", height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10}, font={"family": FONT, "size": 12, "color": "#1f2937"},
        legend={"orientation": "h", "y": -0.18, "x": 0, "traceorder": "normal"}, paper_bgcolor="white", plot_bgcolor="white",
        hoverlabel={"font": {"family": FONT}}, bargap=0.25)
    grid = {"gridcolor": "#e5e7eb", "zeroline": False, "automargin": True}
    fig.update_xaxes(**grid)
    fig.update_yaxes(**grid)
    if horizontal:
        fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig


def _severities(rows: Iterable[dict[str, Any]]) -> list[str]:
    present = {r["severity"] for r in rows}
    return [s for s in SEVERITIES if s in present] + sorted(s for s in present if s not in SEVERITIES and s)


def _by_severity(rows: list[dict[str, Any]], key: str, order: list[Any], horizontal: bool = False,
                 key_label=label) -> go.Figure:  # noqa: ANN001
    """Bars of ``key`` (in ``order``) stacked by severity."""
    counts: dict[tuple[Any, str], int] = defaultdict(int)
    for r in rows:
        counts[(r[key], r["severity"])] += int(r["n"])
    fig = go.Figure()
    for sev in _severities(rows):
        values = [counts.get((k, sev), 0) for k in order]
        names = [key_label(k) for k in order]
        bar = dict(name=label(sev), marker_color=SEVERITY_COLORS.get(sev, OTHER_COLOR),
                   hovertemplate="%{y}: %{x}<extra>" + label(sev) + "</extra>" if horizontal
                   else "%{x}: %{y}<extra>" + label(sev) + "</extra>")
        fig.add_trace(go.Bar(y=names, x=values, orientation="h", **bar) if horizontal
                      else go.Bar(x=names, y=values, **bar))
    return fig


def _iso_day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def per_day(rows: list[dict[str, Any]]) -> go.Figure:
    """Stacked bars per day by severity."""
    days = sorted({r["day"] for r in rows})
    fig = _by_severity(rows, "day", days, key_label=_iso_day)
    fig.update_xaxes(type="date")
    return _layout(fig)


def top(rows: list[dict[str, Any]]) -> go.Figure:
    """Horizontal bars of the top labels by severity (largest first)."""
    order = list(dict.fromkeys(r["label"] for r in rows))
    height = max(220, 28 * len(order) + 80)
    return _layout(_by_severity(rows, "label", order, horizontal=True), height=height, horizontal=True)


def open_by_age(rows: list[dict[str, Any]]) -> go.Figure:
    """Unresolved incidents by how long ago they were first seen."""
    return _layout(_by_severity(rows, "bucket", [b for b, _ in AGE_BUCKETS]))


def coverage(rows: list[dict[str, Any]]) -> go.Figure:
    """Objects scanned and skipped (by reason), stacked by object kind."""
    outcomes = sorted({r["outcome"] for r in rows}, key=lambda o: (o != "scanned", o))
    kinds = sorted({r["object_kind"] for r in rows})
    counts = {(r["outcome"], r["object_kind"]): int(r["n"]) for r in rows}
    fig = go.Figure()
    for i, kind in enumerate(kinds):
        fig.add_trace(go.Bar(y=[label(o) for o in outcomes], x=[counts.get((o, kind), 0) for o in outcomes],
                             orientation="h", name=label(kind), marker_color=KIND_COLORS[i % len(KIND_COLORS)],
                             hovertemplate="%{y}: %{x}<extra>" + label(kind) + "</extra>"))
    if _spread(counts.values()):
        fig.update_xaxes(type="log", dtick=1)
    return _layout(fig, height=max(220, 34 * len(outcomes) + 90), horizontal=True)


def _spread(values: Iterable[int]) -> bool:
    """True when a linear axis would hide the small bars (max/min over 200)."""
    nonzero = [v for v in values if v > 0]
    return bool(nonzero) and max(nonzero) / min(nonzero) > 200


def budget(rows: list[dict[str, Any]]) -> go.Figure:
    """API requests per day (bars) and 429 responses (line, right axis)."""
    days = [_iso_day(r["day"]) for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days, y=[r["requests"] for r in rows], name="API requests", marker_color="#2563eb",
                         hovertemplate="%{x}: %{y} requests<extra></extra>"))
    fig.add_trace(go.Scatter(x=days, y=[r["rate_limited"] for r in rows], name="429 responses", yaxis="y2",
                             mode="lines+markers", line={"color": "#dc2626", "width": 2}, marker={"size": 4},
                             hovertemplate="%{x}: %{y} × 429<extra></extra>"))
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero",
                              "title": {"text": "429s"}})
    fig.update_xaxes(type="date")
    return _layout(fig, stacked=False)


def to_div(fig: go.Figure, chart_id: str) -> str:
    """The figure as a ``<div>`` plus the script that draws it (plotly.js not included)."""
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=f"chart-{chart_id}",
                       config=PLOT_CONFIG, default_height=f"{fig.layout.height or 320}px")


def build(data: ReportData) -> dict[str, str | None]:
    """Chart id -> HTML (None when there is nothing to draw)."""
    charts: dict[str, tuple[list, Any]] = {
        "findings_per_day": (data.findings_per_day, per_day),
        "incidents_per_day": (data.incidents_per_day, per_day),
        "top_infotypes": (data.top_infotypes, top),
        "top_users": (data.top_users, top),
        "top_projects": (data.top_projects, top),
        "open_by_age": (data.open_by_age, open_by_age),
        "coverage": (data.coverage, coverage),
        "budget": (data.budget_per_day, budget),
    }
    return {cid: (to_div(make(rows), cid) if rows else None) for cid, (rows, make) in charts.items()}
