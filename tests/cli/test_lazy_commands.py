"""`vigil <command>` imports only the module of that command; help still lists every command."""

from __future__ import annotations

import json
import subprocess
import sys

from vigil.cli import COMMAND_MODULE_OF, COMMAND_MODULES

REGISTERED_BY_EACH = """
import importlib, json
from vigil.cli.app import app
seen, out = set(), {}
for name in json.loads(input()):
    importlib.import_module(f"vigil.cli.{name}")
    now = {c.name or c.callback.__name__ for c in app.registered_commands} | {g.name for g in app.registered_groups}
    out.update({command: name for command in now - seen})
    seen |= now
print(json.dumps(out))
"""

RUN_AND_LIST_MODULES = """
import json, sys
from vigil.cli import main
sys.argv = ["vigil", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("@@" + json.dumps(sorted(m for m in sys.modules if m.startswith("vigil.cli."))))
"""


def _python(code: str, *args: str, stdin: str = "") -> str:
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=True).stdout


def test_the_command_map_names_what_each_module_registers():
    registered = json.loads(_python(REGISTERED_BY_EACH, stdin=json.dumps(list(COMMAND_MODULES))))
    assert registered == COMMAND_MODULE_OF


def _run(*argv: str) -> tuple[str, set[str]]:
    out = _python(RUN_AND_LIST_MODULES, json.dumps(list(argv)))
    text, _, modules = out.rpartition("@@")
    return text, {m.removeprefix("vigil.cli.") for m in json.loads(modules)}


def test_a_named_command_imports_only_its_module():
    text, modules = _run("sql", "--help")
    assert "Run read-only SQL" in text
    assert modules - {"app", "lake_options"} == {"sql"}
    _, modules = _run("reauth", "--help")
    assert modules - {"app", "lake_options"} == {"connector"}


def test_help_and_an_unknown_command_load_every_command():
    text, modules = _run("--help")
    assert set(COMMAND_MODULES) <= modules
    for command in COMMAND_MODULE_OF:
        assert command in text
    _, modules = _run("sqll")
    assert set(COMMAND_MODULES) <= modules
