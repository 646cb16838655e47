"""Document structure the engine uses as context: table columns and list headings.

A value in a table cell takes its context from its own cell, its column's header and, in a
two-column table, the row's label -- not from whatever lies within a character window (the
header of the next column, the row above). This is Google DLP's "table inspection" and Macie's
"column name counts as the keyword", applied to tables written as text: CSV/TSV files,
Markdown/pipe tables, comma-separated rows pasted into a chat, and the tab-separated rows that
extraction gives for HTML, spreadsheet and word-processor tables.

A table is a run of consecutive lines with the same delimiter (tab, pipe, comma or semicolon,
in that order of preference) and the same number of cells, whose first line looks like a header
(short names, no values). Markdown separator rows (``|---|:--:|``) belong to the table.

A header cell is a short name: letters of any script, digits, ``_ . # / & + ' -`` and a short
parenthesised unit, or an index column's ``#``/``No.``. Separator rows -- Markdown ``|---|:--:|``,
psql ``----+----`` and console borders ``+----+----+`` -- belong to the table and are no data.

HTML tables written as markup (``vigil.detect.html_tables``) and SQL statements
(``vigil.detect.sql_tables``: ``INSERT`` column lists, ``CREATE TABLE``, ``COPY … FROM stdin``)
give their cells and headers the same way.

A list item (``- x``, ``* x``, ``1. x``) also takes the heading line above its list as context.

Everything is computed lazily around the positions the engine asks about and cached for one
document, so text without candidates costs nothing. Offsets are document offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, cast

from vigil.detect.html_tables import HtmlTables
from vigil.detect.rules import split_camel
from vigil.detect.sql_tables import SqlTables

__all__ = ["CellContext", "Row", "Structure", "split_camel"]

MAX_ROW_CHARS = 4096
"""Longer lines are never table rows (keeps splitting cheap on minified code)."""
MAX_WALK_LINES = 200_000
"""Rows visited when looking for a table's header or end."""
MAX_LIST_ITEMS = 200
"""List items walked over to find a list's heading."""

_DELIMS = ("\t", "|", ",", ";")
_QUOTED_FIELD = {d: re.compile(r'[ ]*(?:"(?:[^"]|"")*"[ ]*|[^%s"]*)' % re.escape(d)) for d in "\t,;"}
_HEADER_CELL = re.compile(
    r"(?:[#\u2116]\s?)?[^\W\d_][\w.#/&+'\u2019 -]{0,47}(?: ?\([\w ./-]{1,24}\))?[?#.:\u00ba\u00b0]?"
    r"|#|No\.?|N[\u00ba\u00b0]|\u2116")
_SEPARATOR_CELL = re.compile(r":?[-=]{2,}:?")
_BORDER = re.compile(r"[ \t]*\+?[-=]{2,}(?:\+[-=]{2,})+\+?[ \t]*\r?")
"""A psql separator (``----+----``) or a console table border (``+----+----+``)."""
_INSERT_WORDS = re.compile("INSERT|insert|Insert|REPLACE|replace")
_SQL_HEAD_WORDS = re.compile(_INSERT_WORDS.pattern + "|COPY|copy|CREATE|create|Create")
_SQL_TUPLE_LINE = re.compile(r"[ \t]*(?:VALUES|values)?[ \t]*,?[ \t]*\(")
_SQL_COLUMN_DEF = re.compile(
    r"[ \t]*+[`\"\[]?[\w$]{1,64}+[`\"\]]?[ \t]++(?i:(?:big|small|tiny|medium)?int(?:eger)?|serial|bigserial|text|"
    r"n?varchar|n?char|character|date|datetime|timestamp(?:tz)?|time|numeric|decimal|real|float|double|"
    r"bool(?:ean)?|blob|bytea|uuid|jsonb?|money|string)\b")
"""A column definition line of a ``CREATE TABLE`` written one column a line."""


_HEADING = object()
"""A line followed by list items (its region is found on first use)."""

