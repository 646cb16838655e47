"""Where a match inside a segment's text lies in its object: locator, offsets, line and column.

``Segment.place(start, end)`` turns offsets into a segment's text (what the detection engine
scanned) into a ``Place``:

- plain-text formats (text, code, Markdown, logs, CSV/TSV, JSON, NDJSON, YAML): the segment is the
  whole decoded file, so offsets are offsets into it; ``line``/``column`` are 1-based positions
  in it; the locator is ``line:N`` of the match (JSON: the ``json:$.path``
  of the value; NDJSON: ``line:N/json:$.path``);
- XML and HTML: the segment text is the document's text content; offsets and line/column are
  mapped back to the decoded source file (through the positions the parser reported for each
  piece of text), the locator stays ``text`` / ``attr:NAME``;
- tables of spreadsheets and word-processor documents: the segment is the table as tab-separated
  rows (so the engine can read column headers); the locator is the cell (``sheet:NAME!B7``,
  ``table:1/row:3/col:2``) and offsets, line and column are within that cell;
- everything else (PDF pages, DOCX paragraphs, slides, e-mail parts, notebook cells …): offsets,
  line and column within the located unit.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Protocol


_LINE_TAIL = re.compile(r"(^|#|/)line:(\d+)$")


@dataclass(frozen=True, slots=True)
class Place:
    """A match's position in its object (see the module docstring for what is relative to what)."""

    locator: str
    start: int
    end: int
    line: int
    column: int


class Positions(Protocol):
    def place(self, text: str, locator: str, start: int, end: int) -> Place: ...


