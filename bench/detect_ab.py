"""Detection throughput in CPU time, A/B across git revisions, interleaved.

``bench/detect.py`` times each tool once, so a comparison with an older revision mixes two
moments of a shared machine whose speed swings by a third. ``bench/detect_instructions.py``
counts instructions, which do not swing, but do not see what costs time without instructions
(cache and branch misses: issue 9's revision takes about twice as much more time than it takes
instructions). This script measures what the issue's target is written in, MB/s per core with the engine
configured as ``bench/detect.py`` configures it (``min_likelihood="VERY_UNLIKELY"``, every
validator runs), and alternates the revisions round by round so both see the same machine:

    .venv/bin/python bench/detect_ab.py --rev bcf7fbf --rev HEAD --rounds 7

Each run is a fresh process that loads the engine, scans 50 documents, then times
``engine.scan`` over the whole corpus with ``time.process_time`` (``--warm``: scans the corpus
once first and times a second pass with the verdict cache emptied, leaving out one-time costs
such as libphonenumber's per-region pattern compiles). Reported: the median and range of MB/s
per revision and corpus, and each revision's CPU time relative to the first ``--rev`` as the
median of the per-round ratios (the runs of one round are adjacent, so a round's ratio cancels
most of the machine's drift; the range of those ratios says how far to trust it).

A revision with the compiled engine (``vigil.detect.native``) is built in its tree first and
runs compiled, as ``make install`` ships it; the table says which engine each revision ran.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import KEY, import_tree, pickle_speed_corpora, revision_trees



def child(root: str, corpus: str, warm: bool) -> None:
    """Print the MB/s of one timed pass of the vigil under ``root`` over the pickled corpus."""
    import_tree(root)
    from vigil.detect.engine import Engine

    docs = pickle.loads(Path(corpus).read_bytes())
    engine = Engine.load(KEY, backend="hyperscan", min_likelihood="VERY_UNLIKELY",
                         cache_dir=Path(root) / ".hs-cache")
    for doc in docs if warm else docs[:50]:
        engine.scan(doc)
    if warm:
        engine._verdicts.clear()
    size = sum(len(doc.encode()) for doc in docs)
    started = time.process_time()
    for doc in docs:
        engine.scan(doc)
    spent = time.process_time() - started
    native = sys.modules.get("vigil.detect.native")
    compiled = native is not None and native.status()["active"]
    print(f"ENGINE {'compiled' if compiled else 'Python'}")
    print(f"MBPS {size / 1e6 / spent:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", action="append", default=[], help="git revision (repeat; the first is the base)")
    parser.add_argument("--kind", action="append", choices=["chat", "code"], default=[])
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size per kind (bench/detect.py: 50)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warm", action="store_true", help="time a second pass (see the module docstring)")
    args = parser.parse_args(argv)
    revs = args.rev or ["HEAD"]
    with tempfile.TemporaryDirectory(prefix="vigil-ab-") as tmp:
        work = Path(tmp)
        corpora = pickle_speed_corpora(work, args.kind or ["chat", "code"], int(args.mb * 1e6))
        mbps: dict[tuple[str, str], list[float]] = {(rev, kind): [] for rev in revs for kind in corpora}
        engines: dict[str, str] = {}
        with revision_trees(work, revs) as trees:
            for round_ in range(args.rounds):
                order = revs if round_ % 2 == 0 else revs[::-1]  # neither revision always runs first
                for kind, corpus in corpora.items():
                    for rev in order:
                        cmd = [sys.executable, __file__, "--child", str(trees[rev]), str(corpus)]
                        run = subprocess.run(cmd + (["--warm"] if args.warm else []), check=True,
                                             capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
                        mbps[(rev, kind)].append(float(run.stdout.split("MBPS ")[-1]))
                        engines[rev] = run.stdout.split("ENGINE ")[-1].split()[0]
                print(f"round {round_ + 1}/{args.rounds}: "
                      + ", ".join(f"{rev} {kind} {v[-1]:.1f}" for (rev, kind), v in mbps.items()), file=sys.stderr)
    print(f"| revision (engine) | corpus | MB/s per core, median ({'second pass' if args.warm else 'one pass'}) "
          f"| range over {args.rounds} rounds | CPU time vs {revs[0]}: median of round ratios (range) |")
    print("|---|---|---|---|---|")
    for kind in corpora:
        base = mbps[(revs[0], kind)]
        for rev in revs:
            values = mbps[(rev, kind)]
            ratios = [100 * (b / v - 1) for b, v in zip(base, values)]
            print(f"| {rev} ({engines[rev]}) | {kind} | {statistics.median(values):.1f} | {min(values):.1f}–{max(values):.1f} "
                  f"| {statistics.median(ratios):+.0f}% ({min(ratios):+.0f}% to {max(ratios):+.0f}%) |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], warm="--warm" in sys.argv[4:])
    else:
        main()
