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

Memory: settled entries are two NumPy arrays, 9 bytes per object (the first 64 bits of its key,
sorted, and a one-byte code of its status and reason), so memory grows neither with the
organization's history nor with the run (7 MB for 750,000 objects; a Python dict took ~120-150
bytes each). Entries landed during the run wait in a small dict of 64-bit keys and are folded
into the arrays every ``FOLD_AT`` entries, the newest verdict winning; retryable skips (few, each
with its own attempt count and run) live in a dict keyed by the full object key.
"""

from __future__ import annotations

import threading
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
FOLD_AT = 32_768  # pending in-run entries folded into the sorted arrays at a time


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
        self._entries: dict[str, LedgerEntry] = {}  # retryable skips, by full object key
        self._shared: dict[tuple[str, str | None], LedgerEntry] = {}
        # (sorted 64-bit keys, codes): replaced as one tuple so a concurrent reader never pairs
        # new keys with old codes
        self._base: tuple[np.ndarray, np.ndarray] = (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint8))
        self._pending: dict[int, int] = {}  # landed during the run, not folded yet: key64 -> code
        self._codes: list[LedgerEntry] = []
        self._code_index: dict[tuple[str, str | None], int] = {}
        self._fold_lock = threading.Lock()

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
        keys, codes = [], []
        for batch in settled:
            table = pa.Table.from_batches([batch])
            due = pc.and_(pc.equal(table["status"], "skipped"), pc.is_in(table["reason"], pa.array(retryable)))
            table = table.filter(pc.invert(due))
            pairs = pc.binary_join_element_wise(table["status"], table["reason"], "\x1f").dictionary_encode()
            chunk = pairs.combine_chunks()
            mapping = []
            for text in chunk.dictionary.to_pylist():
                status, _, reason = text.partition("\x1f")
                mapping.append(ledger._code(status, reason or None))
            keys.append(table["k"].to_numpy())
            codes.append(np.asarray(mapping, dtype=np.uint8)[chunk.indices.to_numpy(zero_copy_only=False)])
        if keys:
            ledger._fold(np.concatenate(keys), np.concatenate(codes))
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

    def _code(self, status: str, reason: str | None) -> int:
        """The one-byte code of a (status, reason) pair, assigned on first use."""
        code = self._code_index.get((status, reason))
        if code is None:
            if len(self._codes) > 255:
                raise ValueError("more than 256 (status, reason) pairs in the ledger")
            code = self._code_index[(status, reason)] = len(self._codes)
            self._codes.append(self._shared_entry(status, reason))
        return code

    def _put(self, key: str, status: str, reason: str | None, attempts: int | None = None,
             run_id: str | None = None) -> None:
        if status == "skipped" and reason in RETRYABLE_REASONS:
            # Rare and individual: not shared, they carry their own attempt count and run.
            self._entries[key] = LedgerEntry(status, reason, attempts or 1, run_id)
            return
        self._entries.pop(key, None)
        self._pending[_key64(key)] = self._code(status, reason)
        if len(self._pending) >= FOLD_AT:
            self._fold_pending()

    def _fold_pending(self) -> None:
        with self._fold_lock:
            pending = self._pending
            if not pending:
                return
            keys = np.fromiter(pending.keys(), dtype=np.uint64, count=len(pending))
            codes = np.fromiter(pending.values(), dtype=np.uint8, count=len(pending))
            self._fold(keys, codes)
            self._pending = {}  # after the new arrays hold them: a reader finds each entry in one or the other

    def _fold(self, keys: np.ndarray, codes: np.ndarray) -> None:
        """Merge entries into the sorted arrays; on equal keys the later entry wins."""
        base_keys, base_codes = self._base
        all_keys = np.concatenate([base_keys, keys])
        all_codes = np.concatenate([base_codes, codes])
        order = np.argsort(all_keys, kind="stable")
        all_keys, all_codes = all_keys[order], all_codes[order]
        last = np.ones(len(all_keys), dtype=bool)
        last[:-1] = all_keys[1:] != all_keys[:-1]
        self._base = (all_keys[last], all_codes[last])

    def _lookup(self, key: str) -> LedgerEntry | None:
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        k = _key64(key)
        code = self._pending.get(k)
        if code is not None:
            return self._codes[code]
        base_keys, base_codes = self._base
        if not len(base_keys):
            return None
        k64 = np.uint64(k)
        i = int(np.searchsorted(base_keys, k64))
        if i < len(base_keys) and base_keys[i] == k64:
            return self._codes[int(base_codes[i])]
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
        """Distinct object versions with a verdict."""
        self._fold_pending()
        base_keys = self._base[0]
        extra = np.fromiter((_key64(k) for k in self._entries), dtype=np.uint64, count=len(self._entries))
        return len(base_keys) + int(np.count_nonzero(~np.isin(extra, base_keys)))

    def __contains__(self, key: tuple[str, str, str | None]) -> bool:
        return self.inspected(*key)
