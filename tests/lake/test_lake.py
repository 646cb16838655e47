"""The lake: schemas, ids, exactly-once landing, compaction, crash safety, ledger, checkpoints."""

import glob
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigil.lake import (
    TABLES,
    CheckpointStore,
    Lake,
    LakeSchemaError,
    activity_row,
    chat_event_id,
    finding_id,
    object_key,
)
from vigil.lake import writer as writer_mod
from vigil.lake.storage import LakeStorage

EXAMPLES = Path("/work/shared/compliance-api/examples")


def finding(i: int, obj: str = "msg_1", **extra) -> dict:
    row = {
        "finding_id": finding_id("message", obj, None, f"text:{i % 3}", "email", i, i + 10),
        "object_kind": "message", "object_id": obj, "object_version": None,
        "locator": f"text:{i % 3}", "start": i, "end": i + 10, "detector": "email",
        "infotype": "EMAIL_ADDRESS", "severity": "medium", "masked": "a***@example.com",
        "chat_id": "claude_chat_1", "user_email": "a@example.com",
        "event_time": "2026-11-01T10:00:00Z", "scanned_at": datetime(2026, 11, 27, tzinfo=timezone.utc),
        "scan_run_id": "run-1",
    }
    row.update(extra)
    return row


def ledger_row(obj: str, status: str = "scanned", reason=None, kind="message", version=None) -> dict:
    return {"object_key": object_key(kind, obj, version), "object_kind": kind, "object_id": obj,
            "object_version": version, "status": status, "reason": reason, "bytes": 10}


def count(lake: Lake, sql: str) -> int:
    return lake.query(sql).column(0)[0].as_py()


def data_files(root, table: str) -> list[str]:
    return glob.glob(os.path.join(root, table, "dt=*", "*.parquet"))


# -- schemas and ids ---------------------------------------------------------------------------
def test_every_table_has_id_and_landed_at_and_empty_views_are_typed(tmp_path):
    lake = Lake(tmp_path / "lake")
    con = lake.connect()
    for name, spec in TABLES.items():
        assert spec.id_column in spec.schema.names
        assert spec.schema.field("landed_at").type == pa.timestamp("us", tz="UTC")
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0
        described = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        assert list(described) == spec.view_schema().names
        assert described["dt"] == "DATE"
    assert {r[0]: r[1] for r in con.execute("DESCRIBE findings").fetchall()}["start"] == "BIGINT"
    assert TABLES["findings"].schema.field("event_time").type == pa.timestamp("us", tz="UTC")


def test_findings_schema_holds_the_chat_event_metadata():
    names = set(TABLES["findings"].schema.names)
    for col in ("org_id chat_id chat_title message_id author_role model file_id file_name project_id "
                "project_name user_id user_email object_kind object_id object_version locator start "
                "end infotype detector likelihood severity masked fingerprint context event_time "
                "scanned_at scan_run_id").split():
        assert col in names


def test_ids_are_deterministic_and_sensitive_to_every_field():
    base = ("file", "claude_file_1", "md5a", "page:1", "credit_card", 5, 21)
    fid = finding_id(*base)
    assert fid == finding_id(*base) and len(fid) == 32 and int(fid, 16) >= 0
    variants = {finding_id(*(base[:i] + (str(base[i]) + "x" if isinstance(base[i], str) else base[i] + 1,)
                             + base[i + 1:])) for i in range(len(base))}
    assert fid not in variants and len(variants) == len(base)
    assert object_key("message", "m", None) == object_key("message", "m", "")
    assert object_key("file", "f", "v1") != object_key("file", "f", "v2")
    assert chat_event_id("message", "c", "m") != chat_event_id("file", "c", "m", "f")
    # field boundaries matter: ("ab","c") must not collide with ("a","bc")
    assert object_key("ab", "c", None) != object_key("a", "bc", None)


