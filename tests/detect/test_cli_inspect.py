"""``vigil inspect``: JSONL shape, table output, skips, exit codes."""

from __future__ import annotations

import importlib
import io
import json
import zipfile

import pytest
from typer.testing import CliRunner

from vigil.cli import COMMAND_MODULES
from vigil.cli.app import app

for _name in COMMAND_MODULES:  # as vigil.cli.main does: every module registers its commands
    importlib.import_module(f"vigil.cli.{_name}")

REQUIRED = {"doc", "locator", "start", "end", "infotype", "detector", "likelihood", "severity", "masked"}


@pytest.fixture()
def env(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("VIGIL_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("VIGIL_FINGERPRINT_KEY", raising=False)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, ["inspect", *args])


def test_jsonl_one_object_per_finding(env):
    doc = env / "notes.txt"
    doc.write_text("hello\nmy SSN is 839-41-5573\ntoken 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\n")
    result = run(str(doc))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["infotype"] for r in records] == ["US_SOCIAL_SECURITY_NUMBER", "GITHUB_TOKEN"]
    for r in records:
        assert REQUIRED <= set(r) and r["doc"] == str(doc)
    assert [r["locator"] for r in records] == ["line:2", "line:3"]
    assert "839-41-5573" not in result.stdout and "fO2fQRVY" not in result.stdout
    assert records[0]["masked"] == "***-**-5573"


def test_no_findings_still_exits_zero_and_min_likelihood_filters(env):
    doc = env / "plain.txt"
    doc.write_text("nothing to see here\nkey AKIASSRRXQQM4PLPPJSM\n")
    assert run(str(doc)).stdout.count("\n") == 1
    result = run(str(doc), "--min-likelihood", "VERY_LIKELY")
    assert result.exit_code == 0 and result.stdout == ""


def test_archive_members_and_skips_are_reported(env):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes/config.env", "DB_PASSWORD=Quartz#6249river\n")
        z.writestr("broken.zip", b"PK\x03\x04garbage")
    (env / "bundle.zip").write_bytes(buf.getvalue())
    (env / "blob.bin").write_bytes(b"\x00\x01garbage\xff" * 10)
    result = run(str(env / "bundle.zip"), str(env / "blob.bin"))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"doc": str(env / "bundle.zip"), "locator": "broken.zip", "skipped": "corrupt"} in records
    assert any(r.get("infotype") == "PASSWORD" and r["locator"] == "notes/config.env#line:1" for r in records)
    assert any(r["doc"] == str(env / "blob.bin") and "skipped" in r for r in records)


def test_folders_table_format_and_custom_rules(env):
    folder = env / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("employee EMP-123456\n")
    rules = env / "rules.yaml"
    rules.write_text("detectors:\n  - id: acme-employee-id\n    infotype: ACME_EMPLOYEE_ID\n"
                     "    pattern: '\\bEMP-\\d{6}\\b'\n")
    result = run(str(folder), "--rules", str(rules), "--format", "table")
    assert result.exit_code == 0, result.output
    assert "ACME_EMPLOYEE_ID" in result.stdout and "a.txt" in result.stdout


def test_missing_path_and_bad_options_exit_non_zero(env):
    result = run(str(env / "nope.txt"))
    assert result.exit_code == 2 and "no such file" in result.output
    doc = env / "x.txt"
    doc.write_text("x")
    assert run(str(doc), "--format", "xml").exit_code == 2
    assert run(str(doc), "--min-likelihood", "SURE").exit_code == 2
    assert run(str(doc), "--rules", str(env / "missing.yaml")).exit_code == 2
