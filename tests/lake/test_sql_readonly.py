"""`vigil sql` opens the lake read-only, and prints cell text as text (issues 8 and 10)."""

from __future__ import annotations

import hashlib

import duckdb
import pytest
from typer.testing import CliRunner

from vigil.lake import Lake, finding_id
from vigil.lake.readonly import check_read_only, lock_down


def app():
    import vigil.cli.sql  # noqa: F401 - registers sql/compact
    from vigil.cli.app import app as typer_app

    return typer_app


TITLE = "[/] quarterly [red]numbers"
MASKED = "[sk-ant-…DoAA]"


def seed(lake: Lake, n: int = 3) -> None:
    lake.land({"findings": [
        {"finding_id": finding_id("message", f"m{i}", None, "text:0", "anthropic", 0, 40),
         "object_kind": "message", "object_id": f"m{i}", "chat_title": TITLE,
         "infotype": "ANTHROPIC_API_KEY", "severity": "critical", "masked": MASKED,
         "context": f"the key {MASKED} was pasted", "start": 0, "end": 40,
         "event_time": "2026-11-20T08:00:00Z"} for i in range(n)]})


def lake_digest(lake: Lake) -> dict[str, str]:
    """Every file under the lake root with a hash of its content."""
    files = lake.storage.glob(lake.storage.path("**"))
    return {f: hashlib.sha256(lake.storage.read_bytes(f) or b"").hexdigest()
            for f in files if not lake.storage.fs.isdir(f)}


@pytest.fixture
def local_lake(tmp_path):
    lake = Lake(str(tmp_path / "lake"), compact_threshold=0)
    seed(lake)
    return lake


def one_file(lake: Lake) -> str:
    return lake.storage.glob(lake.storage.path("findings", "dt=*", "*.parquet"))[0]


