"""The ``Lake``: one object for landing batches, querying, compacting and checkpointing."""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from vigil.lake import compaction, view_cache, views
from vigil.lake.compaction import CompactionResult
from vigil.lake.ledger import DEFAULT_MAX_ATTEMPTS, Ledger
from vigil.lake.schemas import TABLES
from vigil.lake.state import (FORWARD, STATE_DIR, CheckpointStore, historical_namespace, list_namespaces,
                              org_namespace)
from vigil.lake.storage import LakeStorage
from vigil.lake.writer import LandResult, Rows, land_batch

log = logging.getLogger(__name__)

DEFAULT_ROOT = "data"
DEFAULT_COMPACT_THRESHOLD = 32


class Lake:
    """Parquet tables under ``root`` (a local path or any fsspec URL such as ``s3://b/prefix``).

    ``compact_threshold``: after a batch lands, any partition it touched that holds more than
    this many files is compacted (0 disables automatic compaction).
    ``storage_options`` go to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}`` for S3).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = DEFAULT_ROOT,
        *,
        storage_options: dict[str, Any] | None = None,
        compact_threshold: int = DEFAULT_COMPACT_THRESHOLD,
    ):
        if compact_threshold < 0:
            raise ValueError("compact_threshold must be >= 0")
        self.storage = LakeStorage(root, storage_options)
        self.compact_threshold = compact_threshold

    def __repr__(self) -> str:
        return f"Lake({self.storage.root_url!r})"

    @property
    def root_url(self) -> str:
        return self.storage.root_url

    # -- writing -------------------------------------------------------------------------------
    def land(
        self,
        batch: Mapping[str, Rows],
        *,
        ledger: Ledger | None = None,
        landed_at: datetime | None = None,
        compact: bool = True,
    ) -> LandResult:
        """Land rows for several tables (``{"findings": [...], "objects": [...], ...}``).

        Returns once every file is durable; only then should the caller advance its cursor.
        ``ledger`` (if given) learns the landed ``objects`` rows. Replaying the same batch adds no
        row as SQL sees it. Then compacts touched partitions (see ``compact_if_needed``); a
        compaction failure is logged, not raised, since the batch itself is already durable.
        """
        batch = {name: (rows if isinstance(rows, pa.Table) else list(rows)) for name, rows in batch.items()}
        result = land_batch(self.storage, batch, landed_at)
        if ledger is not None and "objects" in result.rows:
            objects = batch["objects"]
            ledger.record(objects.to_pylist() if isinstance(objects, pa.Table) else objects)
        if compact and self.compact_threshold:
            try:
                self.compact_if_needed(list(result.files), current_partition=_partition_of(result))
            except Exception as exc:  # noqa: BLE001 - the batch is durable; compaction can wait
                log.warning("compaction after landing failed (%s: %s); will retry on a later batch",
                            type(exc).__name__, exc)
        return result

    def compact_if_needed(self, tables: Iterable[str], current_partition: str | None = None) -> list[CompactionResult]:
        """Compact partitions of ``tables`` that hold more than ``compact_threshold`` files.

        Partitions before ``current_partition`` (``dt=...`` of the batch just landed) are
        finished — nothing lands in a past day — so they are compacted as soon as they hold two
        files: a long-running forward scan leaves one file per table and day.
        """
        results = []
        for table in tables:
            for partition, files in compaction.partition_files(self.storage, table).items():
                finished = current_partition is not None and partition < current_partition
                if len(files) > self.compact_threshold or (finished and len(files) > 1):
                    res = compaction.compact_partition(self.storage, TABLES[table], files)
                    log.info("compacted %s/%s: %d files -> 1 (%d rows)", res.table, res.partition,
                             res.files_before, res.rows_kept)
                    results.append(res)
        return results

    def compact(self, tables: list[str] | None = None, min_files: int = 2) -> list[CompactionResult]:
        """Compact every partition (of ``tables``, default all) with at least ``min_files`` files."""
        return compaction.compact(self.storage, tables, min_files)

    # -- reading -------------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with a view per table (see ``vigil.lake.views``)."""
        return views.connect(self.storage)

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run ``sql`` against the views and return an Arrow table.

        A query that races a compaction can find a listed file already deleted; it is retried
        once on a fresh listing.
        """
        for attempt in (1, 2):
            try:
                with view_cache.cursor(self.storage) as con:
                    return con.sql(sql, params=params).to_arrow_table()
            except duckdb.IOException:
                view_cache.forget(self.storage)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def ledger(self, kinds: Iterable[str] | None = None, run_id: str | None = None,
               max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Ledger:
        """Load the coverage ledger once (one query); keep it for the run ``run_id``."""
        with view_cache.cursor(self.storage) as con:
            return Ledger.load(con, kinds, run_id=run_id, max_attempts=max_attempts)

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoints(self, namespace: str, org_id: str | None = None) -> CheckpointStore:
        """The checkpoint store of ``namespace`` (``forward`` or ``historical/<run_key>``), in
        the folder of organization ``org_id`` when given."""
        return CheckpointStore(self.storage, namespace, org_id)

    def forward_checkpoints(self) -> CheckpointStore:
        """Cursors of the forward scan."""
        return CheckpointStore(self.storage, FORWARD)

    def historical_checkpoints(self, run_key: str) -> CheckpointStore:
        """Progress of one historical run; independent of the forward cursors."""
        return CheckpointStore(self.storage, historical_namespace(run_key))

    def checkpoint_namespaces(self, prefix: str = "", org_id: str | None = None) -> list[str]:
        """Namespaces that have a saved checkpoint (of organization ``org_id``, relative to its
        folder, when given)."""
        if not org_id:
            return list_namespaces(self.storage, prefix)
        own = list_namespaces(self.storage, org_namespace(org_id, prefix))
        return [ns[len(org_id) + 1:] for ns in own]

    # -- deletion ------------------------------------------------------------------------------
    def purge(self, tables_only: bool = False) -> list[str]:
        """Delete every table and checkpoint (or, ``tables_only``, every table) of this lake.
        Irreversible.

        Only vigil's own directories (one per table, ``_state`` and ``_leases``) are removed,
        never other files that happen to share the root. Returns the directories that existed.
        """
        from vigil.lake.lease import LEASE_DIR  # noqa: PLC0415 - lease imports storage helpers

        removed = []
        for name in [*TABLES] + ([] if tables_only else [STATE_DIR, LEASE_DIR]):
            if self.storage.remove_tree(self.storage.path(name)):
                removed.append(name)
        return removed


def _partition_of(result: LandResult) -> str | None:
    """``dt=YYYY-MM-DD`` directory name of a landed batch."""
    for path in result.files.values():
        return posixpath.basename(posixpath.dirname(path))
    return None
