"""The coverage ledger in memory: "was this object version already inspected?"

Loaded once per run from the deduplicated ``objects`` view (one DuckDB query), then kept up to
date by ``Lake.land`` as batches land. The lake is the only source of truth: there is no
separate state file that could disagree with it after a crash. Because ``objects`` rows are
landed last in each batch, an object is in the ledger only when everything derived from it
(findings, chat events) is durable; a crash before that makes the next run inspect it again,
and deterministic ids make that replay invisible in SQL.

An object skipped for a reason that can heal (``RETRYABLE_REASONS``: its download failed its
integrity check, or the API kept failing for that one object) is *due again* in later runs,
until it has been attempted ``max_attempts`` times; within the run that skipped it, it counts as
settled, so one bad file is tried once per run, not once per chat that references it.

Memory: one 32-character key per object plus a shared status tuple, roughly 120 bytes per
object (about 25 MB for 200,000 objects).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from vigil.lake.ids import object_key

# ``uploading``: a code-artifact version whose upload was still in flight (issue 12).
RETRYABLE_REASONS = frozenset({"integrity", "unavailable", "uploading"})
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class LedgerEntry:
    """The latest ledger verdict for one object version."""

    status: str  # "scanned" | "skipped"
    reason: str | None
    attempts: int = 1
    run_id: str | None = None  # the run that landed the verdict (retryable skips only)

    @property
    def retryable(self) -> bool:
        return self.status == "skipped" and self.reason in RETRYABLE_REASONS


class Ledger:
    """In-memory index of the ``objects`` table keyed by (object_kind, object_id, object_version).

    ``run_id`` is the current run: a retryable skip landed by this run is settled for it.
    """

    def __init__(self, run_id: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.run_id = run_id
        self.max_attempts = max_attempts
        self._entries: dict[str, LedgerEntry] = {}
        self._shared: dict[tuple[str, str | None], LedgerEntry] = {}

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, kinds: Iterable[str] | None = None,
             run_id: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> "Ledger":
        """Read every ledger key (optionally only some object kinds) from the ``objects`` view."""
        ledger = cls(run_id, max_attempts)
        sql = "SELECT object_key, status, reason, attempts, scan_run_id FROM objects"
        params: list[Any] = []
        if kinds is not None:
            sql += " WHERE list_contains(?, object_kind)"
            params.append(list(kinds))
        reader = con.sql(sql, params=params or None).to_arrow_reader(100_000)
        for batch in reader:
            cols = batch.to_pydict()
            for key, status, reason, attempts, run in zip(cols["object_key"], cols["status"], cols["reason"],
                                                          cols["attempts"], cols["scan_run_id"]):
                ledger._put(key, status, reason, attempts, run)
        return ledger

    def _put(self, key: str, status: str, reason: str | None, attempts: int | None = None,
             run_id: str | None = None) -> None:
        if status == "skipped" and reason in RETRYABLE_REASONS:
            # Rare and individual: not shared, they carry their own attempt count and run.
            self._entries[key] = LedgerEntry(status, reason, attempts or 1, run_id)
            return
        entry = self._shared.get((status, reason))
        if entry is None:
            entry = self._shared[(status, reason)] = LedgerEntry(status, reason)
        self._entries[key] = entry

    def get(self, object_kind: str, object_id: str, object_version: str | None = None) -> LedgerEntry | None:
        """The ledger entry of an object version, or None when it was never landed."""
        return self._entries.get(object_key(object_kind, object_id, object_version))

    def inspected(self, object_kind: str, object_id: str, object_version: str | None = None) -> bool:
        """True when the object version needs no inspection in this run.

        That is: it was scanned, or skipped for a final reason, or skipped for a retryable
        reason that is settled (attempted ``max_attempts`` times, or already in this run).
        """
        entry = self._entries.get(object_key(object_kind, object_id, object_version))
        return entry is not None and not self._due(entry)

    def _due(self, entry: LedgerEntry) -> bool:
        return (entry.retryable and entry.attempts < self.max_attempts
                and (self.run_id is None or entry.run_id != self.run_id))

    def next_attempt(self, object_kind: str, object_id: str, object_version: str | None = None) -> int:
        """The attempt number a new verdict for this object version would be."""
        entry = self.get(object_kind, object_id, object_version)
        return entry.attempts + 1 if entry is not None and entry.retryable else 1

    def record(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add landed ``objects`` rows (called by ``Lake.land`` after the files are durable)."""
        for row in rows:
            key = row.get("object_key") or object_key(row["object_kind"], row["object_id"],
                                                      row.get("object_version"))
            self._put(key, row["status"], row.get("reason"), row.get("attempts"), row.get("scan_run_id"))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: tuple[str, str, str | None]) -> bool:
        return self.inspected(*key)