# -- exactly once ------------------------------------------------------------------------------
def test_replaying_a_batch_adds_no_rows_as_seen_from_sql(tmp_path):
    lake = Lake(tmp_path, compact_threshold=0)
    act = json.loads((EXAMPLES / "activities_list.json").read_text())["data"]
    batch = {
        "findings": [finding(i) for i in range(50)],
        "chat_events": [{"event_id": chat_event_id("message", "c1", f"m{i}"), "event_kind": "message",
                         "chat_id": "c1", "message_id": f"m{i}", "findings_count": 1} for i in range(7)],
        "activities": [activity_row(a, "run-1") for a in act],
        "scan_runs": [{"scan_run_id": "run-1", "run_type": "forward", "status": "running"}],
        "objects": [ledger_row("msg_1")],
    }
    lake.land(batch)
    before = {t: count(lake, f"SELECT count(*) FROM {t}") for t in TABLES}
    assert before == {"findings": 50, "chat_events": 7, "activities": len(act), "scan_runs": 1, "objects": 1,
                      **{t: 0 for t in TABLES if t not in batch}}  # incident and alert tables
    lake.land(batch)
    lake.land(batch)
    assert {t: count(lake, f"SELECT count(*) FROM {t}") for t in TABLES} == before
    assert count(lake, "SELECT count(*) FROM findings_all") == 150
    assert count(lake, "SELECT count(DISTINCT finding_id) FROM findings") == 50


def test_latest_copy_of_an_id_wins(tmp_path):
    lake = Lake(tmp_path, compact_threshold=0)
    t0 = datetime(2026, 11, 27, 10, tzinfo=timezone.utc)
    lake.land({"scan_runs": [{"scan_run_id": "r", "status": "running"}]}, landed_at=t0)
    lake.land({"scan_runs": [{"scan_run_id": "r", "status": "completed", "findings_count": 3}]},
              landed_at=t0 + timedelta(minutes=5))
    assert lake.query("SELECT status, findings_count FROM scan_runs").to_pylist() == [
        {"status": "completed", "findings_count": 3}]


def test_duplicate_ids_within_one_batch_land_once(tmp_path):
    lake = Lake(tmp_path)
    lake.land({"findings": [finding(1, severity="low"), finding(1, severity="high")]})
    assert lake.query("SELECT severity FROM findings_all").to_pylist() == [{"severity": "high"}]


def test_partition_is_the_landing_date(tmp_path):
    lake = Lake(tmp_path)
    lake.land({"findings": [finding(1)]}, landed_at=datetime(2026, 1, 2, 23, 59, tzinfo=timezone.utc))
    assert [Path(p).parent.name for p in data_files(tmp_path, "findings")] == ["dt=2026-01-02"]
    assert str(lake.query("SELECT dt FROM findings").column(0)[0].as_py()) == "2026-01-02"


# -- bad input ---------------------------------------------------------------------------------
def test_bad_rows_name_table_and_column_and_land_nothing(tmp_path):
    lake = Lake(tmp_path)
    secret = "4111111111111111"
    with pytest.raises(LakeSchemaError, match=r"findings: unknown column\(s\) raw_value"):
        lake.land({"findings": [finding(1, raw_value=secret)]})
    with pytest.raises(LakeSchemaError, match=r"objects\.object_key: missing"):
        lake.land({"findings": [finding(2)], "objects": [{"object_kind": "message", "object_id": "x"}]})
    with pytest.raises(LakeSchemaError, match=r"findings\.start: values do not fit type int64") as exc:
        lake.land({"findings": [finding(3, start=secret + "x")]})
    assert secret not in str(exc.value)
    with pytest.raises(LakeSchemaError, match=r"findings\.event_time"):
        lake.land({"findings": [finding(4, event_time="yesterday")]})
    with pytest.raises(LakeSchemaError, match="unknown table"):
        lake.land({"finding": []})
    assert not list(Path(tmp_path).rglob("*.parquet"))


