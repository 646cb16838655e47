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


POSITION_DOCS = {
    # name: (content, {infotype: (planted value, locator, line, column)})
    "notes.txt": ("intro\n\nsecond paragraph\n  SSN 839-41-5573 here\n",
                  {"US_SOCIAL_SECURITY_NUMBER": ("839-41-5573", "line:4", 4, 7)}),
    "people.csv": ("id,name,social_security_number,passport_number,card_no\n"
                   "1000,Derek Ruiz,530702536,V45167089,62101069109732035\n",
                   {"US_SOCIAL_SECURITY_NUMBER": ("530702536", "line:2", 2, 17),
                    "CREDIT_CARD_NUMBER": ("62101069109732035", "line:2", 2, 37)}),
    "config.json": ('{\n  "users": [\n    {"name": "x", "ssn": "839-41-5573"}\n  ]\n}\n',
                    {"US_SOCIAL_SECURITY_NUMBER": ("839-41-5573", "json:$.users[0].ssn", 3, 27)}),
    "page.html": ("<html><body>\n<p>hello &amp; welcome</p>\n<p>token 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</p>\n"
                  "</body></html>\n",
                  {"GITHUB_TOKEN": ("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", "text", 3, 10)}),
}


@pytest.mark.parametrize("name", sorted(POSITION_DOCS))
def test_jsonl_positions_are_offsets_into_the_file_with_line_and_column(env, name):
    content, expected = POSITION_DOCS[name]
    doc = env / name
    doc.write_text(content)
    result = run(str(doc))
    assert result.exit_code == 0, result.output
    records = {r["infotype"]: r for r in map(json.loads, result.stdout.splitlines())}
    for infotype, (value, locator, line, column) in expected.items():
        r = records[infotype]
        assert content[r["start"]:r["end"]] == value
        assert (r["locator"], r["line"], r["column"]) == (locator, line, column)
        assert value not in result.stdout


def test_table_output_shows_the_line(env):
    doc = env / "notes.txt"
    doc.write_text("a\nb\nSSN 839-41-5573\n")
    result = run(str(doc), "--format", "table")
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:3] == ["doc", "locator", "line"]
    assert row.split()[1:3] == ["line:3", "3"]


def _folder(env):
    folder = env / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("my SSN is 839-41-5573\ntoken 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\n")
    (folder / "b.txt").write_text("nothing here\n")
    (folder / "c.zip").write_bytes(b"PK\x03\x04garbage")
    return folder


def test_summary_by_file_and_severity_goes_to_stderr(env):
    folder = _folder(env)
    result = run(str(folder))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["infotype"] for line in result.stdout.splitlines()
            if "infotype" in line] == ["US_SOCIAL_SECURITY_NUMBER", "GITHUB_TOKEN"]
    lines = result.stderr.splitlines()
    assert lines[0].split() == ["file", "critical", "high", "medium", "low", "skipped"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows[str(folder / "a.txt")] == ["2", "0", "0", "0", "0"]
    assert rows[str(folder / "c.zip")][-1] == "1"
    assert str(folder / "b.txt") not in rows  # no findings, no skips: not listed
    assert lines[-1].split() == ["total", "(3", "files)", "2", "0", "0", "0", "1"]
    assert "839-41-5573" not in result.stderr


def test_quiet_prints_nothing_on_stderr(env):
    result = run(str(_folder(env)), "--quiet")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 3  # two findings and the corrupt zip


def test_table_shows_the_masked_context(env):
    doc = env / "notes.txt"
    doc.write_text("hello\nmy SSN is 839-41-5573 for payroll\n")
    result = run(str(doc), "--format", "table")
    header, row = result.stdout.splitlines()
    assert header.split()[-1] == "context"
    assert row.endswith("my SSN is [***-**-5573] for payroll")
    assert "839-41-5573" not in result.stdout


def test_progress_lines_when_not_a_terminal():
    from vigil.cli.inspect_progress import InspectProgress, InspectTally

    out = io.StringIO()
    tally = InspectTally(files_total=3)
    progress = InspectProgress(tally, stream=out, interval=0, live=False)
    for size, severity in [(1000, "high"), (2_000_000, "critical"), (500, None)]:
        if severity:
            tally.add({"doc": f"f{size}", "severity": severity})
        tally.file_done(size)
        progress.update()
    progress.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("inspect: 3/3 files, 2.0 MB (") and "2 findings, 0 skipped" in lines[-1]
