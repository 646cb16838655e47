"""vigil and detect-secrets on Samsung CredSweeper's test samples (credentials vigil's authors did
not write).

    .venv/bin/python bench/thirdparty_secrets_eval.py [--tools vigil,detect-secrets] [--out bench/results/detect-thirdparty-secrets.md]

The samples and what CredSweeper's default scan must report in them
(``bench/thirdparty/data/credsweeper_samples.json``, read from CredSweeper's repository by
``bench/thirdparty/credsweeper_samples.py``) are scored as ``bench/thirdparty/scoring.py``
(``score_sample``) says: credential findings only, any credential infoType. vigil runs with
``min_likelihood="VERY_UNLIKELY"`` and is scored at UNLIKELY and above, as in
``bench/detect.py``; detect-secrets with all plugins and default filters, scanning each sample
as a file of its name (its filters read the file name). detect-secrets needs the ``bench`` extra
(``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.thirdparty import credsweeper_samples  # noqa: E402
from bench.thirdparty.scoring import Hit, run_tools, score_sample, tally  # noqa: E402

OUT = ROOT / "bench" / "results" / "detect-thirdparty-secrets.md"
NOT_SECRETS_DETECT_SECRETS = {"Public IP (ipv4)"}


class _Doc:
    def __init__(self, name: str, text: str) -> None:
        self.doc_id = self.filename = name
        self.text = text


def vigil_scanner(samples):
    """``sample -> credential hits`` for vigil's engine (Hyperscan backend)."""
    from vigil.detect import Engine
    from vigil.detect.known import REASON

    engine = Engine.load(b"vigil-bench-fingerprint-key-0001", backend="hyperscan", min_likelihood="VERY_UNLIKELY")
    credential = {r.id for r in engine.rules if r.category == "credential"}

    def scan(sample) -> list[Hit]:
        hits = []
        for f in engine.scan(sample.text):
            if f.detector not in credential:
                continue
            withheld = f.likelihood == "VERY_UNLIKELY"
            if withheld and f.likelihood_reason != REASON:
                continue  # below the reporting floor for another reason: not reported
            hits.append(Hit(f.infotype, f.start, f.end, known_example=withheld))
        return hits

    return scan


def detect_secrets_scanner(samples):
    """``sample -> hits`` for detect-secrets as ``bench/detect.py`` configures it."""
    import detect

    tool = detect.DetectSecretsTool()
    docs = {s.name: _Doc(s.name, s.text) for s in samples}
    tool.prepare(list(docs.values()))
    return lambda sample: [Hit(h.native, h.start, h.end) for h in tool.scan(docs[sample.name])
                           if h.native not in NOT_SECRETS_DETECT_SECRETS]


SCANNERS = {"vigil": ("vigil (hyperscan)", vigil_scanner),
            "detect-secrets": ("detect-secrets", detect_secrets_scanner)}


def evaluate(samples, scan) -> tuple[Counter, list[tuple]]:
    """Counts over all samples and the (sample, outcome) pairs that are not ``found``."""
    counts: Counter = Counter()
    rest = []
    for sample in samples:
        outcomes = score_sample(sample, scan(sample))
        counts.update(tally(outcomes))
        rest.extend((sample, o) for o in outcomes if o.kind != "found")
    return counts, rest


def _short(value: str, limit: int = 60) -> str:
    value = value.replace("|", "\\|").replace("\n", "\\n").replace("`", "'")
    return value if len(value) <= limit else value[:limit] + "…"


def render(samples, results: dict[str, tuple[Counter, list, float]], meta: dict, run: dict[str, str] | None = None) -> str:
    expected = [e for s in samples for e in s.expected if e.scored]
    rules = Counter(e.rule for e in expected)
    lines = ["# CredSweeper's test samples", ""]
    if run:
        lines += [f"- Date: {run['date']}; vigil at {run['commit']}; {run['cpu']}, {run['usable_cores']} usable cores, "
                  f"{run['python']}; {run['versions']}",
                  "- Command: `.venv/bin/python bench/thirdparty_secrets_eval.py`", ""]
    lines += [f"Samples read from {meta['source']} at {meta['commit'][:12]} (`tests/samples`, with the expected "
              f"output `tests/data/output.json`; MIT) by `bench/thirdparty/credsweeper_samples.py`: {len(samples)} text "
              f"files ({sum(s.negative for s in samples)} of look-alikes that must give nothing), {len(expected)} "
              f"expected credentials of {len(rules)} CredSweeper rules (values of rules that report no secret, such "
              "as UUIDs and bucket names, are not scored: `bench/thirdparty/data/credsweeper_rules.yaml`). Left out: "
              + "; ".join(f"{k} ({v})" for k, v in meta["left_out"].items()) + ".", "",
              "Scoring (`bench/thirdparty/scoring.py`, `score_sample`): credential findings of any infoType. "
              "*found* / *missed*: an expected value with / without an overlapping finding; *known ex.*: found only "
              "at VERY_UNLIKELY with the reason `known_example`; *false*: a finding in a look-alike file; "
              "*unlabelled*: a finding elsewhere that overlaps no expected value (CredSweeper's expectation is what "
              "its rules and model report, not a list of every secret, so these are listed below, not counted as "
              "false).", ""]
    names = list(results)
    lines += ["| CredSweeper rule | expected | " + " | ".join(f"{n}: found / known ex. / missed" for n in names) + " |",
              "|---|---|" + "---|" * len(names)]
    common = [r for r, c in rules.most_common() if c >= 3]
    for rule in common + ["(rules with 1-2 values)", "*"]:
        if rule == "*":
            label, total = "**all**", len(expected)
        elif rule.startswith("("):
            label, total = rule, sum(c for r, c in rules.items() if r not in common)
        else:
            label, total = rule, rules[rule]
        row = [label, str(total)]
        for n in names:
            k = results[n][0]
            if rule.startswith("("):
                f, x, m = (sum(k[r, kind] for r in rules if r not in common) for kind in ("found", "known_example", "missed"))
            else:
                f, x, m = k[rule, "found"], k[rule, "known_example"], k[rule, "missed"]
            row.append(f"{f} / {x} / {m}")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for n in names:
        k, _, seconds = results[n]
        total = k["*", "found"] + k["*", "missed"]
        lines.append(f"- {n}: recall {k['*', 'found'] / max(total, 1):.3f} of the expected credentials it does not "
                     f"withhold ({k['*', 'found']} of {total}); {k['*', 'false']} false in look-alike files; "
                     f"{k['*', 'unlabelled']} unlabelled; {seconds:.1f} s.")
    for n in names:
        rest = results[n][1]
        if not rest:
            continue
        lines += ["", f"## {n}: misses, withheld, false and unlabelled findings", "",
                  "| outcome | rule or infoType | value | sample |", "|---|---|---|---|"]
        order = {"missed": 0, "known_example": 1, "false": 2, "unlabelled": 3}
        for sample, o in sorted(rest, key=lambda t: (order[t[1].kind], t[0].name, t[1].entity)):
            lines.append(f"| {o.kind} | {o.entity} | `{_short(o.value)}` | {sample.name} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default="vigil,detect-secrets")
    parser.add_argument("--data", type=Path, default=credsweeper_samples.DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    meta = json.loads(args.data.read_text(encoding="utf-8"))
    samples = credsweeper_samples.load(args.data)
    results = run_tools(args.tools, SCANNERS, samples, evaluate)
    import detect

    args.out.write_text(render(samples, results, meta, detect.machine()), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
