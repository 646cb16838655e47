"""HTML tables read from the raw markup: which header cell speaks for which data cell.

``Engine.scan`` sees an HTML file as text when it is pasted into a chat or scanned without
extraction, so the ``<th>`` of a column must reach the ``<td>`` cells below it the way a CSV
header reaches its column (``vigil.detect.structure``). One linear pass over the table tags
(``table``, ``thead``/``tbody``/``tfoot``, ``tr``, ``td``, ``th``; everything else is content)
gives each table its rows and each row its cells, with ``colspan`` honoured so that columns line up.

* The header row is the last row of ``<thead>``, else a first row made of ``<th>`` cells only
  (at least two, or a table one column wide); every ``<thead>`` row adds its words to the columns
  it spans.
* A row whose first cell is a ``<th>`` (and not all of it) labels the other cells of the row; so
  does the first cell of a two-cell row (key/value tables).
* A cell's span is its content without surrounding blanks and tags (``<td> <b>x</b> </td>`` is
  ``x``); header and label words are the cell's text with tags removed and entities decoded.
* Rows outside any ``<table>`` (a pasted fragment) form an implicit table; unclosed cells and rows
  end at the next cell, row or table tag; nested tables are tables of their own.
"""

from __future__ import annotations

import bisect
import html
import re

from vigil.detect.rules import split_camel

_HINT = re.compile(r"<[tT][dDhH][\s>/]")  # re.I would fold case character by character
_TAG = re.compile(r"<(/?)(table|thead|tbody|tfoot|tr|td|th)(?=[\s>/])([^<>]{0,2000})>", re.I)
_COLSPAN = re.compile(r"""colspan\s*=\s*["']?\s*(\d{1,3})""", re.I)
_MARKUP = re.compile(r"<[^<>]{0,2000}>")
_BLANKS = re.compile(r"\s+")
MAX_COLSPAN = 64
MAX_TABLE_CELLS = 1_000_000
"""Cells kept per document (a larger table keeps its first million)."""


class _Row:
    __slots__ = ("start", "end", "head", "index", "cells", "label")

    def __init__(self, start: int, head: bool) -> None:
        self.start = start
        self.end = -1
        self.head = head
        self.index = 0
        self.cells: list[tuple[int, int, int, bool, int]] = []  # (start, end, column, is <th>, colspan)
        self.label: str | None = None  # computed on first use ("" when the row has none)


class _Table:
    __slots__ = ("start", "end", "rows", "header_row", "headers", "body")

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = -1
        self.rows: list[_Row] = []
        self.header_row = -1               # index of the header row, -1 when none
        self.headers: dict[int, str] = {}  # column -> header words
        self.body = (-1, -1)               # span of the rows below the header


class _Open:
    """Parser state of one table being read."""

    __slots__ = ("table", "row", "cell", "col", "in_head")

    def __init__(self, start: int) -> None:
        self.table = _Table(start)
        self.row: _Row | None = None
        self.cell: tuple[int, bool, int] | None = None  # (content start, is <th>, colspan)
        self.col = 0
        self.in_head = False


class HtmlTables:
    """The HTML tables of one document, for cell and header lookups by offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tables = _parse(text)
        rows = sorted(((row.start, row, table) for table in self.tables for row in table.rows),
                      key=lambda t: t[0])
        self._row_starts = [r[0] for r in rows]
        self._rows = [(r[1], r[2]) for r in rows]
        speaking: list[tuple[int, int, tuple[int, int]]] = []
        for table in self.tables:
            if table.header_row >= 0:
                for s, e, *_ in _head_cells(table):
                    speaking.append((s, e, table.body))
            for row in table.rows[table.header_row + 1:]:
                label = _label_cell(row)
                if label is not None:
                    speaking.append((label[0], label[1], (label[1], row.end)))
        speaking.sort()
        self._speak_starts = [s[0] for s in speaking]
        self._speaking = speaking

    @classmethod
    def of(cls, text: str) -> "HtmlTables | None":
        """The tables of ``text``, or None when it has no table cell tag (a ``<`` found by
        ``memchr``, then one regex search from it)."""
        first = text.find("<")
        if first < 0:
            return None
        return cls(text) if _HINT.search(text, first) is not None else None

    def cell(self, vs: int, ve: int) -> tuple[tuple[int, int], str, str | None] | None:
        """For a value ``[vs, ve)`` inside a ``<td>``: the cell's span, its column's header words
        ("" when none) and the row's label (None when none); None when the cell has neither."""
        i = bisect.bisect_right(self._row_starts, vs) - 1
        if i < 0:
            return None
        row, table = self._rows[i]
        if ve > row.end:
            return None
        for s, e, col, th, _span in row.cells:
            if s <= vs and ve <= e:
                break
        else:
            return None
        if th:
            return None  # a header or label cell itself
        header = ""
        if 0 <= table.header_row < row.index:
            header = table.headers.get(col, "")
        label = self._label(row, s)
        if not header and label is None:
            return None
        return (s, e), header, label

    def _label(self, row: _Row, cell_start: int) -> str | None:
        if row.label is None:
            first = _label_cell(row)
            row.label = self._words(first[0], first[1]) if first is not None else ""
        if not row.label or row.cells[0][0] == cell_start:
            return None
        return row.label

    def speaking(self, pos: int) -> tuple[int, int] | None:
        """When ``pos`` lies in a header cell: the span of the table's rows below the header; in
        a row label: the rest of the row. None otherwise."""
        i = bisect.bisect_right(self._speak_starts, pos) - 1
        while i >= 0:
            s, e, region = self._speaking[i]
            if s <= pos < e:
                return region
            if pos - s > 4096:
                break
            i -= 1  # nested spans: an earlier, longer one may still hold pos
        return None

    def enclosing(self, pos: int) -> list[tuple[str, tuple[int, int]]]:
        """The header words and body span of every table whose body holds ``pos``."""
        out = []
        for table in self.tables:
            lo, hi = table.body
            if lo <= pos < hi and table.headers:
                out.append((" | ".join(table.headers[c] for c in sorted(table.headers)), (lo, hi)))
        return out

    def _words(self, s: int, e: int) -> str:
        return _cell_words(self.text, s, e)