# -- crash safety ------------------------------------------------------------------------------
def test_crash_between_write_and_rename_leaves_no_visible_data(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    lake.land({"findings": [finding(0)]})

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        lake.land({"findings": [finding(i) for i in range(1, 40)]})
    monkeypatch.undo()
    # A process killed at that moment leaves its hidden temporary file behind; add a torn one too.
    part = Path(data_files(tmp_path, "findings")[0]).parent
    (part / ".part-x.parquet.1234.tmp").write_bytes(b"PAR1 torn")
    assert count(lake, "SELECT count(*) FROM findings") == 1
    assert not [p for p in part.iterdir() if p.name.endswith(".tmp") and "torn" not in p.read_text(errors="ignore")]


def test_crash_before_the_ledger_lands_makes_the_object_reinspected_without_duplicates(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    ledger = lake.ledger()
    batch = {"findings": [finding(i) for i in range(5)], "objects": [ledger_row("msg_1")]}
    real = writer_mod.write_parquet

    def fail_on_objects(storage, path, table):
        if "/objects/" in path:
            raise OSError("killed")
        real(storage, path, table)

    monkeypatch.setattr(writer_mod, "write_parquet", fail_on_objects)
    with pytest.raises(OSError):
        lake.land(batch, ledger=ledger)
    monkeypatch.undo()
    assert not ledger.inspected("message", "msg_1")
    assert not lake.ledger().inspected("message", "msg_1")
    lake.land(batch, ledger=ledger)  # the rerun replays the object
    assert ledger.inspected("message", "msg_1") and lake.ledger().inspected("message", "msg_1")
    assert count(lake, "SELECT count(*) FROM findings") == 5


# -- compaction --------------------------------------------------------------------------------
def test_compaction_keeps_each_id_once_and_reduces_files(tmp_path):
    lake = Lake(tmp_path, compact_threshold=0)
    for k in range(6):
        lake.land({"findings": [finding(i) for i in range(k * 10, k * 10 + 20)],
                   "objects": [ledger_row(f"o{k}")]})
    assert len(data_files(tmp_path, "findings")) == 6
    before = lake.query("SELECT finding_id, landed_at FROM findings ORDER BY finding_id").to_pylist()
    results = lake.compact()
    assert {r.table for r in results} == {"findings", "objects"}
    assert len(data_files(tmp_path, "findings")) == 1 and len(data_files(tmp_path, "objects")) == 1
    assert count(lake, "SELECT count(*) FROM findings_all") == 70  # duplicates gone from the files
    assert lake.query("SELECT finding_id, landed_at FROM findings ORDER BY finding_id").to_pylist() == before
    merged = pq.read_schema(data_files(tmp_path, "findings")[0])
    assert merged.equals(TABLES["findings"].schema, check_metadata=False)
    assert lake.compact() == []  # nothing left to merge


def test_readers_see_each_id_exactly_once_while_compaction_runs(tmp_path, monkeypatch):
    lake = Lake(tmp_path, compact_threshold=0)
    for k in range(4):
        lake.land({"findings": [finding(i) for i in range(k * 5, k * 5 + 10)]})
    seen = []
    real_remove = LakeStorage.remove

    def remove_after_looking(self, paths):
        seen.append((count(lake, "SELECT count(*) FROM findings"),
                     count(lake, "SELECT count(DISTINCT finding_id) FROM findings")))
        real_remove(self, paths[:1])  # look again halfway through the deletions
        seen.append((count(lake, "SELECT count(*) FROM findings"),
                     count(lake, "SELECT count(DISTINCT finding_id) FROM findings")))
        real_remove(self, paths[1:])

    monkeypatch.setattr(LakeStorage, "remove", remove_after_looking)
    lake.compact(["findings"])
    monkeypatch.undo()
    assert seen == [(25, 25), (25, 25)]
    assert count(lake, "SELECT count(*) FROM findings") == 25


def test_compaction_triggers_automatically_above_the_threshold(tmp_path):
    lake = Lake(tmp_path, compact_threshold=4)
    for k in range(4):
        lake.land({"findings": [finding(k)]})
    assert len(data_files(tmp_path, "findings")) == 4
    lake.land({"findings": [finding(4)]})
    assert len(data_files(tmp_path, "findings")) == 1
    for k in range(5, 12):
        lake.land({"findings": [finding(k)]})
        assert len(data_files(tmp_path, "findings")) <= 4
    assert count(lake, "SELECT count(*) FROM findings") == 12


def test_finished_days_are_compacted_once_the_next_day_lands(tmp_path):
    lake = Lake(tmp_path, compact_threshold=10)
    day1 = datetime(2026, 11, 26, 23, 0, tzinfo=timezone.utc)
    for k in range(3):
        lake.land({"findings": [finding(k)], "objects": [ledger_row(f"o{k}")]}, landed_at=day1 + timedelta(minutes=k))
    assert len(data_files(tmp_path, "findings")) == 3
    lake.land({"findings": [finding(9)]}, landed_at=day1 + timedelta(hours=2))
    parts = sorted(Path(p).parent.name for p in data_files(tmp_path, "findings"))
    assert parts == ["dt=2026-11-26", "dt=2026-11-27"]
    assert len(data_files(tmp_path, "objects")) == 3  # only tables the new batch touched
    assert count(lake, "SELECT count(*) FROM findings") == 4


def test_a_failing_compaction_does_not_fail_the_landed_batch(tmp_path, monkeypatch, caplog):
    from vigil.lake import compaction

    lake = Lake(tmp_path, compact_threshold=1)

    def broken(*args, **kwargs):
        raise OSError("bucket unavailable")

    monkeypatch.setattr(compaction, "compact_partition", broken)
    lake.land({"findings": [finding(1)]})
    result = lake.land({"findings": [finding(2)]})
    assert result.rows == {"findings": 1}
    assert "compaction after landing failed (OSError: bucket unavailable)" in caplog.text
    assert count(lake, "SELECT count(*) FROM findings") == 2


def test_concurrent_landing_compaction_and_reading_never_show_a_duplicate(tmp_path):
    import threading

    import duckdb

    lake = Lake(tmp_path, compact_threshold=3)
    errors, reads = [], []
    stop = threading.Event()

    def writer(w):
        try:
            for k in range(8):  # overlapping ids across writers: replays of each other's rows
                lake.land({"findings": [finding(i) for i in range(k * 3, k * 3 + 6)]})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def reader():
        while not stop.is_set():
            try:
                total, distinct = lake.query(
                    "SELECT count(*), count(DISTINCT finding_id) FROM findings").to_pylist()[0].values()
            except duckdb.IOException:  # a file listed, then compacted away, twice in a row
                continue
            reads.append((total, distinct))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert not errors
    assert reads and all(total == distinct for total, distinct in reads)
    assert count(lake, "SELECT count(*) FROM findings") == 27
    lake.compact()
    assert count(lake, "SELECT count(*) FROM findings_all") == 27


# -- ledger ------------------------------------------------------------------------------------
def test_ledger_lookups_for_tens_of_thousands_of_objects(tmp_path):
    lake = Lake(tmp_path)
    rows = [ledger_row(f"claude_file_{i}", kind="file", version=f"md5-{i}") for i in range(20_000)]
    rows[7] = ledger_row("claude_file_7", status="skipped", reason="too_large", kind="file", version="md5-7")
    lake.land({"objects": rows[:12_000]})
    lake.land({"objects": rows[12_000:]})
    lake.land({"objects": [ledger_row("m1")]})
    ledger = lake.ledger()
    assert len(ledger) == 20_001
    assert all(ledger.inspected("file", f"claude_file_{i}", f"md5-{i}") for i in range(0, 20_000, 7))
    assert not ledger.inspected("file", "claude_file_3", "md5-other")  # same file, new content
    assert not ledger.inspected("message", "claude_file_3", "md5-3")
    assert ledger.get("file", "claude_file_7", "md5-7").reason == "too_large"
    assert ("message", "m1", None) in ledger
    only_messages = lake.ledger(kinds=["message"])
    assert len(only_messages) == 1


# -- checkpoints -------------------------------------------------------------------------------
def test_checkpoints_replace_atomically_and_namespaces_are_separate(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    fwd = lake.forward_checkpoints()
    assert fwd.load() == {}
    fwd.update(chats_after_id="c1", activities_before_id="a1")
    hist = lake.historical_checkpoints("days30-20261127")
    hist.update(chats_after_id="h9", done_pages=3)
    assert fwd.load()["chats_after_id"] == "c1" and hist.load()["chats_after_id"] == "h9"

    def torn_write(f):
        f.write(b'{"chats_after_id": "c2"')
        raise OSError("disk full")

    with pytest.raises(OSError):
        fwd.storage.write_atomic(fwd.path, torn_write)
    assert fwd.load()["chats_after_id"] == "c1"
    assert not [p for p in Path(tmp_path, "_state").rglob("*.tmp")]
    assert lake.checkpoint_namespaces() == ["forward", "historical/days30-20261127"]
    assert lake.checkpoint_namespaces("historical") == ["historical/days30-20261127"]
    with pytest.raises(ValueError):
        CheckpointStore(lake.storage, "../escape")


def test_activity_rows_keep_the_whole_record(tmp_path):
    acts = json.loads((EXAMPLES / "activities_list.json").read_text())["data"]
    lake = Lake(tmp_path)
    lake.land({"activities": [activity_row(a, "run-1") for a in acts]})
    rows = lake.query("SELECT * FROM activities ORDER BY created_at DESC").to_pylist()
    assert len(rows) == len(acts)
    by_id = {r["activity_id"]: r for r in rows}
    for a in acts:
        assert json.loads(by_id[a["id"]]["raw_json"]) == a
        assert by_id[a["id"]]["actor_type"] == a["actor"]["type"]
    assert count(lake, "SELECT count(*) FROM activities WHERE raw_json::JSON->>'type' = type") == len(acts)
