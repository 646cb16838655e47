"""The labelled document: text, exact-span labels, hard negatives, and the builder that writes them.

A ``Builder`` appends text piece by piece; a sensitive value is appended with ``value`` and gets a
``Label`` whose span is exactly where it landed, a hard negative with ``decoy``. ``fill`` renders a
``str.format``-style template whose fields are ``Val`` (labelled), ``Neg`` (hard negative) or
plain text, so a template never computes offsets by hand.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Label:
    """A sensitive value: ``text[start:end]`` is the value, ``infotype`` its Google DLP name."""

    infotype: str
    start: int
    end: int


@dataclass(frozen=True)
class Decoy:
    """A hard negative: ``text[start:end]`` looks sensitive but is not (``kind`` says what it is)."""

    kind: str
    start: int
    end: int


@dataclass
class Document:
    """One corpus document and its ground truth."""

    doc_id: str
    kind: str
    filename: str
    text: str
    labels: list[Label] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)
    locale: str = "en_US"
    value_free: bool = False


@dataclass(frozen=True)
class Val:
    """A template field holding a sensitive value of ``infotype``."""

    infotype: str
    text: str


@dataclass(frozen=True)
class Neg:
    """A template field holding a hard negative of ``kind``."""

    kind: str
    text: str


_FORMATTER = string.Formatter()


class Builder:
    """Accumulates document text with labels and decoys at exact character offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._len = 0
        self.labels: list[Label] = []
        self.decoys: list[Decoy] = []

    def __len__(self) -> int:
        return self._len

    def add(self, text: str) -> "Builder":
        """Append plain (unlabelled) text."""
        if text:
            self._parts.append(text)
            self._len += len(text)
        return self

    def value(self, infotype: str, text: str) -> "Builder":
        """Append a sensitive value and label it."""
        start = self._len
        self.add(text)
        self.labels.append(Label(infotype, start, self._len))
        return self

    def decoy(self, kind: str, text: str) -> "Builder":
        """Append a hard negative and record it."""
        start = self._len
        self.add(text)
        self.decoys.append(Decoy(kind, start, self._len))
        return self

    def put(self, item: "str | Val | Neg") -> "Builder":
        """Append one template field: labelled, decoy or plain."""
        if isinstance(item, Val):
            return self.value(item.infotype, item.text)
        if isinstance(item, Neg):
            return self.decoy(item.kind, item.text)
        return self.add(str(item))

    def fill(self, template: str, **fields: "str | Val | Neg") -> "Builder":
        """Render ``template`` (``{name}`` fields, ``{{``/``}}`` literal braces) into the document."""
        for literal, name, spec, conv in _FORMATTER.parse(template):
            self.add(literal)
            if name is None:
                continue
            if spec or conv:
                raise ValueError(f"template field {name!r} takes no format spec")
            self.put(fields[name])
        return self

    def endswith(self, chars: str) -> bool:
        """Whether the text so far ends with one of ``chars``."""
        return bool(self._parts) and self._parts[-1][-1:] in tuple(chars)

    def end_sentence(self, then: str = "") -> "Builder":
        """Close a sentence with a full stop unless it already ends with punctuation."""
        if not self.endswith(".?!)`"):
            self.add(".")
        return self.add(then)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def document(self, doc_id: str, kind: str, filename: str, locale: str, value_free: bool) -> Document:
        """The finished document; a value-free document must hold no label."""
        if value_free and self.labels:
            raise AssertionError(f"{doc_id}: value-free document got {len(self.labels)} labels")
        return Document(doc_id=doc_id, kind=kind, filename=filename, text=self.text, labels=list(self.labels),
                        decoys=list(self.decoys), locale=locale, value_free=value_free)
