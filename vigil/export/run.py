"""``vigil export ocsf``: findings (and incidents, when the lake has them) as OCSF JSON lines.

Two ways to run it:

- ``export_ocsf(lake, out)``: one file (or standard output) with everything, optionally only
  content since a date.
- ``export_ocsf_incremental(lake, out_prefix)``: what a schedule calls (the forward flow's
  optional step): each call writes only what landed since the previous call to a new file under
  ``<out_prefix>/<findings|incidents>/dt=<day>/``, exactly once (see ``vigil.export.stream``),
  so a SIEM can tail the prefix.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa

from vigil.export.ocsf import finding_event_sql, incident_event_sql, prepared_findings, related_infos_sql
from vigil.export.sink import LineSink, join_url
from vigil.export.stream import StreamState, Window, default_stream_name
from vigil.lake import Lake
from vigil.lake.reads import limit_memory, relation_columns

log = logging.getLogger(__name__)

KINDS = ("findings", "incidents")
INCIDENT_COLUMNS = (
    "incident_id", "policy", "fingerprint", "infotype", "category", "severity", "masked",
    "first_seen", "last_seen", "occurrences", "users", "chats", "projects", "status", "assignee",
    "notes", "chat_url", "object_key", "updated_at",
)
BATCH_ROWS = 20_000
INCIDENT_TIME = "coalesce(i.updated_at, i.last_seen)"


class ExportError(RuntimeError):
    """The export cannot run as asked (the message says what to change)."""


@dataclass
class ExportResult:
    """What an export wrote."""

    findings: int = 0
    incidents: int = 0
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        where = ", ".join(self.files) if self.files else "nothing written"
        text = f"{self.findings} finding event(s), {self.incidents} incident event(s) -> {where}"
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])


def _ts(value: datetime | None) -> str:
    """A TIMESTAMPTZ SQL literal (or NULL)."""
    if value is None:
        return "NULL::TIMESTAMPTZ"
    return f"TIMESTAMPTZ '{value.astimezone(timezone.utc).isoformat()}'"


def check_kinds(kinds: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ExportError(f"kinds: expected some of {', '.join(KINDS)}")
    return tuple(kinds)


@contextlib.contextmanager
def _connection(lake: Lake, con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    if con is not None:
        yield con
        return
    own = lake.connect()
    try:
        yield own
    finally:
        own.close()


def incident_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """Types of the ``incidents`` relation's columns, or None when the lake has none yet.

    Raises ``ExportError`` when it exists but lacks columns of the contract (docs/export.md).
    """
    columns = relation_columns(con, "incidents")
    if not columns:
        return None
    missing = [c for c in INCIDENT_COLUMNS if c not in columns]
    if missing:
        raise ExportError(f"the incidents table lacks column(s) {', '.join(missing)}")
    return columns


def _write_query(con: duckdb.DuckDBPyConnection, sql: str, sink: LineSink) -> int:
    """Run ``sql`` (one JSON text column) and append its rows, one per line, to ``sink``."""
    before = sink.lines
    rel = con.sql(f"SELECT event || chr(10) FROM ({sql})")
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader  # DuckDB 2 / DuckDB 1
    for batch in reader(BATCH_ROWS):
        sink.write_arrow_lines(batch.column(0))
    return sink.lines - before


def _findings_sql(where: str = "TRUE", with_context: bool = True) -> str:
    return (f"SELECT {finding_event_sql('f', None, with_context)} AS event "
            f"FROM {prepared_findings()} AS f WHERE {where}")


# The latest copy of each finding of the window (``_export_window``: key, first landing time t,
# number of copies n), with its first landing time; only ids with several copies are ranked.
WINDOW_FINDINGS = """(
    SELECT f.*, w.t AS first_landed FROM findings_all AS f JOIN _export_window AS w ON w.key = f.finding_id AND w.n = 1
    UNION ALL
    SELECT * FROM (SELECT f.*, w.t AS first_landed FROM findings_all AS f
                   JOIN _export_window AS w ON w.key = f.finding_id AND w.n > 1
                   QUALIFY row_number() OVER (PARTITION BY f.finding_id ORDER BY f.landed_at DESC) = 1))"""


def _incidents_sql(columns: dict[str, str], selection: str, created_after: datetime | None = None,
                   one_shot: bool = True) -> str:
    created = None if one_shot else _ts(created_after)
    return f"""
        WITH sel AS ({selection}),
             r AS ({related_infos_sql('sel')})
        SELECT {incident_event_sql(columns, 'i', 'r', created)} AS event
        FROM sel AS i LEFT JOIN r ON r.fingerprint = i.fingerprint AND r.infotype = i.infotype
    """


def export_ocsf(lake: Lake, out: str = "-", *, since: datetime | None = None,
                kinds: tuple[str, ...] = KINDS, with_context: bool = True,
                storage_options: dict[str, Any] | None = None,
                con: duckdb.DuckDBPyConnection | None = None) -> ExportResult:
    """Write every finding (and incident) as OCSF events to ``out`` (a path, URL or ``-``).

    ``since`` keeps findings whose content time (``event_time``) is at or after it, and
    incidents last seen at or after it. ``with_context`` adds the masked surrounding text.
    """
    kinds = check_kinds(kinds)
    result = ExportResult()
    with _connection(lake, con) as c, LineSink(out, storage_options) as sink:
        limit_memory(c)
        if "findings" in kinds:
            where = "TRUE" if since is None else f"f.event_time >= {_ts(since)}"
            result.findings = _write_query(c, _findings_sql(where, with_context=with_context), sink)
        if "incidents" in kinds:
            columns = incident_columns(c)
            if columns is None:
                result.notes.append("no incidents table in this lake yet: only findings exported")
            else:
                where = "TRUE" if since is None else f"i.last_seen >= {_ts(since)}"
                result.incidents = _write_query(
                    c, _incidents_sql(columns, f"SELECT * FROM incidents AS i WHERE {where}"), sink)
        result.bytes = sink.bytes
        result.files.append(sink.publish())
    return result


def export_ocsf_incremental(lake: Lake, out: str, *, stream: str | None = None,
                            since: datetime | None = None, kinds: tuple[str, ...] = KINDS,
                            with_context: bool = True, gzip: bool = False,
                            storage_options: dict[str, Any] | None = None,
                            con: duckdb.DuckDBPyConnection | None = None) -> ExportResult:
    """Export what landed since the previous call of this stream to new files under ``out``.

    ``out`` is a folder or URL prefix; files go to ``<out>/<kind>/dt=<day>/vigil-ocsf-<kind>-
    <time>-<hash>.jsonl`` (``.gz`` with ``gzip``). ``stream`` names the saved progress (default:
    derived from ``out``). ``since`` applies to the first export of a stream only. A window with
    nothing new writes no file. Safe to rerun after a crash (see ``vigil.export.stream``).
    """
    kinds = check_kinds(kinds)
    if out == "-":
        raise ExportError("an incremental export writes files: give --out a folder or URL prefix")
    state = StreamState(lake, stream or default_stream_name(out))
    result = ExportResult()
    suffix = ".jsonl.gz" if gzip else ".jsonl"
    with _connection(lake, con) as c:
        limit_memory(c)
        for kind in kinds:
            if kind == "incidents":
                columns = incident_columns(c)
                if columns is None:
                    result.notes.append("no incidents table in this lake yet: only findings exported")
                    continue
                latest = c.execute("SELECT max(coalesce(updated_at, last_seen)) FROM incidents").fetchall()[0][0]
            else:
                columns = {}
                latest = c.execute("SELECT max(landed_at) FROM findings_all").fetchall()[0][0]
            window = state.begin(kind, latest, since, target=out)
            if window is None:
                continue
            if window.redo:
                result.notes.append(f"{kind}: finishing the export interrupted at {window.upper.isoformat()}")
            _load_recent(c, state.recent(kind))
            considered, recent = _select_window(c, kind, window, state.keep_after(window))
            target = join_url(out, kind, f"dt={window.upper.astimezone(timezone.utc):%Y-%m-%d}",
                              f"vigil-ocsf-{kind}-{window.file_stem}{suffix}")
            with LineSink(target, storage_options) as sink:
                if kind == "findings":
                    where = "TRUE" if window.since is None else f"f.event_time >= {_ts(window.since)}"
                    n = _write_query(c, f"SELECT {finding_event_sql('f', 'f.first_landed', with_context)} AS event "
                                        f"FROM {prepared_findings(WINDOW_FINDINGS)} AS f WHERE {where}", sink)
                    result.findings += n
                else:
                    where = "TRUE" if window.since is None else f"i.last_seen >= {_ts(window.since)}"
                    selection = (f"SELECT i.* FROM incidents AS i JOIN _export_window AS w "
                                 f"ON w.incident_id = i.incident_id WHERE {where}")
                    n = _write_query(c, _incidents_sql(columns, selection, window.lower, one_shot=False), sink)
                    result.incidents += n
                files = []
                if n:
                    result.bytes += sink.bytes
                    files.append(sink.publish())
                    result.files.extend(files)
            state.commit(kind, window, recent, considered, files)
            log.info("OCSF export %s: %d %s event(s) up to %s", state.stream, n, kind, window.upper.isoformat())
    return result


def _load_recent(con: duckdb.DuckDBPyConnection, recent: pa.Table) -> None:
    con.register("_export_recent_arrow", recent)
    con.execute("CREATE OR REPLACE TEMP TABLE _export_recent AS SELECT key FROM _export_recent_arrow")
    con.unregister("_export_recent_arrow")


def _select_window(con: duckdb.DuckDBPyConnection, kind: str, window: Window,
                   keep_after: datetime) -> tuple[int, pa.Table]:
    """Fill ``_export_window`` with the rows of ``window`` not sent before; return how many and
    the (key, t) pairs later than ``keep_after`` (the ones the stream must remember)."""
    lower = "TRUE" if window.lower is None else f"s.t > {_ts(window.lower)}"
    if kind == "findings":
        source = ("SELECT finding_id AS key, min(landed_at) AS t, count(*) AS n "
                  "FROM findings_all GROUP BY finding_id")
    else:
        source = (f"SELECT i.incident_id || '@' || CAST(epoch_us({INCIDENT_TIME}) AS VARCHAR) AS key, "
                  f"{INCIDENT_TIME} AS t, i.incident_id FROM incidents AS i")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _export_window AS
        SELECT s.* FROM ({source}) AS s ANTI JOIN _export_recent AS r ON r.key = s.key
        WHERE s.t <= {_ts(window.upper)} AND {lower}
    """)
    count = con.execute("SELECT count(*) FROM _export_window").fetchall()[0][0]
    recent = con.sql(f"SELECT key, t FROM _export_window WHERE t > {_ts(keep_after)}").to_arrow_table()
    return count, recent
