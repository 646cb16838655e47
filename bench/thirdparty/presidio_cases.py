"""Microsoft Presidio's recognizer test cases as labelled detection data.

Presidio's analyzer tests (``presidio-analyzer/tests/test_*_recognizer.py``) give, per
recognizer, short texts with the number of entities its authors expect and their spans
(``@pytest.mark.parametrize("text, expected_len, expected_positions, …", [...])``). This module
reads those literals with ``ast`` (it never imports or runs the tests), keeps the recognizers whose
entity maps to an infoType in ``bench/eval/data/label_map.yaml``, and writes them to
``data/presidio_recognizer_cases.json`` with their provenance (repository, commit, file, line)::

    python -m bench.thirdparty.presidio_cases --git-dir PRESIDIO.git [--commit REV] [--out FILE]

``--git-dir`` is a clone (bare or not) of https://github.com/microsoft/presidio. The cases are
Presidio's, under its MIT licence (``data/presidio_recognizer_cases.NOTICE``). A case whose
parameters say more than text, count, spans and scores (a context list, a leniency, a custom
configuration) is left out and counted, since what it expects depends on that setting. The
expected scores are not kept: they are the recognizer's own confidence (a phone number is 0.4 in
every case), not the test's verdict, which is the count and the spans.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.eval.scoring import google_name

REPO_URL = "https://github.com/microsoft/presidio"
TESTS_DIR = "presidio-analyzer/tests"
DATA = Path(__file__).resolve().parent / "data" / "presidio_recognizer_cases.json"

TEXT_ARGS = ("text", "iban", "input_text")
SPAN_ARGS = ("expected_positions", "expected_res", "expected_position")
SCORE_ARGS = ("expected_score_ranges", "expected_scores", "expected_score", "score")
KNOWN_ARGS = {*TEXT_ARGS, *SPAN_ARGS, *SCORE_ARGS, "expected_len", "entities"}


@dataclass
class Case:
    """One parametrized test case: ``spans`` are the expected entities (``[start, end]``, or
    None where the test gives a count but no position), ``entities`` their Presidio names."""

    file: str
    line: int
    function: str
    text: str
    expected_len: int
    entities: list[str]
    spans: list[list[int] | None]


def _fixture_entities(tree: ast.Module) -> list[str] | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "entities":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    try:
                        value = ast.literal_eval(ret.value)
                    except ValueError:
                        return None
                    return [str(v) for v in value] if isinstance(value, list) else None
    return None


def _parametrizations(tree: ast.Module):
    """(function name, argument names, list of (line, argvalues node)) per parametrize call."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for deco in node.decorator_list:
            if (isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize"
                    and len(deco.args) >= 2 and isinstance(deco.args[0], ast.Constant)
                    and isinstance(deco.args[1], (ast.List, ast.Tuple))):
                names = [n.strip() for n in str(deco.args[0].value).split(",") if n.strip()]
                yield node.name, names, [(el.lineno, el) for el in deco.args[1].elts]


def cases_of(path: str, source: str) -> tuple[list[Case], dict[str, int]]:
    """The cases of one test module, and the number left out per reason."""
    tree = ast.parse(source)
    fixture = _fixture_entities(tree)
    cases: list[Case] = []
    left_out: dict[str, int] = {}

    def leave(reason: str, n: int = 1) -> None:
        left_out[reason] = left_out.get(reason, 0) + n

    for function, names, rows in _parametrizations(tree):
        text_arg = next((a for a in TEXT_ARGS if a in names), None)
        if text_arg is None or "expected_len" not in names:
            continue  # not a text -> entities table (a checksum helper's own test, say)
        if set(names) - KNOWN_ARGS:
            leave(f"{function}: parameters {sorted(set(names) - KNOWN_ARGS)}", len(rows))
            continue
        span_arg = next((a for a in SPAN_ARGS if a in names), None)
        for line, node in rows:
            try:
                values = ast.literal_eval(node)
            except ValueError:
                leave("not a literal (built by a call)")
                continue
            row = dict(zip(names, values if isinstance(values, tuple) else (values,)))
            n = int(row["expected_len"])
            raw = list(row.get(span_arg) or ()) if span_arg else []
            if raw and isinstance(raw[0], int):  # a single (start, end)
                raw = [raw]
            spans: list[list[int] | None] = [list(s) for s in raw[:n]] + [None] * max(n - len(raw), 0)
            entities = row.get("entities") or fixture
            if not entities:
                leave("no entity named")
                continue
            if len(entities) < n:
                entities = list(entities) + [entities[-1]] * (n - len(entities))
            cases.append(Case(path, line, function, str(row[text_arg]), n, [str(e) for e in entities[:max(n, 1)]],
                              spans))
    return cases, left_out


def extract(git_dir: Path, commit: str = "HEAD") -> dict:
    """Every mapped case of the recognizer tests at ``commit`` of the Presidio clone ``git_dir``."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True,
                              text=True).stdout

    full = git("rev-parse", commit).strip()
    paths = [p for p in git("ls-tree", "-r", "--name-only", full, TESTS_DIR + "/").split()
             if p.rsplit("/", 1)[-1].startswith("test_") and p.endswith("_recognizer.py")]
    cases: list[Case] = []
    left_out: dict[str, int] = {}
    for path in sorted(paths):
        found, skipped = cases_of(path, git("show", f"{full}:{path}"))
        mapped = [c for c in found if google_name("presidio", c.entities[0]) is not None]
        cases.extend(mapped)
        if mapped:  # what a module of unmapped recognizers leaves out does not concern us
            left_out.update((f"{path.rsplit('/', 1)[-1]}: {reason}", n) for reason, n in skipped.items())
    return {"source": REPO_URL, "commit": full, "licence": "MIT (see presidio_recognizer_cases.NOTICE)",
            "left_out": left_out, "cases": [asdict(c) for c in cases]}


def load(path: Path = DATA) -> list[Case]:
    """The stored cases."""
    return [Case(**c) for c in json.loads(path.read_text(encoding="utf-8"))["cases"]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--git-dir", type=Path, required=True)
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    data = extract(args.git_dir, args.commit)
    head = {k: v for k, v in data.items() if k != "cases"}
    lines = [json.dumps(case, ensure_ascii=False, separators=(",", ":")) for case in data["cases"]]
    # One case per line: a diff after a refresh shows which cases changed.
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "cases": [\n' + ",\n".join(lines) + "\n]}\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"{len(data['cases'])} cases from {data['commit'][:12]} -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
