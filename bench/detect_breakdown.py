"""Where one steady-state pass of the detection engine spends its time, by stage.

    .venv/bin/python bench/detect_breakdown.py [--rev bcf7fbf]

Scans a sample of the bench's chat and code corpora (``--mb``, default 1.5 MB each) with the
engine configured as ``bench/detect.py`` configures it (``min_likelihood="VERY_UNLIKELY"``) and
times these stages with ``perf_counter`` wrappers (stages nest: ``find`` holds ``main scan``,
``context-required``, ``non-ASCII words``, ``words after escapes``; ``context-required`` holds
``regions`` and ``group scans``):

* ``main scan``: the main Hyperscan database over each document;
* ``context-required``: ``HyperscanBackend._gated`` (word neighbourhoods, table and list
  regions, group databases, confirmation); ``regions``: ``_Plan.regions``; ``group scans``:
  the group databases over the neighbourhoods;
* ``non-ASCII words``: ``_Plan.unicode_word_ends``; ``words after escapes``:
  ``HyperscanBackend._escaped_word_events`` (the main database over the few characters after
  each written-out escape; not counted as a main scan);
* ``validators``: ``Engine._validate``; ``context words``: ``Engine._word_near``;
  ``cell context``: ``Structure.cell_context``; ``findings``: ``Engine._finding`` (mask,
  fingerprint, context snippet).

The verdict cache is emptied before every pass; the pass with the least total time is shown
(the wrappers add about a microsecond per call). Counts: raw matches, findings and validator
calls per pass. ``--rev`` measures another git revision instead of the working tree (stages
its code does not have stay empty; bcf7fbf has no ``_validate``, ``regions`` or
``cell_context``). The machine is shared: compare stages within a run, and revisions only in
runs made back to back.

It times the Python source (``VIGIL_NATIVE=0``): the classes of the compiled engine
(``vigil.detect.native``) cannot be wrapped. Their stages cost less, in other proportions;
``bench/detect_ab.py`` measures the compiled engine as a whole.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from revisions import KEY, import_tree, pickle_speed_corpora, revision_trees, speed_texts

os.environ["VIGIL_NATIVE"] = "0"  # before vigil is imported, here and in the --rev child

SPENT: Counter = Counter()  # stage -> seconds in the current pass
CALLS: Counter = Counter()
INSIDE: set[str] = set()  # the stages running now

STAGES = [  # (label, module, owner, attribute)
    ("find", "vigil.detect.backends", "HyperscanBackend", "find"),
    ("context-required", "vigil.detect.backends", "HyperscanBackend", "_gated"),
    ("regions", "vigil.detect.backends", "_Plan", "regions"),
    ("group scans", "vigil.detect.backends", None, "_scan_spans"),
    ("non-ASCII words", "vigil.detect.backends", "_Plan", "unicode_word_ends"),
    ("words after escapes", "vigil.detect.backends", "HyperscanBackend", "_escaped_word_events"),
    ("validators", "vigil.detect.engine", "Engine", "_validate"),
    ("context words", "vigil.detect.engine", "Engine", "_word_near"),
    ("cell context", "vigil.detect.structure", "Structure", "cell_context"),
    ("findings", "vigil.detect.engine", "Engine", "_finding"),
]


ESCAPED = "words after escapes"


def _instrument() -> None:
    import importlib

    for label, module_name, owner_name, attribute in STAGES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue  # an older revision without this module
        owner = getattr(module, owner_name, None) if owner_name else module
        original = getattr(owner, attribute, None)
        if original is None:
            continue  # an older revision without this stage

        def timed(*args, _original=original, _label=label, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            INSIDE.add(_label)
            try:
                return _original(*args, **kwargs)
            finally:
                INSIDE.discard(_label)
                SPENT[_label] += time.perf_counter() - started
                CALLS[_label] += 1

        setattr(owner, attribute, timed)


def run(kind: str, size_bytes: int, passes: int, corpus: Path | None = None) -> tuple[float, Counter, Counter, int]:
    """The fastest pass over the sample (``corpus``: its pickled texts, made by the parent of a
    ``--rev`` run so both revisions scan the same documents): (seconds, time per stage, calls
    per stage, findings)."""
    docs = pickle.loads(corpus.read_bytes()) if corpus is not None else speed_texts(kind, size_bytes)
    from vigil.detect.engine import Engine

    with tempfile.TemporaryDirectory() as cache:
        engine = Engine.load(KEY, backend="hyperscan", min_likelihood="VERY_UNLIKELY", cache_dir=Path(cache))
    own = engine.backend.db

    class TimedDatabase:
        def scan(self, data: bytes, match_event_handler) -> None:  # noqa: ANN001
            if ESCAPED in INSIDE:  # the windows after escapes, not the document's main scan
                own.scan(data, match_event_handler=match_event_handler)
                return
            started = time.perf_counter()
            own.scan(data, match_event_handler=match_event_handler)
            SPENT["main scan"] += time.perf_counter() - started
            CALLS["main scan"] += 1

    engine.backend.db = TimedDatabase()
    for doc in docs:  # warm-up: libphonenumber metadata, validator modules
        engine.scan(doc)
    best: tuple[float, Counter, Counter, int] | None = None
    for _ in range(passes):
        SPENT.clear()
        CALLS.clear()
        engine._verdicts.clear()
        started = time.perf_counter()
        findings = sum(len(engine.scan(doc)) for doc in docs)
        total = time.perf_counter() - started
        if best is None or total < best[0]:
            best = (total, Counter(SPENT), Counter(CALLS), findings)
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=1.5, help="sample size per corpus")
    parser.add_argument("--passes", type=int, default=9)
    parser.add_argument("--rev", help="measure this git revision instead of the working tree")
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # child process: the checked-out --rev
    parser.add_argument("--corpus-dir", type=Path, help=argparse.SUPPRESS)  # and its pickled samples
    args = parser.parse_args(argv)
    if args.rev:
        with tempfile.TemporaryDirectory(prefix="vigil-breakdown-") as tmp:
            pickle_speed_corpora(Path(tmp), ["chat", "code"], int(args.mb * 1e6))
            with revision_trees(Path(tmp), [args.rev], native=False) as trees:
                subprocess.run([sys.executable, __file__, "--mb", str(args.mb), "--passes", str(args.passes),
                                "--tree", str(trees[args.rev]), "--corpus-dir", tmp], check=True)
        return
    if args.tree:
        import_tree(args.tree)
    _instrument()
    results = {kind: run(kind, int(args.mb * 1e6), args.passes,
                         args.corpus_dir / f"{kind}.pkl" if args.corpus_dir else None)
               for kind in ("chat", "code")}
    print(f"| stage | chat ms per {args.mb} MB (calls) | code ms per {args.mb} MB (calls) |")
    print("|---|---|---|")
    print("| whole pass | " + " | ".join(f"{r[0] * 1e3:.1f} ({r[3]} findings)" for r in results.values()) + " |")
    for label in ["main scan"] + [s[0] for s in STAGES]:
        print(f"| {label} | " + " | ".join(f"{r[1][label] * 1e3:.2f} ({r[2][label]})" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
