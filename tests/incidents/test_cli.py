"""`vigil incidents …` as a user runs it (Typer's runner, a real lake, no Prefect)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from .conftest import finding


def _app():
    import vigil.cli.incidents  # noqa: F401 - registers the commands
    from vigil.cli.app import app

    return app


def _run(*args):
    result = CliRunner().invoke(_app(), list(args), env={"COLUMNS": "200", "VIGIL_USER": "alice"})
    return result


def test_triage_session(lake, tmp_path):
    lake.land({"findings": [
        finding("fp-key", chat="c1", title="[red]deploy[/red] notes", user="ana@example.com"),
        finding("fp-key", chat="c2", minutes=5, user="bo@example.com"),
        finding("fp-mail", infotype="EMAIL_ADDRESS", category="pii", severity="low", masked="a***@example.com"),
    ]})
    config = tmp_path / "vigil.toml"
    config.write_text(f'[lake]\nroot = "{lake.root_url}"\n')
    root = ["--config", str(config)]

    out = _run("incidents", "refresh", *root)
    assert out.exit_code == 0, out.output
    assert "full refresh, 2 new" in out.output

    out = _run("incidents", "list", "--format", "json", *root)
    rows = json.loads(out.stdout)
    assert [(r["infotype"], r["occurrences"], r["status"]) for r in rows] == [
        ("AWS_CREDENTIALS", 2, "open"), ("EMAIL_ADDRESS", 1, "open")]
    key_id = rows[0]["incident_id"]

    out = _run("incidents", "list", "--severity", "high", "--since", "3650d", "--lake", lake.root_url)
    assert out.exit_code == 0 and "AKIA************WXYZ" in out.stdout and "a***@example.com" not in out.stdout

    out = _run("incidents", "show", key_id[:8], *root)
    assert out.exit_code == 0, out.output
    assert "[red]deploy[/red] notes" in out.stdout  # printed literally, not as markup
    assert "https://claude.ai/chat/c1" in out.stdout and "key is AKIA************WXYZ ok" in out.stdout
    assert "bo@example.com" in out.stdout

    out = _run("incidents", "set", key_id[:8], "--status", "false_positive", "--note", "sample key [b]docs[/b]",
               "--assignee", "sec@example.com", *root)
    assert out.exit_code == 0, out.output
    assert "open -> false_positive" in out.stdout and "suppressed under every policy" in out.stdout

    out = _run("incidents", "suppressed", "--format", "csv", *root)
    assert out.stdout.splitlines()[1].startswith("fp-key,AWS_CREDENTIALS,AKIA************WXYZ,1,alice,")
    assert "sample key [b]docs[/b]" in out.stdout

    out = _run("incidents", "show", key_id, *root)
    assert "alice: sample key [b]docs[/b]" in out.stdout and "false_positive" in out.stdout

    out = _run("incidents", "list", "--status", "false_positive", "--format", "json", *root)
    assert [r["incident_id"] for r in json.loads(out.stdout)] == [key_id]


def test_errors_are_clear(lake):
    out = _run("incidents", "set", "abcd1234", "--status", "resolved", "--lake", lake.root_url)
    assert out.exit_code == 1 and "no incident abcd1234" in out.output
    out = _run("incidents", "list", "--status", "closed", "--lake", lake.root_url)
    assert out.exit_code == 1 and "unknown status 'closed'" in out.output
    out = _run("incidents", "list", "--since", "yesterday", "--lake", lake.root_url)
    assert out.exit_code == 2 and "--since" in out.output
