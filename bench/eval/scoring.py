"""Strict span scoring of detector findings against labelled documents.

A finding is a true positive when a label of the same infoType overlaps its span; a label is
found when at least one such finding exists. A finding of another infoType lying wholly inside a
*container* label (a DSN, a service-account key, a Cookie header: ``label_map.yaml``) is nested
and not scored. Every other scored finding is a false positive, including findings of the right
type at the wrong place and findings of the wrong type on a labelled value. Findings whose
infoType the corpus never labels (``universe``) are counted apart as unscored.

Documents need ``doc_id``, ``kind``, ``text``, ``labels`` (``infotype``, ``start``, ``end``) and
``decoys`` (``kind``, ``start``, ``end``); ``value_free`` is optional.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import yaml

LABEL_MAP = Path(__file__).resolve().parent / "data" / "label_map.yaml"


@lru_cache(maxsize=None)
def _label_map() -> dict:
    return yaml.safe_load(LABEL_MAP.read_text(encoding="utf-8"))


def google_name(tool: str, native: str) -> str | None:
    """The Google infoType a ``tool``'s native label stands for, or None when it names something
    the corpora do not label."""
    spec = _label_map()["tools"][tool]
    mapped = (spec.get("map") or {}).get(native)
    if mapped is not None:
        return mapped
    return native if spec.get("identity") else None


def tool_map(tool: str) -> dict[str, str]:
    """The explicit native -> Google entries of ``tool``."""
    return dict(_label_map()["tools"][tool].get("map") or {})


CONTAINERS: frozenset[str] = frozenset(_label_map()["containers"])
CONTEXTUAL: frozenset[str] = frozenset(_label_map()["contextual"])


@dataclass(frozen=True)
class Finding:
    """A detector finding reduced to what scoring needs; ``infotype`` is the Google name."""

    infotype: str | None
    start: int
    end: int
    native: str = ""


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    labels: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.labels += other.labels

    @property
    def found(self) -> int:
        return self.labels - self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p == p and r == r and p + r else float("nan")

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "labels": self.labels,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class Result:
    cells: dict[tuple[str, str], Counts] = field(default_factory=lambda: defaultdict(Counts))  # (kind, infotype)
    nested: int = 0
    unscored: Counter = field(default_factory=Counter)
    decoys: Counter = field(default_factory=Counter)
    decoy_hits: Counter = field(default_factory=Counter)
    free_false: Counter = field(default_factory=Counter)
    free_bytes: int = 0
    free_docs: int = 0
    misses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    false: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def total(self, types: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> Counts:
        """Micro-averaged counts over ``types`` and ``kinds`` (all when None)."""
        types = None if types is None else set(types)
        kinds = None if kinds is None else set(kinds)
        out = Counts()
        for (kind, t), c in self.cells.items():
            if (types is None or t in types) and (kinds is None or kind in kinds):
                out.add(c)
        return out

    def per_type(self, types: Iterable[str] | None = None) -> dict[str, Counts]:
        return {t: self.total(types=[t]) for t in sorted({t for _, t in self.cells} if types is None else set(types))}

    def per_kind(self, types: Iterable[str] | None = None) -> dict[str, Counts]:
        return {k: self.total(types=types, kinds=[k]) for k in sorted({k for k, _ in self.cells})}

    @property
    def free_per_mb(self) -> float:
        return sum(self.free_false.values()) / (self.free_bytes / 1e6) if self.free_bytes else float("nan")


def _overlap(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def mask(value: str) -> str:
    """The shape of a value without its content: the first 3 and last 2 characters of long
    values are kept, letters and digits in between are replaced."""
    value = value.replace("\n", "⏎")
    if len(value) <= 6:
        return value[:1] + "•" * (len(value) - 1)
    middle = re.sub(r"[A-Za-z0-9]", "•", value[3:-2])
    if len(middle) > 40:
        middle = middle[:18] + "…" + middle[-18:]
    return value[:3] + middle + value[-2:]


def snippet(text: str, start: int, end: int, width: int = 30) -> str:
    before = text[max(0, start - width):start].replace("\n", "⏎")
    after = text[end:end + width].replace("\n", "⏎")
    return f"…{before}[{mask(text[start:end])}]{after}…"


def score(docs, findings: Mapping[str, Iterable[Finding]], universe: Iterable[str],
          containers: frozenset[str] = CONTAINERS, examples: int = 5) -> Result:
    """Score ``findings`` (by ``doc_id``) against the labels of ``docs``. Only documents present in
    ``findings`` are scored (a tool that ran on a sample is scored on that sample)."""
    universe = frozenset(universe)
    res = Result()
    for doc in docs:
        if doc.doc_id not in findings:
            continue
        kind = doc.kind
        if getattr(doc, "value_free", False):
            res.free_docs += 1
            res.free_bytes += len(doc.text.encode())
        scored: set[tuple[str, int, int]] = set()
        for f in set(findings[doc.doc_id]):
            if f.infotype is None or f.infotype not in universe:
                res.unscored[f.native or str(f.infotype)] += 1
            else:
                scored.add((f.infotype, f.start, f.end))
        labels = doc.labels
        for label in labels:
            c = res.cells[(kind, label.infotype)]
            c.labels += 1
            if not any(t == label.infotype and _overlap(a, b, label.start, label.end) for t, a, b in scored):
                c.fn += 1
                if len(res.misses[label.infotype]) < examples:
                    res.misses[label.infotype].append(f"{doc.doc_id}: {snippet(doc.text, label.start, label.end)}")
        for t, a, b in sorted(scored, key=lambda x: (x[1], x[2], x[0])):
            if any(l.infotype == t and _overlap(a, b, l.start, l.end) for l in labels):
                res.cells[(kind, t)].tp += 1
            elif any(l.infotype != t and l.infotype in containers and l.start <= a and b <= l.end for l in labels):
                res.nested += 1
            else:
                res.cells[(kind, t)].fp += 1
                if getattr(doc, "value_free", False):
                    res.free_false[t] += 1
                if len(res.false[t]) < examples:
                    res.false[t].append(f"{doc.doc_id}: {snippet(doc.text, a, b)}")
        for decoy in doc.decoys:
            res.decoys[decoy.kind] += 1
            if any(_overlap(a, b, decoy.start, decoy.end) for _, a, b in scored):
                res.decoy_hits[decoy.kind] += 1
    return res
