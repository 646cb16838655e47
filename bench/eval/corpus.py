"""The evaluation corpus: labelled documents of every layout plus value-free documents.

``generate(seed)`` is deterministic for a given seed (and the pinned Faker, python-stdnum and
phonenumbers versions) and takes a few seconds. ``write(docs, directory)`` puts the documents on
disk at their ``filename`` with a ``labels.jsonl`` index, e.g. for ``vigil inspect``.

    python -m bench.eval --out /tmp/eval-corpus      # write the corpus (keep it out of git)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench.eval.layouts import KINDS, Ctx
from bench.eval.model import Builder, Document
from bench.eval.values import LOCALES, Gen

CORPUS_VERSION = 1
DEFAULT_SEED = 424242
DEFAULT_DOCS = 3000
DEFAULT_FREE_DOCS = 1100


def _locale(rng: random.Random) -> str:
    names = list(LOCALES)
    return rng.choices(names, weights=[LOCALES[n].weight for n in names])[0]


def build_document(kind: str, index: int, *, seed: int = DEFAULT_SEED, value_free: bool = False) -> Document:
    """Document ``index`` of ``kind``; the same arguments always give the same document."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    spec = KINDS[kind]
    if value_free and not spec.free_weight:
        raise ValueError(f"{kind} documents always hold values")
    rng = random.Random(f"{seed}:{CORPUS_VERSION}:{kind}:{index}:{'free' if value_free else 'labelled'}")
    locale = _locale(rng)
    plants = 0 if value_free else rng.randint(*spec.plants)
    decoys = rng.randint(1, 4) if value_free else rng.randint(0, 3)
    ctx = Ctx(Builder(), Gen(rng, locale), plants, decoys, scale=3 if value_free else 1)
    ext = spec.write(ctx)
    prefix = "free-" if value_free else ""
    return ctx.b.document(doc_id=f"{prefix}{kind}-{index:05d}", kind=kind,
                          filename=f"{prefix}{kind}/{index:05d}.{ext}", locale=locale, value_free=value_free)


def generate(seed: int = DEFAULT_SEED, docs: int = DEFAULT_DOCS, free_docs: int = DEFAULT_FREE_DOCS) -> list[Document]:
    """``docs`` labelled documents and ``free_docs`` value-free ones, kinds drawn by weight."""
    rng = random.Random(f"{seed}:{CORPUS_VERSION}:plan")
    kinds = list(KINDS)
    out: list[Document] = []
    counters: dict[tuple[str, bool], int] = {}
    for value_free, n, weights in ((False, docs, [KINDS[k].weight for k in kinds]),
                                   (True, free_docs, [KINDS[k].free_weight for k in kinds])):
        for _ in range(n):
            kind = rng.choices(kinds, weights=weights)[0]
            index = counters.get((kind, value_free), 0)
            counters[(kind, value_free)] = index + 1
            out.append(build_document(kind, index, seed=seed, value_free=value_free))
    return out


def corpus_bytes(docs: list[Document]) -> int:
    return sum(len(d.text.encode()) for d in docs)


def write(docs: list[Document], directory: Path) -> list[Path]:
    """Write every document at ``directory / doc.filename`` (UTF-8, newlines as generated) and a
    ``labels.jsonl`` beside them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with open(directory / "labels.jsonl", "w", encoding="utf-8") as index:
        for doc in docs:
            path = directory / doc.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(doc.text)
            paths.append(path)
            index.write(json.dumps({"doc": doc.filename, "kind": doc.kind, "locale": doc.locale,
                                    "value_free": doc.value_free,
                                    "labels": [[x.infotype, x.start, x.end] for x in doc.labels],
                                    "decoys": [[x.kind, x.start, x.end] for x in doc.decoys]}) + "\n")
    return paths
