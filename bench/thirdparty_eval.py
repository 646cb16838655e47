"""vigil and Presidio on Presidio's own recognizer test cases (data vigil's authors did not write).

    .venv/bin/python bench/thirdparty_eval.py [--tools vigil,presidio] [--out bench/results/detect-thirdparty.md]

The cases (``bench/thirdparty/data/presidio_recognizer_cases.json``, read from Presidio's test
modules by ``bench/thirdparty/presidio_cases.py``) are short texts with what one recognizer should
find, written by Presidio's authors for Presidio; scored as ``bench/thirdparty/scoring.py`` says.
vigil runs with ``min_likelihood="VERY_UNLIKELY"`` and is scored at UNLIKELY and above, as in
``bench/detect.py``; Presidio with all scores kept (its recognizer tests use no threshold), which
also checks the harness: Presidio should agree with its own tests. Needs the ``bench`` extra
(``make bench`` installs it) for Presidio.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.eval.scoring import google_name  # noqa: E402
from bench.thirdparty import presidio_cases  # noqa: E402
from bench.thirdparty.scoring import Hit, run_tools, score_case, tally  # noqa: E402

OUT = ROOT / "bench" / "results" / "detect-thirdparty.md"


class _Doc:
    def __init__(self, text: str) -> None:
        self.text = text


def vigil_scanner(_cases=None):
    """``text -> hits`` for vigil's engine (Hyperscan backend)."""
    from vigil.detect import Engine
    from vigil.detect.known import REASON

    engine = Engine.load(b"vigil-bench-fingerprint-key-0001", backend="hyperscan", min_likelihood="VERY_UNLIKELY")

    def scan(text: str) -> list[Hit]:
        hits = []
        for f in engine.scan(text):
            withheld = f.likelihood == "VERY_UNLIKELY"
            if withheld and f.likelihood_reason != REASON:
                continue  # below the reporting floor for another reason: not reported
            hits.append(Hit(google_name("vigil", f.infotype), f.start, f.end, known_example=withheld))
        return hits

    return scan


def presidio_scanner(_cases=None):
    """``text -> hits`` for Presidio as ``bench/detect.py`` configures it, every score kept."""
    import detect

    tool = detect.PresidioTool()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    return lambda text: [Hit(h.infotype, h.start, h.end) for h in tool.scan(_Doc(text))]


SCANNERS = {"vigil": ("vigil (hyperscan)", vigil_scanner), "presidio": ("Presidio", presidio_scanner)}


def evaluate(cases, scan) -> tuple[Counter, list[tuple]]:
    """Counts over all cases and the list of (case, outcome) that are not ``found``."""
    counts: Counter = Counter()
    wrong = []
    for case in cases:
        outcomes = score_case(case, scan(case.text))
        counts.update(tally(outcomes))
        wrong.extend((case, o) for o in outcomes if o.kind in ("missed", "false", "known_example"))
    return counts, wrong


def render(cases, results: dict[str, tuple[Counter, list, float]], commit: str, left_out: dict,
           run: dict[str, str] | None = None) -> str:
    entities = sorted({c.entities[0] for c in cases}, key=lambda e: (-sum(c.entities[0] == e for c in cases), e))
    strong = Counter(e for c in cases for e in c.entities[:len(c.spans)])
    lines = ["# Presidio's recognizer test cases", ""]
    if run:
        lines += [f"- Date: {run['date']}; vigil at {run['commit']}; {run['cpu']}, {run['usable_cores']} usable cores, "
                  f"{run['python']}; {run['versions']}",
                  "- Command: `.venv/bin/python bench/thirdparty_eval.py`", ""]
    lines += [f"Cases read from github.com/microsoft/presidio at {commit[:12]} "
             f"(`presidio-analyzer/tests/test_*_recognizer.py`, MIT), by `bench/thirdparty/presidio_cases.py`: "
             f"{len(cases)} cases of {len(entities)} recognizers whose entity maps to an infoType, "
             f"{sum(strong.values())} expected entities, {sum(1 for c in cases if c.expected_len == 0)} cases that "
             "expect nothing. Left out (their expectation depends on a setting): "
             + ("; ".join(f"{k} ({v})" for k, v in left_out.items()) or "none") + ".", "",
             "Scoring (`bench/thirdparty/scoring.py`): in each case only findings of that case's infoType count. "
             "*found* / *missed*: an expected entity with / without an overlapping finding; *known ex.*: found "
             "only at VERY_UNLIKELY with the reason `known_example` (a published test value vigil withholds by "
             "design, `data/known_examples.yaml`); *false*: a finding of the case's infoType that overlaps no "
             "expected entity. *bare*: of the misses, how many are a value alone with no word around it (vigil "
             "reports ambiguous numbers only with a context word, by design). vigil is scored at UNLIKELY and "
             "above; Presidio with every score kept, as its recognizer tests do.", ""]
    names = list(results)
    head = "| Presidio entity (infoType) | expected | " + " | ".join(
        f"{n}: found / known ex. / missed (bare) / false" for n in names) + " |"
    lines += [head, "|---|---|" + "---|" * len(names)]
    for e in entities + ["*"]:
        label = "**all**" if e == "*" else f"{e} ({google_name('presidio', e)})"
        row = [label, str(sum(strong.values()) if e == "*" else strong[e])]
        for n in names:
            k = results[n][0]
            row.append(f"{k[e, 'found']} / {k[e, 'known_example']} / {k[e, 'missed']} ({k[e, 'missed_bare']}) / "
                       f"{k[e, 'false']}")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for n in names:
        k = results[n][0]
        total = k["*", "found"] + k["*", "missed"]
        lines.append(f"- {n}: recall {k['*', 'found'] / max(total, 1):.3f} of the expected entities it does not "
                     f"withhold ({k['*', 'found']} of {total}); {k['*', 'false']} false; {results[n][2]:.1f} s.")
    for n in names:
        wrong = results[n][1]
        if not wrong:
            continue
        lines += ["", f"## {n}: misses, withheld and false findings", "",
                  "| entity | outcome | value | bare | case |", "|---|---|---|---|---|"]
        for case, o in wrong:
            where = f"{case.file.rsplit('/', 1)[-1]}:{case.line}"
            value = o.value.replace("|", "\\|").replace("\n", "\\n")
            lines.append(f"| {o.entity} | {o.kind} | `{value}` | {'yes' if o.bare else ''} | {where} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default="vigil,presidio")
    parser.add_argument("--data", type=Path, default=presidio_cases.DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    meta = json.loads(args.data.read_text(encoding="utf-8"))
    cases = presidio_cases.load(args.data)
    results = run_tools(args.tools, SCANNERS, cases, evaluate)
    import detect

    args.out.write_text(render(cases, results, meta["commit"], meta["left_out"], detect.machine()), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