REFUSED = [
    "COPY (SELECT 1 AS finding_id) TO '{file}' (FORMAT parquet)",
    "COPY findings TO '{root}/out.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{file}' (FORMAT parquet)",
    "SELECT 1; COPY (SELECT 1) TO '{file}' (FORMAT parquet)",
    "ATTACH '{root}/evil.duckdb' AS evil",
    "DETACH memory",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs",
    "LOAD httpfs",
    "CREATE TABLE t AS SELECT * FROM findings",
    "CREATE VIEW v AS SELECT 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "INSERT INTO findings SELECT * FROM findings",
    "EXPORT DATABASE '{root}/export'",
    "IMPORT DATABASE '{root}/export'",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET threads",
    "PRAGMA enable_profiling",
    "PRAGMA profiling_output = '{root}/profile.json'",
    "CALL pragma_table_info('findings')",
    "CHECKPOINT",
    "UPDATE EXTENSIONS",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_writes_and_session_changes_are_refused(local_lake, statement):
    before = lake_digest(local_lake)
    sql = statement.format(file=one_file(local_lake), root=local_lake.storage.root)
    res = CliRunner().invoke(app(), ["sql", sql, "--lake", local_lake.root_url])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: vigil sql is read-only:"), res.stderr
    assert "Traceback" not in res.output
    assert lake_digest(local_lake) == before
    assert local_lake.query("SELECT count(*) FROM findings").column(0)[0].as_py() == 3


READS = [
    ("SELECT count(*) AS n FROM findings", "3"),
    ("FROM findings SELECT count(DISTINCT object_id) AS n", "3"),
    ("WITH f AS (SELECT * FROM findings) SELECT count(*) AS n FROM f WHERE severity = 'critical'", "3"),
    ("SELECT count(*) AS n FROM read_parquet('{root}/findings/*/*.parquet')", "3"),
    ("SELECT count(*) AS n FROM findings_all", "3"),
    ("DESCRIBE findings", "masked"),
    ("SHOW TABLES", "findings"),
    ("SHOW findings", "chat_title"),
    ("SUMMARIZE SELECT start FROM findings", "start"),
    ("PRAGMA table_info('findings')", "finding_id"),
    ("PRAGMA show_tables", "objects"),
    ("PRAGMA version", "v"),
    ("EXPLAIN SELECT * FROM findings", "physical_plan"),
    ("EXPLAIN ANALYZE SELECT count(*) FROM findings", "analyzed_plan"),
    ("PIVOT (SELECT severity, infotype FROM findings) ON severity USING count(*)", "critical"),
    ("SELECT 1 AS a; SELECT count(*) AS n FROM findings", "3"),
]


@pytest.mark.parametrize("query,expected", READS)
def test_reads_keep_working(local_lake, query, expected):
    res = CliRunner().invoke(app(), ["sql", query.format(root=local_lake.storage.root),
                                     "--lake", local_lake.root_url, "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert expected in res.stdout


def test_duckdb_itself_refuses_files_outside_the_lake_and_extensions(local_lake, tmp_path):
    """The connection lock holds even for a statement the parser check would let through."""
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    con = local_lake.connect()
    lock_down(con, local_lake.storage)
    assert con.execute("SELECT count(*) FROM findings").fetchone()[0] == 3
    for sql in (f"SELECT * FROM read_csv('{outside}')",
                f"COPY (SELECT 1) TO '{tmp_path / 'written.csv'}'",
                f"ATTACH '{tmp_path / 'x.duckdb'}'",
                "LOAD httpfs",
                "SET enable_external_access = true",
                "SET lock_configuration = false",
                "SET allowed_directories = ['/']"):
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    assert not (tmp_path / "written.csv").exists() and not (tmp_path / "x.duckdb").exists()
    con.close()


def test_reading_a_file_outside_the_lake_is_an_error_not_a_crash(local_lake, tmp_path):
    (tmp_path / "other.csv").write_text("a\n1\n")
    res = CliRunner().invoke(app(), ["sql", f"SELECT * FROM read_csv('{tmp_path / 'other.csv'}')",
                                     "--lake", local_lake.root_url])
    assert res.exit_code == 1 and "error:" in res.stderr and "Traceback" not in res.output


def test_an_empty_lake_is_still_queryable_when_locked(tmp_path):
    res = CliRunner().invoke(app(), ["sql", "SELECT count(*) AS n FROM findings", "--lake",
                                     str(tmp_path / "none"), "-f", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines() == ["n", "0"]


def test_read_only_on_s3(s3):
    bucket, options = s3
    lake = Lake(f"s3://{bucket}/lake", storage_options=options, compact_threshold=0)
    seed(lake)
    before = lake_digest(lake)
    con = lake.connect()
    lock_down(con, lake.storage)
    assert con.execute("SELECT count(*) FROM findings").fetchone()[0] == 3
    assert con.execute(f"SELECT count(*) FROM read_parquet('s3://{bucket}/lake/findings/*/*.parquet')"
                       ).fetchone()[0] == 3
    with pytest.raises(duckdb.Error):
        con.execute(f"COPY (SELECT 1) TO 's3://{bucket}/elsewhere/x.parquet'")
    con.close()
    target = "s3://" + one_file(lake)
    with pytest.raises(ValueError, match="read-only: COPY is refused"):
        check_read_only(f"COPY (SELECT 1) TO '{target}' (FORMAT parquet)")
    assert lake_digest(lake) == before


def test_the_sql_command_on_s3(s3, tmp_path):
    bucket, options = s3
    lake = Lake(f"s3://{bucket}/lake", storage_options=options, compact_threshold=0)
    seed(lake)
    endpoint = options["client_kwargs"]["endpoint_url"]
    cfg = tmp_path / "vigil.toml"
    cfg.write_text(f'[lake]\nroot = "s3://{bucket}/lake"\n'
                   f'[lake.storage_options]\nclient_kwargs = {{ endpoint_url = "{endpoint}" }}\n')
    runner = CliRunner()
    res = runner.invoke(app(), ["sql", "SELECT count(*) AS n FROM findings", "-c", str(cfg), "-f", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines() == ["n", "3"], res.output
    res = runner.invoke(app(), ["sql", f"COPY (SELECT 1) TO 's3://{one_file(lake)}'", "-c", str(cfg)])
    assert res.exit_code == 1 and res.stderr.startswith("error: vigil sql is read-only")


# -- table output: text stays text -------------------------------------------------------------
def run_table(lake: Lake, query: str, columns: int = 80) -> str:
    res = CliRunner(env={"COLUMNS": str(columns)}).invoke(app(), ["sql", query, "--lake", lake.root_url])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_markup_in_cells_is_printed_literally(local_lake):
    out = run_table(local_lake, "SELECT chat_title, masked FROM findings LIMIT 1", 120)
    assert TITLE in out and MASKED in out


def test_masked_values_stay_visible_inside_context(local_lake):
    out = run_table(local_lake, "SELECT context FROM findings LIMIT 1", 120)
    assert f"the key {MASKED} was pasted" in out


def test_headers_do_not_break_inside_a_word_at_80_columns(local_lake):
    columns = ["finding_id", "chat_title", "object_version", "severity", "masked", "context"]
    out = run_table(local_lake, f"SELECT {', '.join(columns)} FROM findings LIMIT 2")
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    header = next(line for line in lines if "finding_id" in line)
    assert all(c in header for c in columns), out


def test_too_many_columns_for_the_width_print_one_record_per_block(local_lake):
    out = run_table(local_lake, "SELECT * FROM findings ORDER BY object_id LIMIT 2")
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert sum(1 for line in lines if line.startswith("row ")) == 2
    for name in ("finding_id", "object_version", "scan_run_id", "landed_at"):
        assert any(line.split()[:1] == [name] for line in lines), name
    assert any(TITLE in line for line in lines) and out.rstrip().endswith("2 rows")
