"""Detection cost in CPU instructions per byte, compared across git revisions.

CPU time on the shared 2-core machines swings by a third from run to run, which hides a 10%
regression. Instruction counts do not: this script runs the engine's scan loop under valgrind's
callgrind, counting only inside the loop (``--toggle-collect=functools_reduce``: the loop is one
``functools.reduce`` call), for each revision on the same documents of the bench's chat and code
corpora. The first quarter of each sample is scanned before counting (lazy regexes, phone
metadata); the marginal cost between two sample sizes is the per-byte figure, free of one-time
costs.

    .venv/bin/python bench/detect_instructions.py --rev bcf7fbf --rev HEAD
    .venv/bin/python bench/detect_instructions.py --steady 1.5 --rev bcf7fbf --rev HEAD

Each revision is checked out in a temporary ``git worktree`` and imported from there (the
installed vigil is hidden). Needs valgrind; about a minute per revision, kind and size.

``--layers`` counts the steady pass by layer instead, one callgrind run per layer, each a
superset of the one before (``LAYERS``): the main Hyperscan database alone, the backend's
``find`` without and with the document structure, the engine's candidates with a warm and with
a cold verdict cache, the whole scan. The differences say what each part costs (2026-12-05, chat,
665d10a: 51.6 / 93.7 / 103.4 / 120.5 / 131.4 / 152.3 M); reading the callers of the C functions
in the kept output (``--keep DIR``, then ``callgrind_annotate --tree=caller``) shows costs that
no Python profile shows (an exception raised and cleared inside ``bytes.__contains__``).

    .venv/bin/python bench/detect_instructions.py --steady 1.5 --layers --kind chat --rev HEAD

Set and dict iteration orders follow Python's string hashing, so each count runs with a fixed
``PYTHONHASHSEED``; with ``--seeds N`` every row is counted under seeds 0..N-1 and reports the
median and the range, the noise to read differences between revisions against (on 2026-12-05
seeds 0 and 1 agreed to 0.1 M instructions for every revision counted).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import pickle
import statistics
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from revisions import import_tree, pickle_speed_corpora, revision_trees


LAYERS = {
    "main scan": "the main Hyperscan database alone, no-op handler",
    "find": "HyperscanBackend.find without the document structure (direct rules, context words)",
    "find+structure": "find with the structure: table, list and SQL regions of context-required rules",
    "candidates (warm)": "Engine._candidates with the first pass's verdicts kept: all but the validators",
    "candidates": "Engine._candidates with the verdict cache emptied",
    "scan": "the whole Engine.scan: pairing, overlaps, masks, fingerprints, contexts, positions",
}
"""What ``--layers`` counts, each layer a superset of the one before."""


def child(root: str, corpus: str, mb: float, steady: bool = False, layer: str = "scan") -> None:
    """Scan ``mb`` MB of the pickled corpus with the vigil found under ``root``; print the bytes
    and findings of the counted part. ``steady``: scan the whole sample once first and count a
    second pass with the engine's verdict cache emptied -- what a long scan costs once every
    phone-metadata pattern its numbers need is compiled (libphonenumber compiles a region's
    patterns on first use, once per process). ``layer``: count only that much of the scan
    (``LAYERS``; FINDINGS is then the number of matches or candidates)."""
    import_tree(root)
    from vigil.detect.engine import Engine

    docs = pickle.loads(Path(corpus).read_bytes())
    sample, size = [], 0
    for doc in docs:
        sample.append(doc)
        size += len(doc.encode())
        if size >= mb * 1e6:
            break
    engine = Engine.load(b"k" * 32, backend="hyperscan", cache_dir=Path(root) / ".hs-cache")
    warm = len(sample) // 4
    for doc in sample if steady else sample[:warm]:
        engine.scan(doc)
    if steady and layer != "candidates (warm)":
        engine._verdicts.clear()
    counted = sample if steady else sample[warm:]
    step = _layer_step(engine, layer)
    items = [d.encode("ascii", "replace") + b"\n" for d in counted] if layer == "main scan" else counted
    findings = functools.reduce(step, items, 0)
    print(f"BYTES {sum(len(d.encode()) for d in counted)} FINDINGS {findings}")


def _layer_step(engine, layer: str):  # noqa: ANN001, ANN202 - any revision's Engine; a reduce step
    """The ``functools.reduce`` step that runs one document through ``layer`` of the scan.
    Revisions before the document structure (bcf7fbf) have ``find(text)`` and
    ``_candidates(text)``; their "find+structure" is their "find"."""
    import inspect

    if layer == "scan":
        return lambda acc, doc: acc + len(engine.scan(doc))
    backend = engine.backend
    if layer == "main scan":
        db = backend.db

        def ignore(*_: object) -> None:
            return None
        return lambda acc, data: db.scan(data, ignore) or acc
    old = len(inspect.signature(backend.find).parameters) == 1

    def start(doc: str) -> None:  # what Engine.scan sets before its views
        engine._document = doc
        for name in ("_structure", "_test_code", "_regions"):
            setattr(engine, name, None)

    if layer == "find":
        return lambda acc, doc: acc + len(backend.find(doc) if old else backend.find(doc, None, 0))
    if layer == "find+structure":
        def find_with_structure(acc: int, doc: str) -> int:
            start(doc)
            return acc + len(backend.find(doc) if old else backend.find(doc, engine._get_structure, 0))
        return find_with_structure
    if layer in ("candidates", "candidates (warm)"):
        def candidates(acc: int, doc: str) -> int:
            start(doc)
            return acc + len(engine._candidates(doc) if old else engine._candidates(doc, 0))
        return candidates
    raise SystemExit(f"unknown layer {layer!r}; one of {', '.join(LAYERS)}")


def count(root: Path, corpus: Path, mb: float, steady: bool = False, seed: int = 0, layer: str = "scan",
          keep: Path | None = None, rev: str = "") -> tuple[int, int, int]:
    """(instructions, bytes, findings) of one counted scan, with ``PYTHONHASHSEED=seed``
    (``keep``: also copy callgrind's output file there, named after ``rev``, corpus, layer, seed)."""
    cmd = ([sys.executable, __file__, "--child", str(root), str(corpus), str(mb), "--layer", layer]
           + (["--steady"] if steady else []))
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # compile the Hyperscan cache first
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        run = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                              "--toggle-collect=functools_reduce", f"--callgrind-out-file={out.name}", *cmd],
                             check=True, capture_output=True, text=True, env=env)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            name = f"callgrind.{re.sub(r'[^A-Za-z0-9_.-]', '_', rev or root.name)}.{corpus.stem}.{mb}MB." \
                   f"{re.sub(r'[^a-z]+', '-', layer).strip('-')}.seed{seed}"
            shutil.copyfile(out.name, keep / name)
    collected = re.search(r"Collected : (\d+)", run.stderr)
    counted = re.search(r"BYTES (\d+) FINDINGS (\d+)", run.stdout)
    if collected is None or counted is None:
        raise SystemExit(f"no count from callgrind:\n{run.stderr[-2000:]}")
    return int(collected.group(1)), int(counted.group(1)), int(counted.group(2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", action="append", default=[], help="git revision (repeat); default HEAD")
    parser.add_argument("--kind", action="append", choices=["chat", "code"], default=[])
    parser.add_argument("--mb", type=float, nargs=2, default=[2.0, 4.0], help="the two sample sizes")
    parser.add_argument("--steady", type=float, metavar="MB", default=None,
                        help="instead: count a second pass over one sample of MB (see child())")
    parser.add_argument("--seeds", type=int, default=1,
                        help="count each row under PYTHONHASHSEED 0..N-1: median and range (default 1)")
    parser.add_argument("--layers", action="store_true",
                        help="with --steady: count each layer of the pass (LAYERS), one row each")
    parser.add_argument("--keep", type=Path, metavar="DIR", default=None,
                        help="keep callgrind's output files in DIR (for callgrind_annotate)")
    args = parser.parse_args(argv)
    if args.layers and args.steady is None:
        parser.error("--layers needs --steady MB")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    if args.layers:
        _layer_rows(args)
        return
    with _corpora_and_trees(args, max(args.steady or 0, *args.mb)) as (corpora, trees):
        seeds = range(max(args.seeds, 1))
        spread = " (median, range)" if len(seeds) > 1 else ""
        print(f"| revision | corpus | instructions (second pass{spread}) | counted bytes | findings "
              f"| instructions per byte |"
              if args.steady else
              f"| revision | corpus | instructions (small / large sample{spread}) | counted bytes | findings "
              f"| instructions per byte (marginal) |")
        print("|---|---|---|---|---|---|")
        for rev in args.rev or ["HEAD"]:
            for kind, corpus in corpora.items():
                if args.steady:
                    counts = [count(trees[rev], corpus, args.steady, steady=True, seed=s, keep=args.keep,
                                    rev=rev)
                              for s in seeds]
                    instr = [c[0] for c in counts]
                    size, found = counts[0][1], counts[0][2]
                    print(f"| {rev} | {kind} | {_median_range(instr, 1e6, 'M')} | {size:,} | {found} "
                          f"| {_median_range([i / size for i in instr], 1, '')} |", flush=True)
                    continue
                pairs = [[count(trees[rev], corpus, mb, seed=s, keep=args.keep, rev=rev) for mb in args.mb]
                         for s in seeds]
                small, large = pairs[0]
                per_byte = [(lg[0] - sm[0]) / (lg[1] - sm[1]) for sm, lg in pairs]
                print(f"| {rev} | {kind} | {_median_range([p[0][0] for p in pairs], 1e6, 'M')} / "
                      f"{_median_range([p[1][0] for p in pairs], 1e6, 'M')} "
                      f"| {small[1]:,} / {large[1]:,} | {small[2]} / {large[2]} "
                      f"| {_median_range(per_byte, 1, '')} |", flush=True)


def _layer_rows(args: argparse.Namespace) -> None:
    """``--layers``: one row per revision, corpus and layer of the steady pass."""
    print("| revision | corpus | layer | instructions (second pass) | counted bytes | matches or findings "
          "| instructions per byte |")
    print("|---|---|---|---|---|---|---|")
    with _corpora_and_trees(args, args.steady) as (corpora, trees):
        for rev in args.rev or ["HEAD"]:
            for kind, corpus in corpora.items():
                for layer in LAYERS:
                    instr, size, found = count(trees[rev], corpus, args.steady, steady=True, layer=layer,
                                               keep=args.keep, rev=rev)
                    print(f"| {rev} | {kind} | {layer} | {instr / 1e6:.1f} M | {size:,} | {found} "
                          f"| {instr / size:.0f} |", flush=True)


@contextlib.contextmanager
def _corpora_and_trees(args: argparse.Namespace, mb: float) -> Iterator[tuple[dict[str, Path], dict[str, Path]]]:
    """The pickled corpora of ``--kind`` (``mb`` MB and 1 MB to spare) and a worktree per ``--rev``."""
    with tempfile.TemporaryDirectory(prefix="vigil-instr-") as tmp:
        work = Path(tmp)
        corpora = pickle_speed_corpora(work, args.kind or ["chat", "code"], int(mb * 1e6) + 1_000_000)
        with revision_trees(work, args.rev or ["HEAD"]) as trees:
            yield corpora, trees


def _median_range(values: list[float], unit: float, suffix: str) -> str:
    """``12.3 M`` for one value; ``12.3 M (12.1–12.6)`` for several."""
    digits = 1 if suffix else 0
    text = f"{statistics.median(values) / unit:.{digits}f}{' ' + suffix if suffix else ''}"
    if len(values) > 1:
        text += f" ({min(values) / unit:.{digits}f}–{max(values) / unit:.{digits}f})"
    return text

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        rest = sys.argv[5:]
        child(sys.argv[2], sys.argv[3], float(sys.argv[4]), steady="--steady" in rest,
              layer=rest[rest.index("--layer") + 1] if "--layer" in rest else "scan")
    else:
        main()
