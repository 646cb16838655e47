"""`vigil sql` output formats and `vigil compact`."""

import csv
import io
import json

from typer.testing import CliRunner

from vigil.lake import Lake, finding_id


def app():
    import vigil.cli.sql  # noqa: F401 - registers sql/compact
    from vigil.cli.app import app as typer_app

    return typer_app


def seed(root, batches=3):
    lake = Lake(root, compact_threshold=0)
    for b in range(batches):
        lake.land({"findings": [{"finding_id": finding_id("message", f"m{i}", None, "text:0", "ssn", 0, 11),
                                 "object_kind": "message", "object_id": f"m{i}", "infotype": "US_SOCIAL_SECURITY_NUMBER",
                                 "severity": "high", "masked": "***-**-6789", "start": 0, "end": 11,
                                 "event_time": "2026-11-20T08:00:00Z"} for i in range(b, b + 4)]})
    return lake


QUERY = "SELECT object_id, masked, event_time FROM findings ORDER BY object_id"


def test_sql_formats(tmp_path):
    seed(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app(), ["sql", QUERY, "--lake", str(tmp_path), "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["object_id"] for r in rows] == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert rows[0]["masked"] == "***-**-6789" and rows[0]["event_time"].startswith("2026-11-20T08:00:00")

    res = runner.invoke(app(), ["sql", QUERY, "--lake", str(tmp_path), "--format", "json"])
    data = json.loads(res.stdout)
    assert len(data) == 6 and data[0] == {"object_id": "m0", "masked": "***-**-6789",
                                          "event_time": "2026-11-20T08:00:00+00:00"}

    res = runner.invoke(app(), ["sql", "SELECT infotype, count(*) AS n FROM findings GROUP BY 1",
                                "--lake", str(tmp_path)])
    assert res.exit_code == 0
    assert "US_SOCIAL_SECURITY_NUMBER" in res.stdout and "│ 6 " in res.stdout and "1 row" in res.stdout


def test_sql_on_an_empty_lake_and_bad_sql(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app(), ["sql", "SELECT count(*) AS n FROM objects", "--lake", str(tmp_path / "new"),
                                "-f", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout) == [{"n": 0}]
    assert "no lake at" in res.stderr
    res = runner.invoke(app(), ["sql", "SELECT nope FROM findings", "--lake", str(tmp_path)])
    assert res.exit_code == 1 and "error:" in res.output and "nope" in res.output


def test_sql_reads_the_lake_from_the_config(tmp_path):
    seed(tmp_path / "lk", batches=1)
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(f"lake:\n  root: {tmp_path / 'lk'}\n")
    res = CliRunner().invoke(app(), ["sql", "SELECT count(*) AS n FROM findings", "-c", str(cfg), "-f", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines() == ["n", "4"]
    cfg.write_text("lake:\n  root: 3\n")
    res = CliRunner().invoke(app(), ["sql", "SELECT 1", "-c", str(cfg)])
    assert res.exit_code == 2 and "lake.root: expected a string" in res.output


def test_compact_command(tmp_path):
    lake = seed(tmp_path, batches=5)
    res = CliRunner().invoke(app(), ["compact", "--lake", str(tmp_path)])
    assert res.exit_code == 0 and "5 files -> 1 (8 rows)" in res.stdout
    assert lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == 8
    res = CliRunner().invoke(app(), ["compact", "--lake", str(tmp_path)])
    assert "nothing to compact" in res.stdout
    res = CliRunner().invoke(app(), ["compact", "--lake", str(tmp_path), "-t", "finding"])
    assert res.exit_code == 2