class LineIndex:
    """Line starts of a text, for 1-based line and column of an offset (built once, bisected)."""

    def __init__(self, text: str) -> None:
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.starts = starts

    def line_column(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text`` (one pass; for a single lookup)."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _with_line(locator: str, line: int) -> str:
    m = _LINE_TAIL.search(locator)
    if m:
        return locator[:m.start(2)] + str(line)
    return locator


class WholeText:
    """The segment is the object's whole decoded text: offsets stay, ``line:N`` is refined to the
    line of the match (in CSV/TSV too: a value on the third line of a quoted multi-line record is
    ``line:3``, the line a person scrolls to)."""

    def __init__(self) -> None:
        self._index: LineIndex | None = None

    def place(self, text: str, locator: str, start: int, end: int) -> Place:
        if self._index is None:
            self._index = LineIndex(text)
        line, column = self._index.line_column(start)
        return Place(_with_line(locator, line), start, end, line, column)


class JsonText:
    """The segment is a JSON (or NDJSON) document's raw text: the locator is the JSON path of the
    value holding the match (``json:$.a[0].b``; NDJSON ``line:N/json:$.b``). The segment's own
    locator ends with ``suffix`` (``json:$`` or ``line:1``) after the member path, if any."""

    def __init__(self, ndjson: bool = False) -> None:
        self.ndjson = ndjson
        self.suffix = "line:1" if ndjson else "json:$"
        self._index: LineIndex | None = None
        self._paths: dict[int, tuple[list[int], list[int], list[str]]] = {}

    def place(self, text: str, locator: str, start: int, end: int) -> Place:
        if self._index is None:
            self._index = LineIndex(text)
        line, column = self._index.line_column(start)
        prefix = locator[: len(locator) - len(self.suffix)] if locator.endswith(self.suffix) else ""
        if self.ndjson:
            base = self._index.starts[line - 1]
            stop = text.find("\n", base)
            stop = len(text) if stop < 0 else stop
            path = self._path(text, base, stop, start)
            shown = f"line:{line}/json:{path}" if path else f"line:{line}"
        else:
            path = self._path(text, 0, len(text), start)
            shown = f"json:{path}" if path else f"line:{line}"
        return Place(prefix + shown, start, end, line, column)

    def _path(self, text: str, lo: int, hi: int, offset: int) -> str | None:
        key = lo
        if key not in self._paths:
            self._paths[key] = _json_value_spans(text, lo, hi)
        starts, ends, paths = self._paths[key]
        i = bisect.bisect_right(starts, offset) - 1
        if i >= 0 and offset < ends[i]:
            return paths[i]
        return "$" if starts else None


MAX_JSON_DEPTH = 256
"""Nesting levels a JSON path names; deeper values are located at their ancestor of that depth."""
MAX_JSON_KEY = 128
"""Characters of an object key kept in a JSON path (longer keys end with an ellipsis)."""

_JSON_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([{}\[\],:])|([^\s{}\[\],:"]+))', re.S)


def _json_value_spans(text: str, lo: int, hi: int) -> tuple[list[int], list[int], list[str]]:
    """Start, end and JSONPath of every scalar value (and every object key, which is reported with
    its member's path) in ``text[lo:hi]``, in order. Tolerant: stops at the first token it cannot
    place."""
    starts: list[int] = []
    ends: list[int] = []
    paths: list[str] = []
    stack: list[list] = []  # [kind, path, key-or-index, expecting_key]
    pos = lo
    path = "$"
    while pos < hi:
        m = _JSON_TOKEN.match(text, pos, hi)
        if not m or m.end() == pos:
            break
        pos = m.end()
        string, punct, bare = m.group(1), m.group(2), m.group(3)
        top = stack[-1] if stack else None
        if punct:
            if punct in "{[":
                # Deeper than MAX_JSON_DEPTH, values keep the path of their ancestor at that depth
                # (paths of hostile nesting would otherwise grow quadratically).
                child = _child_path(top, path) if len(stack) < MAX_JSON_DEPTH else top[1]
                stack.append(["{" if punct == "{" else "[", child, 0 if punct == "[" else None, punct == "{"])
            elif punct in "}]":
                if stack:
                    stack.pop()
            elif punct == ",":
                if top is not None:
                    if top[0] == "[":
                        top[2] += 1
                    else:
                        top[3] = True
            continue
        token_start = m.start(1) if string else m.start(3)
        if top is not None and top[0] == "{" and top[3]:
            try:
                top[2] = json.loads(string) if string else bare
            except ValueError:
                top[2] = string[1:-1] if string else bare
            top[3] = False
            starts.append(token_start)
            ends.append(pos)
            paths.append(_child_path(top, path))
            continue
        starts.append(token_start)
        ends.append(pos)
        paths.append(_child_path(top, path))
    return starts, ends, paths


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _child_path(top: list | None, root: str) -> str:
    if top is None:
        return root
    parent, key = top[1], top[2]
    if top[0] == "[":
        return f"{parent}[{key}]"
    key = str(key)
    if len(key) > MAX_JSON_KEY:
        key = key[:MAX_JSON_KEY] + "\u2026"
    return f"{parent}.{key}" if _IDENT.match(key) else f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


class SourceText:
    """The segment text was extracted from markup: ``anchors`` pair offsets in the segment text
    with offsets in the decoded ``source`` (one per run of text found verbatim in the source, see
    ``SourceAnchors``). Offsets, line and column are mapped to the source; the locator stays."""

    def __init__(self, source: str, anchors: list[tuple[int, int]]) -> None:
        self.source = source
        self.text_offsets = [a for a, _ in anchors]
        self.source_offsets = [b for _, b in anchors]
        self._index: LineIndex | None = None

    def to_source(self, offset: int) -> int:
        i = bisect.bisect_right(self.text_offsets, offset) - 1
        if i < 0:
            return 0
        return self.source_offsets[i] + (offset - self.text_offsets[i])

    def place(self, text: str, locator: str, start: int, end: int) -> Place:
        if self._index is None:
            self._index = LineIndex(self.source)
        s = self.to_source(start)
        e = max(s + (end - start), self.to_source(max(end - 1, start)) + 1)
        line, column = self._index.line_column(s)
        return Place(locator, s, e, line, column)


CELL_LINE_BREAK = "\u2028"
"""Stands for a line break inside a cell of a table segment (rows are separated by ``\n`` and
cells by ``\t``, so a cell's own breaks and tabs become this character and a space)."""


def cell_text(value: str) -> str:
    """A cell's text as it appears in a table segment (same length as ``value``)."""
    return value.replace("\r\n", " " + CELL_LINE_BREAK).replace("\n", CELL_LINE_BREAK) \
        .replace("\r", CELL_LINE_BREAK).replace("\t", " ")


class Cells:
    """The segment is a table written as tab-separated rows; ``cells`` are ``(start, locator)``
    of each cell's text in it, in order. Offsets, line and column are within the cell."""

    def __init__(self, cells: list[tuple[int, str]]) -> None:
        self.starts = [c[0] for c in cells]
        self.locators = [c[1] for c in cells]

    def place(self, text: str, locator: str, start: int, end: int) -> Place:
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0:
            return Place(locator, start, end, *line_column(text, start))
        cell_start = self.starts[i]
        local = start - cell_start
        line = text.count(CELL_LINE_BREAK, cell_start, start) + 1
        column = start - max(text.rfind(CELL_LINE_BREAK, cell_start, start) + 1, cell_start) + 1
        return Place(self.locators[i], local, local + (end - start), line, column)


class Regions:
    """The segment is a whole decoded file made of located parts (an e-mail's headers and body):
    offsets stay, the locator is the (full) locator of the part holding the match."""

    def __init__(self, regions: list[tuple[int, str]]) -> None:
        self.starts = [r[0] for r in regions]
        self.locators = [r[1] for r in regions]
        self._index: LineIndex | None = None

    def place(self, text: str, locator: str, start: int, end: int) -> Place:
        if self._index is None:
            self._index = LineIndex(text)
        i = bisect.bisect_right(self.starts, start) - 1
        shown = self.locators[i] if i >= 0 else locator
        return Place(shown, start, end, *self._index.line_column(start))


_SAFE_RUN = re.compile("[^&<>\"'\u00a0\r\n]{3,}")
_SEARCH_WINDOW = 1 << 16
_MAX_RUNS = 64


class SourceAnchors:
    """Collects ``(text offset, source offset)`` anchors while a parser hands out decoded text:
    each run of characters that entities cannot have produced is looked up in the source after
    the previous one (within 64 KiB, so hostile input cannot make this quadratic)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.cursor = 0
        self.anchors: list[tuple[int, int]] = []

    def add(self, text_offset: int, piece: str) -> None:
        """``piece`` (decoded) starts at ``text_offset`` of the extracted text."""
        source = self.source
        for n, run in enumerate(_SAFE_RUN.finditer(piece)):
            if n >= _MAX_RUNS:
                break
            value = run.group()
            found = source.find(value, self.cursor, self.cursor + _SEARCH_WINDOW + len(value))
            if found < 0:
                continue
            self.anchors.append((text_offset + run.start(), found))
            self.cursor = found + len(value)

    def positions(self) -> SourceText:
        return SourceText(self.source, self.anchors)


class TableBuilder:
    """Builds a table segment: rows of cells as tab-separated lines, remembering where each
    non-empty cell starts and its locator (``Cells``)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.cells: list[tuple[int, str]] = []
        self.row_open = False

    def add_row(self, values: list[tuple[str, str]]) -> None:
        """One row: ``(text, locator)`` per column (empty text for an empty cell)."""
        if self.size:
            self.parts.append("\n")
            self.size += 1
        for i, (value, locator) in enumerate(values):
            if i:
                self.parts.append("\t")
                self.size += 1
            if value:
                value = cell_text(value)
                self.cells.append((self.size, locator))
                self.parts.append(value)
                self.size += len(value)

    def build(self) -> tuple[str, "Cells"]:
        return "".join(self.parts), Cells(self.cells)
