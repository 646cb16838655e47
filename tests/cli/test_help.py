"""`vigil --version` and help text that reads cleanly at 80 columns (issue 10)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest
import typer
from typer.testing import CliRunner

TYPE_MARKERS = re.compile(r"<(bool|str|int|float|path|list\[[^]]*\])[^>]*>|\b(TEXT|INTEGER|FLOAT|BOOLEAN)\b")


def command_paths(app) -> list[list[str]]:
    """Every command and group of the CLI, as argument lists (``[]`` is ``vigil`` itself)."""
    paths = []

    def walk(command, prefix):
        paths.append(prefix)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_version_comes_from_the_package_metadata(vigil_app):
    res = CliRunner().invoke(vigil_app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"vigil {metadata.version('vigil')}\n"


def test_every_command_has_help(vigil_app):
    paths = command_paths(vigil_app)
    assert ["scan", "historical"] in paths and ["sql"] in paths and ["simulator", "serve"] in paths


RENDER_ALL_HELP = """
import json, sys
from vigil.cli import load_commands
app = load_commands()
for path in json.loads(sys.argv[1]):
    print("@@ " + " ".join(path), flush=True)
    app([*path, "--help"], prog_name="vigil", standalone_mode=False)
"""


def render_help(paths: list[list[str]], columns: int) -> dict[str, str]:
    """``--help`` of every path as a terminal of ``columns`` columns shows it (a real process:
    typer's CliRunner forces its own width)."""
    env = dict(os.environ, COLUMNS=str(columns), LINES="50")
    out = subprocess.run([sys.executable, "-c", RENDER_ALL_HELP, json.dumps(paths)], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    pages = {}
    for chunk in out.split("@@ ")[1:]:
        name, _, page = chunk.partition("\n")
        pages[name] = page
    return pages


@pytest.mark.parametrize("width", [80, 100])
def test_help_is_clean_at_terminal_widths(vigil_app, width):
    paths = command_paths(vigil_app)
    pages = render_help(paths, width)
    assert len(pages) == len(paths)
    for name, page in pages.items():
        where = f"vigil {name} --help at {width} columns"
        lines = page.splitlines()
        assert lines[0].startswith("Usage: vigil"), where
        for i, line in enumerate(lines):
            assert len(line) <= width, f"{where}: line too long: {line!r}"
            assert not TYPE_MARKERS.search(line), f"{where}: type marker in {line!r}"
            assert not re.search(r"[A-Za-z]-$", line), f"{where}: a word broken at its hyphen: {line!r}"
            if i and line.endswith("..."):  # only the usage line may end in "..." (repeatable args)
                raise AssertionError(f"{where}: truncated: {line!r}")


def test_help_reflows_paragraphs_and_names_values(vigil_app):
    pages = render_help([["connect"], ["scan", "historical"], ["sql"]], 80)
    # the source breaks the exit-code paragraph after "key rejected);": the help re-flows it
    assert "(HTTP 401, key\n  rejected); 3 one or more scopes missing (HTTP 403, named in the output); 4" \
        in pages["connect"]
    assert "-d, --days DAYS" in pages["scan historical"] and "-c, --config PATH" in pages["scan historical"]
    assert pages["sql"].startswith("Usage: vigil sql [OPTIONS] {SQL}")