MAX_KEY_CHARS = 48
_KEY_OPENERS = frozenset("\n{[,;\"'*\u2022|>(")
_KEY_TAIL = re.compile(
    r"""[\w#/&+'-]*(?:[ .][\w#/&+'-]+){0,4}?["']?[ \t]*(?::=|=>|->|:|=|[-\u2013](?=[ \t])|\u2192|(?<=#)(?=[ \t]+[A-Za-z]{0,3}\d))[ \t]*["'`]?""")
"""The rest of a key after a word in it (at most four more words, no sentence break), its
separator (a ``#`` closing the key counts before a value with a digit: ``DL# 67 289 571``, not
``the DL# field``) and the opening of its value."""
_NEXT_FIELD = re.compile(r"""["'`][ \t]*[,;][ \t]*["']?[\w .#/&+'-]{1,48}["']?[ \t]*(?::|=)""")
"""The end of a quoted value and the key of the next field (JSON, Python dicts)."""


_SIBLING_VALUE = re.compile(r"""[:=][ \t]{0,3}["']?\Z""")
"""The key of a field whose value is the word that follows (``"type": "mobile"``)."""


def _is_key_char(ch: str) -> bool:
    return ch.isalnum() or ch in " _.#/&+'-"


_LIST_ITEM = re.compile(r"[ \t]{0,8}(?:[-*+\u2022]|\d{1,3}[.)]|[a-z][.)])[ \t]+\S")
@dataclass(frozen=True, slots=True)
class Row:
    """One table line: its delimiter and the spans of its cells (trimmed of blanks and quotes)."""

    start: int
    end: int
    delim: str
    cells: tuple[tuple[int, int], ...]

    def cell_index(self, vs: int, ve: int) -> int:
        """Index of the cell that contains ``[vs, ve)``, or -1."""
        for i, (s, e) in enumerate(self.cells):
            if s <= vs and ve <= e:
                return i
        return -1


@dataclass(frozen=True, slots=True)
class CellContext:
    """Where a value sits in a table: its cell's span, its column header's words ("" when the
    table has none) and the row label's words (two-column tables, HTML row headers; else None)."""

    cell: tuple[int, int]
    header: str
    label: str | None


@dataclass(slots=True)
class _Block:
    header: Row
    end: int = -1  # end offset of the last row; -1 until walked


