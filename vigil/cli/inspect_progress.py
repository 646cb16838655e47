"""Progress and the closing summary of ``vigil inspect`` (both on stderr, so JSONL stays clean).

``InspectTally`` counts what the records of ``inspect_paths`` say, per file and severity;
``InspectProgress`` shows it as a live line on a terminal and as a plain line every
``interval`` seconds otherwise.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from typing import Any, TextIO

from vigil.detect.model import SEVERITIES

#: most severe first, as the summary's columns
SEVERITY_COLUMNS: tuple[str, ...] = tuple(reversed(SEVERITIES))
#: files listed in the summary (most findings first); the rest are counted in one line
SUMMARY_FILES = 30


class InspectTally:
    """Findings per file and severity, skips per file, files and bytes done."""

    def __init__(self, files_total: int):
        self.files_total = files_total
        self.files_done = 0
        self.bytes_done = 0
        self.by_file: dict[str, Counter] = defaultdict(Counter)
        self.skips: Counter = Counter()
        self.started = time.monotonic()

    def add(self, record: dict[str, Any]) -> None:
        """Count one record of ``inspect_paths`` (a finding or a skip)."""
        if "skipped" in record:
            self.skips[record["doc"]] += 1
        else:
            self.by_file[record["doc"]][record["severity"]] += 1

    def file_done(self, size: int) -> None:
        self.files_done += 1
        self.bytes_done += size

    @property
    def findings(self) -> int:
        return sum(sum(c.values()) for c in self.by_file.values())

    def line(self) -> str:
        """One status line: files done of total, MB read, findings, skips, rate."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"inspect: {self.files_done}/{self.files_total} files, "
                f"{self.bytes_done / 1e6:.1f} MB ({self.bytes_done / 1e6 / elapsed:.1f} MB/s), "
                f"{self.findings} findings, {sum(self.skips.values())} skipped")

    def summary_lines(self) -> list[str]:
        """A table of the files with findings or skips, by severity, and a total row."""
        docs = set(self.by_file) | set(self.skips)
        ranked = sorted(docs, key=lambda d: (-sum(self.by_file[d].values()), d))
        header = ("file", *SEVERITY_COLUMNS, "skipped")
        rows = [header]
        for doc in ranked[:SUMMARY_FILES]:
            rows.append((doc, *(str(self.by_file[doc][s]) for s in SEVERITY_COLUMNS), str(self.skips[doc])))
        if len(ranked) > SUMMARY_FILES:
            rest = ranked[SUMMARY_FILES:]
            rows.append((f"… {len(rest)} more files",
                         *(str(sum(self.by_file[d][s] for d in rest)) for s in SEVERITY_COLUMNS),
                         str(sum(self.skips[d] for d in rest))))
        totals = Counter()
        for counts in self.by_file.values():
            totals.update(counts)
        files = f"{self.files_done} file" + ("" if self.files_done == 1 else "s")
        rows.append((f"total ({files})", *(str(totals[s]) for s in SEVERITY_COLUMNS),
                     str(sum(self.skips.values()))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        out = []
        for i, row in enumerate(rows):
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
            out.append("  ".join(cells).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        return out


class InspectProgress:
    """The live line on a terminal (rich), a plain line every ``interval`` seconds otherwise."""

    def __init__(self, tally: InspectTally, stream: TextIO | None = None, interval: float = 15.0,
                 live: bool | None = None):
        self.tally = tally
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self._last_print = time.monotonic()
        self._status: Any = None

    def update(self) -> None:
        if self.live:
            if self._status is None:
                from rich.console import Console  # noqa: PLC0415

                self._status = Console(file=self.stream, highlight=False).status("")
                self._status.start()
            self._status.update(self.tally.line(), spinner="dots")
            return
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            print(self.tally.line(), file=self.stream, flush=True)

    def stop(self) -> None:
        """Stop the live line (safe to call twice)."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    def print_summary(self) -> None:
        """The summary table by file and severity."""
        print("\n".join(self.tally.summary_lines()), file=self.stream, flush=True)
