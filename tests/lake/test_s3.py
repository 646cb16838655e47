"""The lake and evidence capture on S3 (moto server on loopback), queried through DuckDB."""

import pytest

from vigil.evidence import EvidenceStore
from vigil.lake import Lake, finding_id, object_key


def findings(n, obj="claude_file_1"):
    return [{"finding_id": finding_id("file", obj, "md5", f"page:{i}", "iban", 0, 22),
             "object_kind": "file", "object_id": obj, "object_version": "md5",
             "locator": f"page:{i}", "start": 0, "end": 22, "infotype": "IBAN_CODE",
             "detector": "iban", "masked": "DE89**************3000"} for i in range(n)]


def test_lake_on_s3_lands_queries_compacts_and_checkpoints(s3):
    bucket, options = s3
    lake = Lake(f"s3://{bucket}/vigil/lake", storage_options=options, compact_threshold=3)
    assert lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 0
    batch = {"findings": findings(10),
             "objects": [{"object_key": object_key("file", "claude_file_1", "md5"), "object_kind": "file",
                          "object_id": "claude_file_1", "object_version": "md5", "status": "scanned"}]}
    lake.land(batch)
    lake.land(batch)  # replay
    assert lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 10
    assert lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 20
    lake.land({"findings": findings(5, "claude_file_2")})
    lake.land({"findings": findings(5, "claude_file_3")})  # 4 files > threshold 3: compacted
    files = lake.storage.glob(lake.storage.path("findings", "dt=*", "*.parquet"))
    assert len(files) == 1 and files[0].rsplit("/", 1)[1].startswith("compact-")
    assert lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 20
    assert lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 20
    assert lake.ledger().inspected("file", "claude_file_1", "md5")

    fwd = lake.forward_checkpoints()
    fwd.update(chats_after_id="c9")
    lake.historical_checkpoints("run-a").update(page=4)
    assert Lake(f"s3://{bucket}/vigil/lake", storage_options=options).forward_checkpoints().load()["chats_after_id"] == "c9"
    assert lake.checkpoint_namespaces() == ["forward", "historical/run-a"]
    assert sorted(lake.purge()) == ["_state", "findings", "objects"]
    assert lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 0


def test_evidence_on_s3_is_stored_under_the_object_id(s3):
    bucket, options = s3
    store = EvidenceStore.from_target(f"s3://{bucket}/evidence", options)
    uri = store.capture("file", "claude_file_1", "md5abc", "../../secrets.xlsx", b"PK\x03\x04 data")
    assert uri == f"s3://{bucket}/evidence/file/claude_file_1/md5abc/secrets.xlsx"
    assert store.read(uri) == b"PK\x03\x04 data"
    again = store.capture("file", "claude_file_1", "md5abc", "../../secrets.xlsx", b"PK\x03\x04 data")
    assert again == uri and store.storage.glob(f"{bucket}/evidence/**") != []
    text_uri = store.capture_text("message", "claude_chat_msg_1", None, "my card is 4111 1111 1111 1111")
    assert text_uri.endswith("/message/claude_chat_msg_1/_/content.txt")
    assert store.read(text_uri).decode() == "my card is 4111 1111 1111 1111"


def test_evidence_local_and_none(tmp_path):
    assert EvidenceStore.from_target("none") is None and EvidenceStore.from_target("") is None
    store = EvidenceStore.from_target(str(tmp_path / "ev"))
    path = store.capture("project_document", "claude_proj_doc_1", "m5", "notes/../../x.txt", b"hello")
    assert path == str(tmp_path / "ev" / "project_document" / "claude_proj_doc_1" / "m5" / "notes_.._.._x.txt")
    assert (tmp_path / "ev").is_dir() and store.read(path) == b"hello"
    assert all(str(p).startswith(str(tmp_path / "ev")) for p in (tmp_path).rglob("*"))
    with pytest.raises(TypeError):
        store.capture("file", "f", None, "a", "text, not bytes")


def test_a_write_failing_midway_publishes_nothing_on_s3(s3):
    bucket, options = s3
    lake = Lake(f"s3://{bucket}/lake", storage_options=options)
    lake.forward_checkpoints().update(chats_after_id="c1")
    path = lake.forward_checkpoints().path

    def torn(f):
        f.write(b'{"chats_after_id": "c2"')
        raise OSError("connection reset")

    with pytest.raises(OSError):
        lake.storage.write_atomic(path, torn)
    with pytest.raises(OSError):
        lake.storage.write_atomic(lake.storage.path("findings", "dt=2026-11-27", "part-x.parquet"), torn)
    assert lake.forward_checkpoints().load()["chats_after_id"] == "c1"
    assert lake.storage.glob(lake.storage.path("findings", "**")) == []
    assert lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 0


def test_vigil_sql_on_an_s3_lake(s3, s3_endpoint, monkeypatch):
    import json

    from typer.testing import CliRunner

    import vigil.cli.sql  # noqa: F401 - registers the command
    from vigil.cli.app import app

    bucket, options = s3
    Lake(f"s3://{bucket}/lake", storage_options=options).land({"findings": findings(3)})
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # how a user points s3fs at their endpoint
    res = CliRunner().invoke(app, ["sql", "SELECT count(*) AS n, any_value(infotype) AS t FROM findings",
                                   "--lake", f"s3://{bucket}/lake", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == [{"n": 3, "t": "IBAN_CODE"}]
