"""A batch: the rows one page of a scan lands together, plus what the run summary counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Batch:
    """Rows per lake table and the counters a page contributes to the run summary.

    ``tables_extra`` holds rows of tables no inspection step shares (the directory and posture
    tables), by table name.
    """

    findings: list[dict[str, Any]] = field(default_factory=list)
    chat_events: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    session_events: list[dict[str, Any]] = field(default_factory=list)
    tables_extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # reason -> objects skipped
    bytes_scanned: int = 0

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The non-empty tables, as ``Lake.land`` takes them."""
        out = {"findings": self.findings, "chat_events": self.chat_events,
               "activities": self.activities, "session_events": self.session_events,
               **self.tables_extra, "objects": self.objects}
        return {name: rows for name, rows in out.items() if rows}

    def row_count(self) -> int:
        return (len(self.findings) + len(self.chat_events) + len(self.objects) + len(self.activities)
                + len(self.session_events) + sum(len(rows) for rows in self.tables_extra.values()))

    def extend(self, other: "Batch") -> None:
        """Append another batch's rows and counters to this one."""
        self.findings.extend(other.findings)
        self.chat_events.extend(other.chat_events)
        self.objects.extend(other.objects)
        self.activities.extend(other.activities)
        self.session_events.extend(other.session_events)
        for name, rows in other.tables_extra.items():
            self.tables_extra.setdefault(name, []).extend(rows)
        self.counts.update(other.counts)
        self.skipped.update(other.skipped)
        self.bytes_scanned += other.bytes_scanned
