"""What the engine's main Hyperscan pass costs, alone and inside the engine, per database.

    .venv/bin/python bench/main_scan.py --rev bcf7fbf

Issue 9's revision scans slower than bcf7fbf, and the main database grew from 0.9 MB to 2.7 MB
(a core has 1 MB of L2), so one explanation was cache misses: the Python work between
documents evicting a database that no longer fits. This script tests that, on a sample of the
bench's chat and code corpora (``--mb``, default 1.5 MB each), for these databases:

* ``full``: the working tree's main database (direct rules and context words);
* ``direct``: its direct rules only;
* ``-stems<=3`` / ``-stems<=4``: ``full`` without the context words whose first token has at most
  three / four letters (``ach``, ``tin``, ``sin``, ``tel``, ``dl`` …: their letters occur inside
  common words, so Hyperscan checks a boundary at every occurrence);
* ``--rev``: the main database of another revision (built by that revision's own code).

*Alone*: each database scans the sample document by document in a loop of its own (best of
``--passes``). *In the engine*: the working tree's engine scans the sample as ``bench/detect.py``
runs it (``min_likelihood="VERY_UNLIKELY"``), and right before each of its own main scans one of
the databases scans the same bytes, a different one each pass (median over the passes). The
difference between the two columns is what the engine's other work costs that database in
cache misses. Wall time with ``perf_counter``; the machine is shared, so compare columns of one
run, not runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revisions import KEY, import_tree, revision_trees, speed_texts



def dump_main_db(root: str, out: str) -> None:
    """Write the serialised main database of the vigil under ``root`` to ``out``."""
    import_tree(root)
    import hyperscan

    from vigil.detect.engine import Engine

    with tempfile.TemporaryDirectory() as cache:
        engine = Engine.load(KEY, backend="hyperscan", cache_dir=Path(cache))
        Path(out).write_bytes(hyperscan.dumpb(engine.backend.db))


def _databases(backend, other: bytes | None) -> dict:  # noqa: ANN001 - HyperscanBackend
    import hyperscan

    from vigil.detect import backends

    hot = backends.HOTWORD_BASE
    family = getattr(backends, "FAMILY_BASE", 1 << 62)  # direct rules in families (2026-12-06)

    def is_rule(i: int) -> bool:
        return i < hot or i >= family

    expressions, ids, flags = backend._expressions()
    stems = backend.plan.stems

    def build(keep) -> object:  # noqa: ANN001
        chosen = [k for k in range(len(ids)) if keep(ids[k])]
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=[expressions[k] for k in chosen], ids=[ids[k] for k in chosen],
                   flags=[flags[k] for k in chosen])
        return db

    dbs = {
        "full": build(lambda i: True),
        "direct": build(is_rule),
        "-stems<=3": build(lambda i: is_rule(i) or len(stems[i - hot]) > 3),
        "-stems<=4": build(lambda i: is_rule(i) or len(stems[i - hot]) > 4),
    }
    if other is not None:
        dbs["--rev"] = hyperscan.loadb(other, mode=hyperscan.HS_MODE_BLOCK)
    for db in dbs.values():
        db.scratch = hyperscan.Scratch(db)  # its own scratch, as the engine's database has
    return dbs


def measure(kind: str, size_bytes: int, passes: int, other: bytes | None) -> dict[str, tuple[float, float, float]]:
    """Per database: (size in MB, ms to scan the sample alone, ms inside the engine)."""
    import hyperscan

    from vigil.detect.engine import Engine

    docs = speed_texts(kind, size_bytes)
    with tempfile.TemporaryDirectory() as cache:
        engine = Engine.load(KEY, backend="hyperscan", min_likelihood="VERY_UNLIKELY", cache_dir=Path(cache))
    backend = engine.backend
    dbs = _databases(backend, other)
    names = list(dbs)

    def nothing(*_args: object) -> None:
        return None

    data = [doc.encode("ascii", "replace") + b"\n" for doc in docs]  # what find() scans
    alone = {}
    for name, db in dbs.items():
        best = float("inf")
        for _ in range(passes):
            started = time.perf_counter()
            for chunk in data:
                db.scan(chunk, match_event_handler=nothing)
            best = min(best, time.perf_counter() - started)
        alone[name] = best

    own = backend.db
    shadow = {"db": dbs[names[0]], "spent": 0.0}

    class WithShadow:
        """The engine's database, scanned after the shadow database on the same bytes."""

        def scan(self, chunk: bytes, match_event_handler) -> None:  # noqa: ANN001
            started = time.perf_counter()
            shadow["db"].scan(chunk, match_event_handler=nothing)
            shadow["spent"] += time.perf_counter() - started
            own.scan(chunk, match_event_handler=match_event_handler)

    backend.db = WithShadow()
    for doc in docs:  # warm-up: libphonenumber metadata, validator modules
        engine.scan(doc)
    inside: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(passes):
        name = names[round_ % len(names)]
        shadow["db"], shadow["spent"] = dbs[name], 0.0
        engine._verdicts.clear()
        for doc in docs:
            engine.scan(doc)
        inside[name].append(shadow["spent"])
    backend.db = own
    return {name: (len(hyperscan.dumpb(dbs[name])) / 1e6, alone[name] * 1e3,
                   statistics.median(inside[name]) * 1e3) for name in names}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="also measure this git revision's main database")
    parser.add_argument("--mb", type=float, default=1.5, help="sample size per corpus")
    parser.add_argument("--passes", type=int, default=21)
    args = parser.parse_args(argv)
    other = None
    if args.rev:
        with tempfile.TemporaryDirectory(prefix="vigil-main-scan-") as tmp, \
                revision_trees(Path(tmp), [args.rev]) as trees:
            out = Path(tmp) / "main.db"
            subprocess.run([sys.executable, __file__, "--dump-db", str(trees[args.rev]), str(out)], check=True)
            other = out.read_bytes()
    results = {kind: measure(kind, int(args.mb * 1e6), args.passes, other) for kind in ("chat", "code")}
    print(f"| database | MB | chat alone (ms per {args.mb} MB) | chat in the engine | code alone | code in the engine |")
    print("|---|---|---|---|---|---|")
    for name, (size, chat_alone, chat_inside) in results["chat"].items():
        _, code_alone, code_inside = results["code"][name]
        label = f"{args.rev} (`--rev`)" if name == "--rev" else f"`{name}`"
        print(f"| {label} | {size:.2f} | {chat_alone:.2f} | {chat_inside:.2f} | {code_alone:.2f} | {code_inside:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--dump-db":
        dump_main_db(sys.argv[2], sys.argv[3])
    else:
        main()