class Structure:
    """Lazily discovered tables and lists of one document (``text``)."""

    __slots__ = ("text", "n", "_html", "_sql", "_rows", "_blocks", "_cells", "_headings",
                 "_line_kinds", "_header_words_cache")
    _UNSET: ClassVar[object] = object()

    def __init__(self, text: str) -> None:
        # Caches: _rows: line start -> Row; _blocks: line start -> table; _cells: value span ->
        # CellContext; _headings: line start -> list heading; _line_kinds: line start -> what
        # the line's context words speak for (word_region); _header_words_cache: (header row
        # start, column) -> words. HTML tables and SQL statements are found on first need.
        # (Slots, not a __getattr__ that makes the caches on first use: a class with
        # __getattr__ makes every attribute read slower.)
        self.text = text
        self.n = len(text)
        self._html: HtmlTables | None | object = Structure._UNSET
        self._sql: SqlTables | None | object = Structure._UNSET
        self._rows: dict = {}
        self._blocks: dict = {}
        self._cells: dict = {}
        self._headings: dict = {}
        self._line_kinds: dict = {}
        self._header_words_cache: dict = {}

    def _has_markup(self) -> bool:
        """Whether the document has a table cell tag (one regex search, then cached)."""
        if self._html is Structure._UNSET:
            self._html = HtmlTables.of(self.text)
        return self._html is not None

    def html_tables(self) -> HtmlTables | None:
        """The document's HTML tables (None when it has no table cell tag)."""
        if self._html is Structure._UNSET:
            self._html = HtmlTables.of(self.text)
        return self._html  # type: ignore[return-value]

    def sql_tables(self) -> SqlTables | None:
        """The document's SQL statements that hold rows (None when it has none)."""
        if self._sql is Structure._UNSET:
            self._sql = SqlTables.of(self.text)
        return self._sql  # type: ignore[return-value]

    # ------------------------------------------------------------------ lines and rows
    def line_bounds(self, pos: int) -> tuple[int, int]:
        """Start and end (before the newline) of the line holding ``pos``."""
        text = self.text
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        return start, (self.n if end < 0 else end)

    def _row_line(self, start: int) -> str | None:
        """The line starting at ``start`` without its line break, or None when it cannot be a
        row (empty, or longer than ``MAX_ROW_CHARS``)."""
        end = self.text.find("\n", start)
        end = self.n if end < 0 else end
        if not 0 < end - start <= MAX_ROW_CHARS:
            return None
        line = self.text[start:end]
        return line[:-1] if line.endswith("\r") else line

    def _row(self, start: int) -> Row | None:
        """The table row of the line starting at ``start`` (None when it is no row)."""
        try:
            return self._rows[start]
        except KeyError:
            pass
        line = self._row_line(start)
        row = None if line is None else _parse_row(line, start)
        self._rows[start] = row
        return row

    def _shape(self, start: int) -> tuple[str, int] | None:
        """``(delimiter, cell count)`` of the line starting at ``start`` as a row (None when it is
        no row): what ``_compatible`` compares, without splitting the cells of a plain line
        (walks over long runs of code lines with commas); see ``_plain_shape``."""
        row = self._rows.get(start, Structure._UNSET)
        if row is Structure._UNSET:
            line = self._row_line(start)
            shape = None if line is None else _plain_shape(line)
            if shape is not None:
                return shape
            row = self._row(start)
        return None if row is None else (row.delim, len(row.cells))  # type: ignore[union-attr]

    def _prev_line(self, start: int) -> int:
        """Start of the line before the one starting at ``start`` (-1 at the top)."""
        if start <= 0:
            return -1
        return self.text.rfind("\n", 0, start - 1) + 1

    def _next_line(self, start: int) -> int:
        """Start of the line after the one starting at ``start`` (-1 at the bottom)."""
        end = self.text.find("\n", start)
        return -1 if end < 0 or end + 1 >= self.n else end + 1

    # ------------------------------------------------------------------ tables
    def _block(self, start: int) -> _Block | None:
        """The table (with a header) that the line starting at ``start`` belongs to."""
        if start in self._blocks:
            return self._blocks[start]
        row = self._row(start)
        if row is None:
            self._blocks[start] = None
            return None
        visited = [start]
        shape = (row.delim, len(row.cells))
        found: _Block | None = None
        joined = False
        cursor = start
        for _ in range(MAX_WALK_LINES):
            prev = self._prev_line(cursor)
            if prev < 0:
                break
            if self._shape(prev) != shape:  # the rows of the walk are only parsed when needed
                break
            if prev in self._blocks:  # joins a run already walked
                found, joined = self._blocks[prev], True
                break
            visited.append(prev)
            cursor = prev
        if not joined:
            # A console table starts with a border: its header is the first row that is no rule.
            top = row
            for line in reversed(visited):
                walked = self._row(line)
                assert walked is not None  # every walked line has the table's shape
                top = walked
                if not _is_separator(self.text, top):
                    break
            if self._is_header(top):
                found = _Block(top)
        for line in visited:
            self._blocks[line] = found
        return found

    def _is_header(self, row: Row) -> bool:
        """A header row: every cell a short name, at least two named cells, and (comma or
        semicolon tables) three columns or a second data row, so prose with commas is no table."""
        names = 0
        text = self.text
        for s, e in row.cells:
            if s == e:
                continue
            cell = text[s:e]
            if not _HEADER_CELL.fullmatch(cell) or cell.count(" ") > 4:
                return False
            names += 1
        if names < 2:
            return False
        if row.delim in ",;" and len(row.cells) < 3:
            second = self._next_line(self._next_line(row.start)) if self._next_line(row.start) >= 0 else -1
            return second >= 0 and _compatible(self._row(second), row)
        return True

    def cell_context(self, vs: int, ve: int) -> CellContext | None:
        """Cell, header and label of the value ``[vs, ve)`` when it sits in a data cell of a
        table with a header (or, in HTML, a row label); None otherwise (the value is then scored
        by its neighbourhood)."""
        key = (vs, ve)
        if key in self._cells:
            return self._cells[key]
        result = None
        start, end = self.line_bounds(vs)
        if ve <= end and start > 0 and self._row_above(start, end):
            block = self._block(start)
            if block is not None and block.header.start != start:
                row = self._row(start)
                i = row.cell_index(vs, ve) if row is not None else -1
                if row is not None and i >= 0 and not _is_separator(self.text, row):
                    label = self._words(row.cells[0]) if len(row.cells) == 2 and i == 1 else None
                    result = CellContext(row.cells[i], self._header_words(block.header, i), label)
        if result is None:
            found = None
            if self._between(vs, ve, ">", "<"):
                html = self.html_tables()
                if html is not None:
                    found = html.cell(vs, ve)
            if found is None and self._sql_shaped(vs, ve, start, end):
                sql = self.sql_tables()
                if sql is not None:
                    found = sql.cell(vs, ve)
            if found is not None:
                result = CellContext(*found)
        self._cells[key] = result
        return result

    def _words(self, span: tuple[int, int]) -> str:
        return split_camel(self.text[span[0]:span[1]])

    def _header_words(self, header: Row, i: int) -> str:
        key = (header.start, i)
        words = self._header_words_cache.get(key)
        if words is None:
            words = self._header_words_cache[key] = self._words(header.cells[i])
        return words

    def _between(self, vs: int, ve: int, left: str, right: str) -> bool:
        """Whether the nearest non-blank characters around ``[vs, ve)`` are ``left`` and
        ``right`` (one of them, for several)."""
        text = self.text
        i = vs - 1
        while i >= 0 and text[i] in " \t\r\n":
            i -= 1
        if i < 0 or text[i] not in left:
            return False
        j = ve
        n = self.n
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j < n and text[j] in right

    def _sql_shaped(self, vs: int, ve: int, line_start: int, line_end: int) -> bool:
        """Cheap test before SQL statements are looked for (a search of the whole document):
        the value is a tuple item (quotes, commas or parentheses around it) on a line that holds
        an ``INSERT``/``REPLACE`` or starts a tuple, or a tab-separated field (``COPY`` rows)."""
        text = self.text
        if self._between(vs, ve, "'\"(,", "'\"),"):
            return (_SQL_TUPLE_LINE.match(text, line_start, line_end) is not None
                    or _INSERT_WORDS.search(text, line_start, line_end) is not None)
        return (vs == line_start or text[vs - 1] == "\t") and (ve >= self.n or text[ve] in "\t\r\n")

    def _row_above(self, start: int, end: int) -> bool:
        """Cheap test: the line has a delimiter and the line above has the same one, or is a
        rule ``---+---`` under a pipe row (a data row always has its header or another row
        above it)."""
        if end - start > MAX_ROW_CHARS:
            return False
        text = self.text
        prev = text.rfind("\n", 0, start - 1) + 1
        if start - 1 - prev < 1:  # a blank line above (the common case in prose): settled unsplit
            return False
        delim = _delimiter(text[start:end])
        if delim is None:
            return False
        if text.find(delim, prev, start - 1) >= 0:
            return True
        return delim == "|" and text.find("+", prev, start - 1) >= 0

    def table_below_header(self, pos: int) -> tuple[int, int] | None:
        """When ``pos`` lies in a table's header line: the span of the table's data rows."""
        start, end = self.line_bounds(pos)
        row = self._row(start)
        if row is None or not self._is_header(row):
            return None  # the block below could only have this row as its header
        nxt = self._next_line(start)
        if nxt < 0 or not _compatible(self._row(nxt), row):
            return None
        block = self._block(nxt)
        if block is None or block.header.start != start:
            return None
        return nxt, self._block_end(block)

    def _block_end(self, block: _Block) -> int:
        """End of the last data row of ``block``: its rows are the lines below the header with
        the header's shape (compared by ``_shape``, without splitting plain lines' cells: a
        table of a hundred thousand rows is walked once, when a word in its header is met)."""
        if block.end < 0:
            header = block.header
            shape = (header.delim, len(header.cells))
            cursor = header.start
            last_end = header.end
            for _ in range(MAX_WALK_LINES):
                nxt = self._next_line(cursor)
                if nxt < 0 or self._shape(nxt) != shape:
                    break
                self._blocks.setdefault(nxt, block)
                line = self._row_line(nxt)
                assert line is not None  # a row with a shape has a line
                last_end = nxt + len(line)
                cursor = nxt
            block.end = last_end
        return block.end

    def enclosing_headers(self, pos: int) -> list[tuple[str, tuple[int, int]]]:
        """The header text and data span of each table whose data holds ``pos``: a line table
        whose data row is the line of ``pos``, an HTML table, a SQL statement (lets a later
        chunk of a long document see the header of its table)."""
        out = []
        start, _ = self.line_bounds(pos)
        block = self._block(start)
        if block is not None and block.header.start != start:
            first = self._next_line(block.header.start)
            header = block.header
            out.append((self.text[header.start:header.end], (first, self._block_end(block))))
        html = self.html_tables()
        if html is not None:
            out += html.enclosing(pos)
        sql = self.sql_tables()
        if sql is not None:
            out += sql.enclosing(pos)
        return out

    # ------------------------------------------------------------------ keyed values
    def labels_other_value(self, ws: int, we: int, vs: int) -> bool:
        """Whether the word ``[ws, we)`` is (part of) the key of a key/value pair whose value is
        not the one starting at ``vs``: ``DL Number: 357157865`` on the line above a value,
        ``"NPI": "…"`` before ``"Driver_License": "…"`` in a JSON object. Such a word labels its
        own value and does not speak for a neighbour. A key with nothing after it on its line
        (a heading, a parent YAML key) and the value's own key do speak for it."""
        text = self.text
        i = ws
        limit = max(ws - MAX_KEY_CHARS, 0)
        while i > limit and _is_key_char(text[i - 1]):
            i -= 1
        if i > 0 and text[i - 1] not in _KEY_OPENERS:
            return False  # not at the start of a key (or too long for one): prose
        m = _KEY_TAIL.match(text, we)
        if m is None:
            return False
        p = m.end()
        if p >= self.n or text[p] in "\r\n":
            return False  # a heading: it speaks for what follows
        if p <= vs:
            between = text[p:vs]
            return "\n" in between or _NEXT_FIELD.search(between) is not None
        # A "key" that runs over the value (``my account key is 7+wc…==``: the separator was the
        # value's own padding) is no key: the word is the value's label.
        return vs < we

    def word_speaks_for(self, ws: int, we: int, vs: int, ve: int, own_label: bool) -> bool:
        """Whether the context word ``[ws, we)`` may count for the value ``[vs, ve)``: not when
        it comes after the value on a later line (``id 3571`` over ``mobile``) -- unless it is the
        value of a sibling field there (``"type": "mobile"`` under ``"number": "…"``) -- and, with
        ``own_label``, not when it labels another value (``labels_other_value``)."""
        text = self.text
        if we > ve and text.find("\n", ve, ws) >= 0:
            line_start = text.rfind("\n", 0, ws) + 1
            return _SIBLING_VALUE.search(text, line_start, ws) is not None
        return not (own_label and self.labels_other_value(ws, we, vs))

    # ------------------------------------------------------------------ lists
    def list_heading(self, pos: int) -> tuple[int, int] | None:
        """The heading line above the list whose item holds ``pos`` (None when not in a list)."""
        start, end = self.line_bounds(pos)
        if start in self._headings:
            return self._headings[start]
        result = None
        visited = []
        cursor = start
        if _LIST_ITEM.match(self.text, start, end):
            for _ in range(MAX_LIST_ITEMS):
                visited.append(cursor)
                prev = self._prev_line(cursor)
                if prev < 0:
                    break
                if prev in self._headings:
                    result = self._headings[prev]
                    break
                pend = cursor - 1
                if _LIST_ITEM.match(self.text, prev, pend):
                    cursor = prev
                    continue
                if self.text[prev:pend].strip():
                    result = (prev, pend)
                break
        for line in visited:
            self._headings[line] = result
        return result

    def list_below_heading(self, pos: int) -> tuple[int, int] | None:
        """When ``pos`` lies in a line directly followed by list items: the span of those items."""
        start, end = self.line_bounds(pos)
        cursor = self._next_line(start)
        if cursor < 0 or not _LIST_ITEM.match(self.text, cursor, self.line_bounds(cursor)[1]):
            return None
        first = cursor
        last_end = self.line_bounds(cursor)[1]
        for _ in range(MAX_LIST_ITEMS):
            nxt = self._next_line(cursor)
            if nxt < 0:
                break
            nend = self.line_bounds(nxt)[1]
            if not _LIST_ITEM.match(self.text, nxt, nend):
                break
            last_end, cursor = nend, nxt
        return first, last_end

    # ------------------------------------------------------------------ for the backends
    def word_region(self, pos: int) -> tuple[int, int] | None:
        """Where a context word at ``pos`` speaks for values beyond its character window: the
        data rows of the table whose header holds it (a header line, an HTML header cell or row
        label, a SQL column list or ``CREATE TABLE``), or the list it heads. What the word's
        line can be is worked out once per line (most words sit in prose lines, which a few
        character searches settle)."""
        text = self.text
        start = text.rfind("\n", 0, pos) + 1
        nl = text.find("\n", pos)
        if (nl < 0 or nl + 1 >= self.n or text[nl + 1] in "\r\n") and not self._has_markup() \
                and text.find("(", start, pos) < 0 and _SQL_COLUMN_DEF.match(text, start, pos) is None \
                and not (start > 0 and self._row_above(start, self.n if nl < 0 else nl)):
            return None  # prose followed by a blank line (or the end): settled without more work
        info = self._line_kinds.get(start)
        if info is None:
            info = self._line_kinds[start] = self._line_kind(start)
        markup, sql_head, region = info
        if markup:
            html = self.html_tables()
            found = html.speaking(pos) if html is not None else None
            if found is not None:
                return found
        if sql_head:
            sql = self.sql_tables()
            found = sql.speaking(pos) if sql is not None else None
            if found is not None:
                return found
        if region is _HEADING:
            region = self._line_kinds[start] = (markup, sql_head, self.list_below_heading(pos))
            region = region[2]
        return cast("tuple[int, int] | None", region)

    def _line_kind(self, start: int) -> tuple[bool, bool, object]:
        """For the line starting at ``start``: whether it holds markup, whether it may head SQL
        values (``INSERT``/``COPY``/``CREATE`` with a parenthesis, or a column definition), and
        the region a line-table header or a two-column row label in it speaks for (``_HEADING``
        when list items follow it)."""
        text = self.text
        end = text.find("\n", start)
        line_end = self.n if end < 0 else end
        markup = text.find("<", start, line_end) >= 0
        sql_head = ((text.find("(", start, line_end) >= 0
                     and _SQL_HEAD_WORDS.search(text, start, line_end) is not None)
                    or _SQL_COLUMN_DEF.match(text, start, line_end) is not None)
        region: object = None
        nxt = end + 1
        has_next = 0 <= end and nxt < self.n and text[nxt] not in "\r\n"
        if has_next and _LIST_ITEM.match(text, nxt):
            region = _HEADING
        elif line_end - start <= MAX_ROW_CHARS:
            delim = _delimiter(text[start:line_end])
            if delim is not None:
                if has_next:
                    nend = text.find("\n", nxt)
                    nend = self.n if nend < 0 else nend
                    if text.find(delim, nxt, nend) >= 0 or (delim == "|" and text.find("+", nxt, nend) >= 0):
                        region = self.table_below_header(start)
                if region is None and start > 0 and self._row_above(start, line_end):
                    region = self._labelled_cell(start)
        return markup, sql_head, region

    def _labelled_cell(self, start: int) -> tuple[int, int] | None:
        """When the line starting at ``start`` is a data row of a two-column table: its second
        cell, which the row label (the first cell) speaks for."""
        row = self._row(start)
        if row is None or len(row.cells) != 2 or _is_separator(self.text, row):
            return None
        block = self._block(start)
        if block is None or block.header.start == start:
            return None
        return row.cells[1][0], row.end


