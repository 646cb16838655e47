"""Where a scheduled export stopped, so the next one sends only what is new, exactly once.

A *stream* is one destination (its state lives at ``<lake>/_state/export/ocsf/<stream>.json``).
For each kind (``findings``, ``incidents``) the state holds:

- ``cursor``: the export time up to which rows were sent. A row belongs to the export whose
  window holds its *first* landing time (``min(landed_at)`` over every landed copy), so a page
  that a crashed scan lands again is not sent twice.
- ``recent``: a small Parquet file of the keys already sent whose time is later than
  ``start of the cursor's UTC day - LATE_MARGIN``. Windows start ``LATE_MARGIN`` before the
  cursor (a batch stamped before the cursor but visible only after it is still sent) and these
  keys are left out. Keeping the cursor's whole day covers the one case where an earlier copy of
  a row disappears: compaction merging a day's partition keeps only the latest copy.
- ``pending``: the window being exported. It is saved before the file is written and cleared
  with the new cursor after, so an export that dies in between redoes the same window into the
  same file name instead of sending a larger, overlapping one.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vigil.lake import Lake
from vigil.lake.state import STATE_DIR, CheckpointStore

LATE_MARGIN = timedelta(minutes=10)
NAMESPACE_PREFIX = "export/ocsf"
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
RECENT_SCHEMA = pa.schema([("key", pa.string()), ("t", pa.timestamp("us", tz="UTC"))])


def default_stream_name(out: str) -> str:
    """A stream name derived from the destination, so two destinations never share a cursor."""
    return "to-" + hashlib.sha256(out.rstrip("/").encode()).hexdigest()[:16]


def check_stream_name(name: str) -> str:
    if not _STREAM_NAME.match(name or ""):
        raise ValueError("stream: use 1-80 letters, digits, '.', '_' or '-'")
    return name


@dataclass(frozen=True)
class Window:
    """Rows whose time is in ``(lower, upper]`` and whose key is not in the recent set."""

    lower: datetime | None
    upper: datetime
    file_stem: str
    since: datetime | None = None  # first export only: rows of content older than this are left out
    redo: bool = False


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(timezone.utc).isoformat() if t else None


def _parse(t: str | None) -> datetime | None:
    return datetime.fromisoformat(t) if t else None


class StreamState:
    """The saved progress of one export stream (see the module docstring)."""

    def __init__(self, lake: Lake, stream: str):
        self.lake = lake
        self.stream = check_stream_name(stream)
        self.store: CheckpointStore = lake.checkpoints(f"{NAMESPACE_PREFIX}/{stream}")

    def load(self, kind: str) -> dict[str, Any]:
        return dict(self.store.load().get(kind) or {})

    def _save(self, kind: str, value: dict[str, Any], **extra: Any) -> None:
        state = self.store.load()
        state[kind] = value
        state.update(extra)
        self.store.save(state)

    def begin(self, kind: str, latest: datetime | None, since: datetime | None = None,
              target: str | None = None) -> Window | None:
        """The window to export now (a pending one first); None when nothing new landed."""
        saved = self.load(kind)
        pending = saved.get("pending")
        if pending:
            return Window(_parse(pending.get("lower")), _parse(pending["upper"]), pending["file_stem"],
                          _parse(pending.get("since")), redo=True)
        cursor = _parse(saved.get("cursor"))
        if latest is None or (cursor is not None and latest <= cursor):
            return None
        lower = cursor - LATE_MARGIN if cursor else None
        stem = f"{latest.astimezone(timezone.utc):%Y%m%dT%H%M%S%f}-" + hashlib.sha256(
            f"{kind}|{_iso(lower)}|{_iso(latest)}".encode()).hexdigest()[:8]
        window = Window(lower, latest, stem, since if cursor is None else None)
        saved["pending"] = {"lower": _iso(lower), "upper": _iso(latest), "file_stem": stem,
                            "since": _iso(window.since)}
        self._save(kind, saved, **({"target": target} if target else {}))
        return window

    def recent(self, kind: str) -> pa.Table:
        """Keys already sent that a new window could meet again."""
        name = self.load(kind).get("recent")
        if not name:
            return RECENT_SCHEMA.empty_table()
        data = self.lake.storage.read_bytes(self._recent_path(name))
        if data is None:
            return RECENT_SCHEMA.empty_table()
        return pq.read_table(io.BytesIO(data)).cast(RECENT_SCHEMA)

    @staticmethod
    def keep_after(window: Window) -> datetime:
        """Keys sent with a time after this are kept in the recent set (see the module docstring)."""
        day = window.upper.astimezone(timezone.utc).date()
        return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) - LATE_MARGIN

    def commit(self, kind: str, window: Window, recent: pa.Table, rows: int, files: list[str]) -> None:
        """Advance the cursor past ``window``: ``rows`` were considered, ``recent`` holds those of
        their (key, t) pairs later than ``keep_after(window)``."""
        saved = self.load(kind)
        old_name = saved.get("recent")
        keep_after = pa.scalar(self.keep_after(window), RECENT_SCHEMA.field("t").type)
        merged = pa.concat_tables([self.recent(kind), recent.select(["key", "t"]).cast(RECENT_SCHEMA)])
        kept = merged.filter(pc.greater(merged.column("t"), keep_after))
        new_name = f"{kind}-recent-{window.file_stem}.parquet"
        buf = io.BytesIO()
        pq.write_table(kept, buf, compression="zstd")
        self.lake.storage.write_bytes_atomic(self._recent_path(new_name), buf.getvalue())
        totals = saved.get("totals") or {"rows": 0, "files": 0}
        saved.update(cursor=_iso(window.upper), recent=new_name, pending=None, last_files=files, last_rows=rows,
                     totals={"rows": totals["rows"] + rows, "files": totals["files"] + len(files)})
        self._save(kind, saved)
        if old_name and old_name != new_name:
            self.lake.storage.remove([self._recent_path(old_name)])

    def _recent_path(self, name: str) -> str:
        return self.lake.storage.path(STATE_DIR, NAMESPACE_PREFIX, self.stream, posixpath.basename(name))

