"""What the context-required rules' words cost in time and what they buy in recall.

    .venv/bin/python bench/context_word_tradeoff.py

Issue 9's recall gains came with a slower engine, and most of the slowdown follows the context
words that gate the context-required rules (plain 9-digit IDs, national phone formats, dates of
birth …): the main Hyperscan pass looks for them in every document, and each occurrence opens
the context-required path. This script measures the trade in one run, for three variants of
the working tree's engine:

* ``all words``: the engine as it is;
* ``no words of <= 3 letters``: without the context words whose first token is an ASCII word of
  at most three letters (``ach``, ``tin``, ``sin``, ``tel``, ``dea``, ``ss no`` …), whose letters
  occur inside common words;
* ``no context-required rules``: without any of those words, so those rules never fire.

For each: micro precision/recall on ``bench/eval`` (the corpus that shares no code with the
rules, as ``bench/detect.py --eval-only`` scores it), the structured infoTypes below 0.90
recall, and the fastest of five steady passes over 1.5 MB of the chat and code corpora
(``bench/detect_breakdown.py``). Each variant runs in its own process, on the Python source
(``VIGIL_NATIVE=0``): a variant replaces a function of ``vigil.detect.backends``, which the
compiled engine (``vigil.detect.native``) would not call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["VIGIL_NATIVE"] = "0"  # before vigil is imported, here and in the variants' processes

VARIANTS = {
    "all words": None,
    "no words of <= 3 letters": 3,
    "no context-required rules": 0,
}


def _drop_words(max_letters: int) -> None:
    """Leave out the trigger words whose first token is an ASCII word of at most ``max_letters``
    letters (0: every word)."""
    import vigil.detect.backends as backends

    trigger_words = backends._trigger_words

    def fewer(hotwords):  # noqa: ANN001, ANN202
        words, slack = trigger_words(hotwords)
        if max_letters == 0:
            return [], 0
        return [w for w in words if not (w.isascii() and len(w.split()[0]) <= max_letters)], slack

    backends._trigger_words = fewer


def child(max_letters: int | None, out: Path) -> None:
    """Measure one variant; write its results as JSON to ``out``."""
    if max_letters is not None:
        _drop_words(max_letters)
    import detect
    import detect_breakdown

    passes = {kind: detect_breakdown.run(kind, 1_500_000, 5)[0] * 1e3 for kind in ("chat", "code")}
    report = out.with_suffix(".json")
    detect.main(["--eval-only", "--tools", "vigil-hyperscan", "--no-inspect",
                 "--eval-out", str(out.with_suffix(".md")), "--json", str(report)])
    targets = {row[0]: row[1] for row in json.loads(report.read_text())["eval_targets"]}
    out.write_text(json.dumps({"passes": passes, "targets": targets}))


def main() -> None:
    print("| variant | bench/eval micro precision / recall | structured infoTypes below 0.90 recall "
          "| chat ms per 1.5 MB pass | code ms per 1.5 MB pass |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="vigil-words-") as tmp:
        for name, max_letters in VARIANTS.items():
            out = Path(tmp) / f"variant-{max_letters}"
            subprocess.run([sys.executable, __file__, "--child", str(max_letters), str(out)], check=True,
                           cwd=Path(__file__).parent, capture_output=True)
            result = json.loads(out.read_text())
            targets = result["targets"]
            precision = next(v for k, v in targets.items() if k.startswith("micro precision")).split()[0]
            recall = next(v for k, v in targets.items() if k.startswith("micro recall")).split()[0]
            below = next(v for k, v in targets.items() if k.startswith("no structured infoType"))
            print(f"| {name} | {precision} / {recall} | {below} | {result['passes']['chat']:.1f} "
                  f"| {result['passes']['code']:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(Path(__file__).parent))
        child(None if sys.argv[2] == "None" else int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