def _plain_shape(line: str) -> tuple[str, int] | None:
    """``(delimiter, cell count)`` of a comma, semicolon or tab line without quotes, which
    ``_parse_row`` splits at every delimiter; None for any other line (parse it instead)."""
    delim = _delimiter(line)
    if delim is None or delim == "|" or '"' in line:
        return None
    return delim, line.count(delim) + 1


def _parse_row(line: str, base: int) -> Row | None:
    delim = _delimiter(line)
    if delim is None:
        if "+" in line and _BORDER.fullmatch(line):
            return _border_row(line, base)
        return None
    if delim == "|":
        spans = _pipe_cells(line)
    elif '"' in line:
        quoted = _quoted_cells(line, delim)
        if quoted is None:
            return None
        spans = quoted
    else:
        spans = []
        pos = 0
        while True:
            i = line.find(delim, pos)
            if i < 0:
                spans.append((pos, len(line)))
                break
            spans.append((pos, i))
            pos = i + 1
    cells = tuple(_trim(line, s, e, base) for s, e in spans)
    return Row(base, base + len(line), delim, cells)


def _border_row(line: str, base: int) -> Row:
    """A rule ``----+----`` or border ``+----+----+``: one dash run per column, pipe-delimited."""
    cells = tuple((base + m.start(), base + m.end()) for m in re.finditer(r"[-=]+", line))
    return Row(base, base + len(line.rstrip("\r")), "|", cells)


