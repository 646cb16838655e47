"""The speed-analysis scripts in ``bench/`` run and measure what they say, on a tiny sample.

They are run by hand (their numbers are in BENCHMARKS.md), so without these tests a change to the
engine's internals could break them unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# CPU-bound and self-contained: runs in the `waits` stream after its clock-bound tests, so the two
# streams end together (docs/testing.md, "Balancing the streams").
pytestmark = pytest.mark.late

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _table(args: list[str]) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, *args], cwd=BENCH, check=True, capture_output=True, text=True,
                         timeout=600).stdout
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def test_detect_breakdown_times_every_stage_of_a_pass() -> None:
    table = _table(["detect_breakdown.py", "--mb", "0.1", "--passes", "2"])
    chat_docs = int(table["main scan"][0].split("(")[1].rstrip(")"))
    assert chat_docs > 10
    assert table["find"][0].endswith(f"({chat_docs})")  # one find and one main scan per document
    assert "words after escapes" in table  # its windows are not counted as main scans
    for stage in ("context-required", "validators", "findings"):
        ms, calls = table[stage][0].split(" (")
        assert float(ms) > 0 and int(calls.rstrip(")")) > 0, stage


def test_main_scan_compares_databases_alone_and_in_the_engine() -> None:
    table = _table(["main_scan.py", "--mb", "0.1", "--passes", "4"])
    assert list(table) == ["`full`", "`direct`", "`-stems<=3`", "`-stems<=4`"]
    sizes = {name: float(cells[0]) for name, cells in table.items()}
    assert sizes["`direct`"] < sizes["`-stems<=4`"] < sizes["`-stems<=3`"] < sizes["`full`"]
    assert all(float(v) > 0 for cells in table.values() for v in cells[1:])


STEMS_WITH_FEWER_WORDS = """
import json
import context_word_tradeoff  # runs the Python source: its variants replace a module function
import vigil.detect.backends as backends
from vigil.detect.rules import load_builtin_rules

rules = load_builtin_rules()
every = backends._Plan(rules).stems
context_word_tradeoff._drop_words(3)
fewer = backends._Plan(rules).stems
context_word_tradeoff._drop_words(0)
print(json.dumps([every, fewer, backends._Plan(rules).stems]))
"""


def test_context_word_tradeoff_variants_leave_out_the_words_they_name() -> None:
    out = subprocess.run([sys.executable, "-c", STEMS_WITH_FEWER_WORDS], cwd=BENCH, check=True,
                         capture_output=True, text=True, timeout=600).stdout
    every, fewer, none = json.loads(out)
    assert {"ach", "tin", "dea", "ss"} <= set(every) and not {"ach", "tin", "dea", "ss"} & set(fewer)
    assert {"mobile", "passport", "routing"} <= set(fewer)
    assert sorted(s for s in every if not (s.isascii() and len(s) <= 3)) == sorted(fewer)
    assert none == []


def test_instruction_layers_run_each_part_of_the_pass_on_the_same_documents(tmp_path) -> None:  # noqa: ANN001
    """``detect_instructions.py --layers`` counts one layer per callgrind run; here each layer's
    child runs without valgrind on a small sample of the chat corpus: the same documents every
    time, and counts that grow the way the layers nest."""
    sys.path.insert(0, str(BENCH))
    from detect_instructions import LAYERS
    from revisions import pickle_speed_corpora

    corpus = pickle_speed_corpora(tmp_path, ["chat"], 300_000)["chat"]
    counts = {}
    for layer in LAYERS:
        out = subprocess.run([sys.executable, "detect_instructions.py", "--child", str(BENCH.parent), str(corpus),
                              "0.15", "--layer", layer, "--steady"], cwd=BENCH, check=True, capture_output=True,
                             text=True, timeout=600).stdout
        _, size, _, found = out.split()
        counts[layer] = (int(size), int(found))
    assert len({size for size, _ in counts.values()}) == 1 and counts["scan"][0] > 100_000
    found = {layer: n for layer, (_, n) in counts.items()}
    assert found["main scan"] == 0  # no handler result is counted
    assert 0 < found["find"] <= found["find+structure"]  # regions add matches, never remove them
    assert found["candidates"] == found["candidates (warm)"] > 0  # a warm cache changes no verdict
    assert 0 < found["scan"] <= found["candidates"]  # overlaps resolved, none added


def test_the_detection_bench_loads_the_engine_as_installed() -> None:
    """``bench/detect.py`` loads vigil as ``make install`` leaves it (the compiled engine, whose
    ``Engine.load`` has no signature to introspect: that once made every vigil column of the
    bench "not available") and scores what it finds."""
    sys.path.insert(0, str(BENCH))
    from detect import VigilTool

    tool = VigilTool("hyperscan")
    assert len(tool.engine.rules) > 150 and "EMAIL_ADDRESS" in tool.covers
    doc = type("Doc", (), {"text": "write to dana.ruiz@northwind-legal.io today"})()
    assert [(hit.start, hit.end) for hit in tool.scan(doc)] == [(9, 37)]


def test_the_detection_bench_stops_when_no_tool_loads() -> None:
    out = subprocess.run([sys.executable, "detect.py", "--quick", "--tools", "no-such-tool"], cwd=BENCH,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2 and "no tool could be loaded: no-such-tool" in out.stderr