def _cell_words(text: str, s: int, e: int) -> str:
    """The words of a cell: tags removed, entities decoded, camelCase split, blanks collapsed."""
    raw = text[s:e]
    if "<" in raw:
        raw = _MARKUP.sub(" ", raw)
    if "&" in raw:
        raw = html.unescape(raw)
    return split_camel(_BLANKS.sub(" ", raw).strip())


def _head_cells(table: _Table) -> list[tuple[int, int, int, bool, int]]:
    return [c for row in table.rows[:table.header_row + 1] if row.head or row.index == table.header_row
            for c in row.cells]


def _label_cell(row: _Row) -> tuple[int, int, int, bool, int] | None:
    cells = row.cells
    if not cells:
        return None
    first = cells[0]
    if first[3] and not all(c[3] for c in cells):
        return first
    if len(cells) == 2 and not cells[1][3]:
        return first
    return None


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    """``[s, e)`` without surrounding blanks and tags."""
    while True:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and text[s] == "<":
            close = text.find(">", s, e)
            if close >= 0:
                s = close + 1
                continue
        if e > s and text[e - 1] == ">":
            open_ = text.rfind("<", s, e)
            if open_ >= 0:
                e = open_
                continue
        return s, e


def _parse(text: str) -> list[_Table]:
    tables: list[_Table] = []
    stack: list[_Open] = []
    cells = 0

    def close_cell(st: _Open, at: int) -> None:
        nonlocal cells
        if st.cell is None:
            return
        start, th, span = st.cell
        st.cell = None
        if st.row is not None and cells < MAX_TABLE_CELLS:
            s, e = _trim(text, start, at)
            st.row.cells.append((s, e, st.col, th, span))
            cells += 1
        st.col += span

    def close_row(st: _Open, cell_end: int, row_end: int) -> None:
        close_cell(st, cell_end)
        row = st.row
        if row is not None:
            st.row = None
            row.end = row_end
            if row.cells:
                row.index = len(st.table.rows)
                st.table.rows.append(row)

    def open_row(st: _Open, at: int) -> None:
        st.row = _Row(at, st.in_head)
        st.col = 0

    def finish(st: _Open, end: int) -> None:
        close_row(st, end, end)
        st.table.end = end
        _settle(text, st.table)
        if st.table.rows:
            tables.append(st.table)

    for m in _TAG.finditer(text):
        close = m.group(1) == "/"
        name = m.group(2).lower()
        if name == "table":
            if not close:
                stack.append(_Open(m.start()))
            elif stack:
                finish(stack.pop(), m.start())
            continue
        if not stack:
            if close or name not in ("tr", "td", "th"):
                continue
            stack.append(_Open(m.start()))  # rows without a <table>: an implicit table
        st = stack[-1]
        if name in ("thead", "tbody", "tfoot"):
            close_row(st, m.start(), m.start())
            st.in_head = name == "thead" and not close
        elif name == "tr":
            close_row(st, m.start(), m.end() if close else m.start())
            if not close:
                open_row(st, m.start())
        else:
            close_cell(st, m.start())
            if not close:
                if st.row is None:
                    open_row(st, m.start())
                attrs = m.group(3)
                span = _COLSPAN.search(attrs) if "span" in attrs else None
                colspan = min(max(int(span.group(1)), 1), MAX_COLSPAN) if span else 1
                st.cell = (m.end(), name == "th", colspan)
    while stack:
        finish(stack.pop(), len(text))
    return tables


def _settle(text: str, table: _Table) -> None:
    """Find the header row and the header words of each column."""
    rows = table.rows
    head = [row.index for row in rows if row.head]
    if head:
        table.header_row = head[-1]
    elif rows and all(c[3] for c in rows[0].cells):
        widest = max(len(r.cells) for r in rows)
        if len(rows[0].cells) >= 2 or widest == 1:
            table.header_row = 0
    if table.header_row < 0:
        return
    words: dict[int, list[str]] = {}
    for row in rows[:table.header_row + 1]:
        if not (row.head or row.index == table.header_row):
            continue
        for s, e, col, _th, span in row.cells:
            cell_words = _cell_words(text, s, e)
            if cell_words:
                for c in range(col, col + span):
                    words.setdefault(c, []).append(cell_words)
    table.headers = {c: " ".join(w) for c, w in words.items()}
    after = rows[table.header_row].end
    table.body = (after, table.end if table.end >= after else after)