def _delimiter(line: str) -> str | None:
    if "\t" in line:
        return "\t"
    if "|" in line:
        stripped = line.strip()
        if stripped.startswith("|") or stripped.count("|") >= 2:
            return "|"
    if "," in line:
        return ","
    if ";" in line:
        return ";"
    return None


def _pipe_cells(line: str) -> list[tuple[int, int]]:
    left = len(line) - len(line.lstrip())
    right = len(line.rstrip())
    if line.startswith("|", left):
        left += 1
    if right > left and line[right - 1] == "|":
        right -= 1
    spans = []
    pos = left
    while True:
        i = line.find("|", pos, right)
        if i < 0:
            spans.append((pos, right))
            return spans
        spans.append((pos, i))
        pos = i + 1


def _quoted_cells(line: str, delim: str) -> list[tuple[int, int]] | None:
    field = _QUOTED_FIELD[delim]
    spans = []
    pos = 0
    n = len(line)
    while True:
        m = field.match(line, pos)
        end = m.end() if m is not None else pos  # a field's pattern matches the empty string
        spans.append((pos, end))
        if end >= n:
            return spans
        if line[end] != delim:
            return None  # a stray quote: not a well-formed row
        pos = end + 1


def _trim(line: str, s: int, e: int, base: int) -> tuple[int, int]:
    while s < e and line[s] in " \t":
        s += 1
    while e > s and line[e - 1] in " \t\r":
        e -= 1
    if e - s >= 2 and line[s] == '"' and line[e - 1] == '"':
        s, e = s + 1, e - 1
    return base + s, base + e


def _compatible(row: Row | None, other: Row) -> bool:
    return row is not None and row.delim == other.delim and len(row.cells) == len(other.cells)


def _is_separator(text: str, row: Row) -> bool:
    return row.delim == "|" and all(_SEPARATOR_CELL.fullmatch(text[s:e]) for s, e in row.cells if s < e)
