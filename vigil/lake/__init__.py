"""The Parquet lake: schemas, deterministic ids, atomic landing, DuckDB views, compaction,
the coverage ledger and checkpoints. See docs/schema.md.

In a notebook: ``con = vigil.lake.open("acme")`` (a saved connector, a folder or a URL) gives a
DuckDB connection with the views; ``vigil.lake.frame(sql, "acme")`` a pandas DataFrame.

Typical use by a scan::

    lake = Lake(cfg.lake.root, compact_threshold=cfg.lake.compact_threshold)
    ledger = lake.ledger()                       # once per run
    state = lake.forward_checkpoints()
    cursor = state.load().get("chats_after_id")
    ...                                          # fetch a page, skip ledger.inspected(...) objects
    lake.land({"findings": f, "chat_events": e, "objects": o}, ledger=ledger)
    state.update(chats_after_id=page.cursor)     # only after land() returned
"""

from vigil.lake.access import frame, open, resolve  # noqa: A004 - vigil.lake.open is the notebook API
from vigil.lake.compaction import CompactionResult
from vigil.lake.ids import chat_event_id, finding_id, object_key, stable_id
from vigil.lake.lake import DEFAULT_COMPACT_THRESHOLD, DEFAULT_ROOT, Lake
from vigil.lake.ledger import Ledger, LedgerEntry
from vigil.lake.rows import activity_row
from vigil.lake.schemas import TABLES, TableSpec
from vigil.lake.state import CheckpointError, CheckpointStore, historical_namespace
from vigil.lake.storage import LakeStorage
from vigil.lake.writer import LakeSchemaError, LandResult

__all__ = [
    "TABLES", "CheckpointError", "CheckpointStore", "CompactionResult", "DEFAULT_COMPACT_THRESHOLD",
    "DEFAULT_ROOT", "Lake", "LakeSchemaError", "LakeStorage", "LandResult", "Ledger", "LedgerEntry",
    "TableSpec", "activity_row", "chat_event_id", "finding_id", "historical_namespace", "object_key",
    "stable_id", "open", "frame", "resolve",
]
