"""The coverage ledger in memory: "was this object version already inspected?"

Loaded once per run from the deduplicated ``objects`` view (one DuckDB query), then kept up to
date by ``Lake.land`` as batches land. The lake is the only source of truth: there is no
separate state file that could disagree with it after a crash. Because ``objects`` rows are
landed last in each batch, an object is in the ledger only when everything derived from it
(findings, chat events) is durable; a crash before that makes the next run inspect it again,
and deterministic ids make that replay invisible in SQL.

Memory: one 32-character key per object plus a shared status tuple, roughly 120 bytes per
object (about 25 MB for 200,000 objects).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from vigil.lake.ids import object_key


@dataclass(frozen=True)
class LedgerEntry:
    """The latest ledger verdict for one object version."""

    status: str  # "scanned" | "skipped"
    reason: str | None


class Ledger:
    """In-memory index of the ``objects`` table keyed by (object_kind, object_id, object_version)."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        self._shared: dict[tuple[str, str | None], LedgerEntry] = {}

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, kinds: Iterable[str] | None = None) -> "Ledger":
        """Read every ledger key (optionally only some object kinds) from the ``objects`` view."""
        ledger = cls()
        sql = "SELECT object_key, status, reason FROM objects"
        params: list[Any] = []
        if kinds is not None:
            sql += " WHERE list_contains(?, object_kind)"
            params.append(list(kinds))
        reader = con.sql(sql, params=params or None).to_arrow_reader(100_000)
        for batch in reader:
            cols = batch.to_pydict()
            for key, status, reason in zip(cols["object_key"], cols["status"], cols["reason"]):
                ledger._put(key, status, reason)
        return ledger

    def _put(self, key: str, status: str, reason: str | None) -> None:
        entry = self._shared.get((status, reason))
        if entry is None:
            entry = self._shared[(status, reason)] = LedgerEntry(status, reason)
        self._entries[key] = entry

    def get(self, object_kind: str, object_id: str, object_version: str | None = None) -> LedgerEntry | None:
        """The ledger entry of an object version, or None when it was never landed."""
        return self._entries.get(object_key(object_kind, object_id, object_version))

    def inspected(self, object_kind: str, object_id: str, object_version: str | None = None) -> bool:
        """True when the object version has a ledger row (scanned, or skipped with a reason)."""
        return object_key(object_kind, object_id, object_version) in self._entries

    def record(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add landed ``objects`` rows (called by ``Lake.land`` after the files are durable)."""
        for row in rows:
            key = row.get("object_key") or object_key(row["object_kind"], row["object_id"],
                                                      row.get("object_version"))
            self._put(key, row["status"], row.get("reason"))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: tuple[str, str, str | None]) -> bool:
        return self.inspected(*key)
