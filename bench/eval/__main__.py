"""``python -m bench.eval --out DIR``: write the evaluation corpus (and the presidio-template set)
to DIR with a ``labels.jsonl`` index each. Keep the output out of git."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.eval import corpus, presidio_set


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED)
    parser.add_argument("--docs", type=int, default=corpus.DEFAULT_DOCS)
    parser.add_argument("--free-docs", type=int, default=corpus.DEFAULT_FREE_DOCS)
    parser.add_argument("--presidio-docs", type=int, default=presidio_set.DEFAULT_DOCS)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    docs = corpus.generate(args.seed, args.docs, args.free_docs)
    corpus.write(docs, args.out / "eval")
    extra = presidio_set.generate(args.seed, args.presidio_docs)
    corpus.write(extra, args.out / "presidio")
    print(f"{len(docs)} + {len(extra)} documents, {sum(len(d.labels) for d in docs + extra)} labels, "
          f"{corpus.corpus_bytes(docs + extra):,} bytes in {time.perf_counter() - t0:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
