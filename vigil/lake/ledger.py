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

Memory: the settled entries loaded at the start of a run are two NumPy arrays, 9 bytes per
object (the first 64 bits of its key, sorted, and a one-byte code of its status and reason), so
a run's memory does not grow with the organization's history (7 MB for 750,000 objects; a Python
dict took ~120 bytes each). Entries landed during the run and retryable skips (few) live in a
dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def _key64(key: str) -> int:
    """The first 64 bits of an object key (a SHA-256 hex digest): its compact form."""
    return int(key[:16], 16)


class Ledger:
    """Index of the ``objects`` table keyed by (object_kind, object_id, object_version).

    ``run_id`` is the current run: a retryable skip landed by this run is settled for it.
    """

    def __init__(self, run_id: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.run_id = run_id
        self.max_attempts = max_attempts
        self._entries: dict[str, LedgerEntry] = {}
        self._shared: dict[tuple[str, str | None], LedgerEntry] = {}
        self._base_keys = np.empty(0, dtype=np.uint64)  # sorted
        self._base_codes = np.empty(0, dtype=np.uint8)
        self._codes: list[LedgerEntry] = []

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, kinds: Iterable[str] | None = None,
             run_id: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> "Ledger":
        """Read every ledger key (optionally only some object kinds) from the ``objects`` view."""
        ledger = cls(run_id, max_attempts)
        retryable = sorted(RETRYABLE_REASONS)
        where = " WHERE list_contains(?, object_kind)" if kinds is not None else ""
        params: list[Any] = [list(kinds)] if kinds is not None else []
        # Settled entries: a 64-bit key and a code per (status, reason), batch by batch.
        settled = con.sql(
            "SELECT ('0x' || substr(object_key, 1, 16))::UBIGINT AS k, status, coalesce(reason, '') AS reason "
            f"FROM objects{where}", params=params or None).to_arrow_reader(200_000)
        keys, codes, index = [], [], {}
        for batch in settled:
            table = pa.Table.from_batches([batch])
            due = pc.and_(pc.equal(table["status"], "skipped"), pc.is_in(table["reason"], pa.array(retryable)))
            table = table.filter(pc.invert(due))
            pairs = pc.binary_join_element_wise(table["status"], table["reason"], "\x1f").dictionary_encode()
            chunk = pairs.combine_chunks()
            mapping = []
            for text in chunk.dictionary.to_pylist():
                if text not in index:
                    status, _, reason = text.partition("\x1f")
                    index[text] = len(ledger._codes)
                    ledger._codes.append(ledger._shared_entry(status, reason or None))
                mapping.append(index[text])
            keys.append(table["k"].to_numpy())
            codes.append(np.asarray(mapping, dtype=np.uint8)[chunk.indices.to_numpy(zero_copy_only=False)])
        if len(ledger._codes) > 255:
            raise ValueError("more than 255 (status, reason) pairs in the ledger")
        if keys:
            all_keys = np.concatenate(keys)
            order = np.argsort(all_keys, kind="stable")
            ledger._base_keys = all_keys[order]
            ledger._base_codes = np.concatenate(codes)[order]
        # Retryable skips keep their attempts and run (few rows).
        rows = con.sql(
            "SELECT object_key, status, reason, attempts, scan_run_id FROM objects "
            f"WHERE status = 'skipped' AND list_contains(?, reason){' AND list_contains(?, object_kind)' if kinds is not None else ''}",
            params=[retryable, *params]).fetchall()
        for key, status, reason, attempts, run in rows:
            ledger._put(key, status, reason, attempts, run)
        return ledger

    def _shared_entry(self, status: str, reason: str | None) -> LedgerEntry:
        entry = self._shared.get((status, reason))
        if entry is None:
            entry = self._shared[(status, reason)] = LedgerEntry(status, reason)
        return entry

    def _put(self, key: str, status: str, reason: str | None, attempts: int | None = None,
             run_id: str | None = None) -> None:
        if status == "skipped" and reason in RETRYABLE_REASONS:
            # Rare and individual: not shared, they carry their own attempt count and run.
            self._entries[key] = LedgerEntry(status, reason, attempts or 1, run_id)
            return
        self._entries[key] = self._shared_entry(status, reason)

    def _lookup(self, key: str) -> LedgerEntry | None:
        entry = self._entries.get(key)
        if entry is not None or not len(self._base_keys):
            return entry
        k = np.uint64(_key64(key))
        i = int(np.searchsorted(self._base_keys, k))
        if i < len(self._base_keys) and self._base_keys[i] == k:
            return self._codes[int(self._base_codes[i])]
        return None

    def get(self, object_kind: str, object_id: str, object_version: str | None = None) -> LedgerEntry | None:
        """The ledger entry of an object version, or None when it was never landed."""
        return self._lookup(object_key(object_kind, object_id, object_version))

    def inspected(self, object_kind: str, object_id: str, object_version: str | None = None) -> bool:
        """True when the object version needs no inspection in this run.

        That is: it was scanned, or skipped for a final reason, or skipped for a retryable
        reason that is settled (attempted ``max_attempts`` times, or already in this run).
        """
        entry = self._lookup(object_key(object_kind, object_id, object_version))
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
        return len(self._entries) + len(self._base_keys)

    def __contains__(self, key: tuple[str, str, str | None]) -> bool:
        return self.inspected(*key)
