"""A third evaluation set: documents of the other two written as JSON string values.

Chat exports, API payloads, NDJSON logs and ticket dumps hold text as JSON strings, where a line
break is a backslash and an ``n`` and a quote is ``\\"``: a value or a context word right after
a line break then follows a letter. ``as_json_strings`` takes labelled documents (the bench/eval
corpus, the presidio-evaluator set) and writes each one as ``{"id": "…", "text": "…"}`` with
``json.dumps``, the labels moved to where their values now stand (a value that itself holds a
character JSON escapes is labelled in its escaped form, as it stands in the file). No detection
code is imported here; the escaping is the standard library's.
"""

from __future__ import annotations

import json

from bench.eval.model import Decoy, Document, Label


def _escape_map(text: str) -> tuple[str, list[int]]:
    """``text`` JSON-escaped (no surrounding quotes, non-ASCII kept) and, for every offset of
    ``text`` (``len(text) + 1`` of them), the offset it moves to."""
    pieces: list[str] = []
    moved = [0]
    at = 0
    for ch in text:
        piece = json.dumps(ch, ensure_ascii=False)[1:-1]
        pieces.append(piece)
        at += len(piece)
        moved.append(at)
    return "".join(pieces), moved


def as_json_string(doc: Document) -> Document:
    """``doc`` as one JSON object whose ``text`` field holds the document, labels moved."""
    head = '{"id": ' + json.dumps(doc.doc_id) + ', "text": "'
    body, moved = _escape_map(doc.text)
    shift = len(head)
    labels = [Label(l.infotype, shift + moved[l.start], shift + moved[l.end]) for l in doc.labels]
    decoys = [Decoy(d.kind, shift + moved[d.start], shift + moved[d.end]) for d in doc.decoys]
    return Document(doc_id=doc.doc_id + "-json", kind=doc.kind, filename=doc.doc_id + ".json",
                    text=head + body + '"}\n', labels=labels, decoys=decoys, locale=doc.locale,
                    value_free=doc.value_free)


def as_json_strings(docs: list[Document]) -> list[Document]:
    """Every document of ``docs`` that holds a line break, tab or quote (the others would read
    the same), as a JSON string value."""
    return [as_json_string(d) for d in docs if any(c in d.text for c in '\n\t\r"')]
