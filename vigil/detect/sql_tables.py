"""SQL dumps as tables: the column names of a statement are the header of the values it holds.

* ``INSERT INTO t (c1, c2, …) VALUES (v1, v2, …), (…), …;`` -- the column list is the header of
  every tuple (``INSERT IGNORE``/``INSERT OR …``/``REPLACE INTO`` alike; names may be quoted with
  backticks, double quotes or brackets, and schema-qualified).
* ``INSERT INTO t VALUES (…)`` with no column list takes the columns of the document's
  ``CREATE TABLE t (…)`` (matched on the unqualified, unquoted name, case-insensitively; column
  definitions are split at top-level commas, constraint clauses skipped).
* ``COPY t (c1, c2, …) FROM stdin;`` (pg_dump) -- the tab-separated lines up to ``\\.`` are rows.

A value's cell is its tuple item: the inside of a quoted string (``'…'``, ``N'…'``, ``E'…'``,
with ``''`` and backslash escapes), else the item without blanks. Statements are found with plain
substring searches for ``values``/``stdin``/``create`` followed by anchored matches, and each
statement's tuples are read only when a value or a context word in it asks, so a document that
merely mentions "values" costs a few ``str.find`` calls.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from vigil.detect.rules import split_camel

_IDENT = r'(?:[\w$]+|`[^`\n]{1,128}`|"[^"\n]{1,128}"|\[[^\]\n]{1,128}\])'
_NAME = rf"{_IDENT}(?:[ \t]*\.[ \t]*{_IDENT}){{0,2}}"
_INSERT = re.compile(
    rf"(?:insert(?:\s+(?:ignore|or\s+[a-z]+))?|replace)\s+into\s+(?P<name>{_NAME})\s*"
    rf"(?:\((?P<cols>[^()]{{1,16000}})\)\s*)?(?=values\b)", re.I)
_COPY = re.compile(rf"copy\s+(?P<name>{_NAME})\s*(?:\((?P<cols>[^()]{{1,16000}})\)\s*)?from\s+stdin\b[^\n]*\n", re.I)
_CREATE = re.compile(
    rf"create\s+(?:(?:global\s+|local\s+)?temp(?:orary)?\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?"
    rf"(?P<name>{_NAME})\s*(?=\()", re.I)
_TOKEN = re.compile(r"""[^'"`()\[\],;]+|'(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|""|\\.)*"|`[^`]*`|.""", re.S)
_GAP = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)

_STRING_ITEM = re.compile(r"[A-Za-z_0-9]{0,8}'(.*)'", re.S)
_QUOTED_NAME = re.compile(r'^[`"\[](.*)[`"\]]$', re.S)
_CONSTRAINTS = frozenset({"constraint", "primary", "unique", "foreign", "key", "index", "check",
                          "exclude", "fulltext", "spatial", "period", "like"})
_LOOKBACK = 16_400
"""How far before ``VALUES`` an ``INSERT … INTO name (columns)`` head may start."""
_KEYWORDS = (("values", "VALUES", "Values"), ("stdin", "STDIN"), ("create", "CREATE", "Create"))


def _after_gap(text: str, pos: int) -> int:
    """The first offset at or after ``pos`` that is no blank or comment (``_GAP`` always matches)."""
    m = _GAP.match(text, pos)
    return m.end() if m is not None else pos


@dataclass(slots=True)
class _Statement:
    kind: str                        # "insert" or "copy"
    start: int
    name: str                        # unqualified, unquoted, lower case
    columns: list[str] | None        # header words per column (None: none given)
    cols_span: tuple[int, int] | None
    values_start: int
    end: int = -1                    # -1 until the tuples are read
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Create:
    name: str
    body: tuple[int, int]
    columns: list[str]


class SqlTables:
    """The SQL statements of one document, for cell and header lookups by offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.statements: list[_Statement] = []
        self.creates: dict[str, _Create] = {}
        self._find()
        self.statements.sort(key=lambda s: s.values_start)
        self._value_starts = [s.values_start for s in self.statements]
        speaking: list[tuple[int, int, _Statement | _Create]] = [(s.cols_span[0], s.cols_span[1], s)
                                                   for s in self.statements if s.cols_span]
        speaking += [(c.body[0], c.body[1], c) for c in self.creates.values()]
        speaking.sort(key=lambda t: t[0])
        self._speak_starts = [t[0] for t in speaking]
        self._speaking = speaking

    @classmethod
    def of(cls, text: str) -> "SqlTables | None":
        """The statements of ``text``, or None when it has none."""
        if not any(k in text for k in _KEYWORDS[0]) and not any(k in text for k in _KEYWORDS[1]):
            return None
        tables = cls(text)
        return tables if tables.statements else None

    # ------------------------------------------------------------------ discovery
    def _find(self) -> None:
        text = self.text
        for word in _KEYWORDS[2]:
            pos = text.find(word)
            while pos >= 0:
                m = _CREATE.match(text, pos)
                if m is not None:
                    create = _read_create(text, m)
                    if create is not None:
                        self.creates.setdefault(create.name, create)
                pos = text.find(word, pos + 1)
        for word in _KEYWORDS[0]:
            pos = text.find(word)
            while pos >= 0:
                self._insert_before(pos)
                pos = text.find(word, pos + 1)
        for word in _KEYWORDS[1]:
            pos = text.find(word)
            while pos >= 0:
                self._copy_before(pos)
                pos = text.find(word, pos + 1)

    def _insert_before(self, values: int) -> None:
        text = self.text
        before = values
        while before > 0 and text[before - 1].isspace():
            before -= 1
        # A column list may be long; a table name alone is short (prose "the values" stops here).
        lo = max(values - (_LOOKBACK if text.startswith(")", before - 1) else 400), 0)
        into = max(text.rfind("into", lo, values), text.rfind("INTO", lo, values),
                   text.rfind("Into", lo, values))
        if into < 0:
            return
        head = -1
        for word in ("insert", "INSERT", "Insert", "replace", "REPLACE", "Replace"):
            head = max(head, text.rfind(word, max(into - 40, 0), into))
        if head < 0 or (head and (text[head - 1].isalnum() or text[head - 1] == "_")):
            return
        m = _INSERT.match(text, head)
        if m is None or m.end() != values:
            return
        start = _after_gap(text, values + 6)
        if not text.startswith("(", start):
            return
        self.statements.append(_statement("insert", text, m, start))

    def _copy_before(self, stdin: int) -> None:
        text = self.text
        line = text.rfind("\n", 0, stdin) + 1
        head = max(text.rfind("copy", line, stdin), text.rfind("COPY", line, stdin))
        if head < 0:
            return
        m = _COPY.match(text, head)
        if m is None:
            return
        self.statements.append(_statement("copy", text, m, m.end()))

    # ------------------------------------------------------------------ reading statements
    def _columns(self, st: _Statement) -> list[str] | None:
        if st.columns is not None:
            return st.columns
        create = self.creates.get(st.name)
        return create.columns if create is not None else None

    def _read(self, st: _Statement) -> None:
        """Find the tuples (or COPY lines) of ``st`` and where it ends."""
        if st.end >= 0:
            return
        text, n = self.text, len(self.text)
        if st.kind == "copy":
            pos = st.values_start
            while pos < n:
                nl = text.find("\n", pos)
                end = n if nl < 0 else nl
                line_end = end - 1 if end > pos and text[end - 1] == "\r" else end
                if text.startswith("\\.", pos) and line_end - pos == 2:
                    break
                st.starts.append(pos)
                st.ends.append(line_end)
                pos = end + 1
            st.end = min(pos, n)
            return
        pos = st.values_start
        while True:
            end = _group(text, pos)[0]
            if end < 0:
                break
            st.starts.append(pos)
            st.ends.append(end)
            nxt = _after_gap(text, end)
            if not text.startswith(",", nxt):
                break
            pos = _after_gap(text, nxt + 1)
            if not text.startswith("(", pos):
                break
        st.end = st.ends[-1] if st.ends else st.values_start

    def _items(self, st: _Statement, i: int) -> list[tuple[int, int]]:
        s, e = st.starts[i], st.ends[i]
        if st.kind == "copy":
            spans, pos = [], s
            while True:
                tab = self.text.find("\t", pos, e)
                if tab < 0:
                    spans.append((pos, e))
                    return spans
                spans.append((pos, tab))
                pos = tab + 1
        return _group(self.text, s, e)[1]

    # ------------------------------------------------------------------ lookups
    def _statement_at(self, pos: int) -> _Statement | None:
        i = bisect.bisect_right(self._value_starts, pos) - 1
        if i < 0:
            return None
        st = self.statements[i]
        self._read(st)
        return st if pos < st.end else None

    def cell(self, vs: int, ve: int) -> tuple[tuple[int, int], str, None] | None:
        """For a value ``[vs, ve)`` in a tuple item of a statement with known columns: the cell's
        span and its column's name as header words."""
        st = self._statement_at(vs)
        if st is None:
            return None
        columns = self._columns(st)
        if not columns:
            return None
        i = bisect.bisect_right(st.starts, vs) - 1
        if i < 0 or ve > st.ends[i]:
            return None
        for k, (s, e) in enumerate(self._items(st, i)):
            if s <= vs and ve <= e:
                if k >= len(columns):
                    return None
                return _value_span(self.text, s, e, st.kind == "copy"), columns[k], None
        return None

    def speaking(self, pos: int) -> tuple[int, int] | None:
        """When ``pos`` lies in a column list: the span of the statement's values; in a ``CREATE
        TABLE``: the span of the statements without a column list that fill that table."""
        i = bisect.bisect_right(self._speak_starts, pos) - 1
        if i < 0:
            return None
        s, e, what = self._speaking[i]
        if not s <= pos < e:
            return None
        if isinstance(what, _Statement):
            self._read(what)
            return what.values_start, what.end
        spans = []
        for st in self.statements:
            if st.columns is None and st.name == what.name:
                self._read(st)
                spans.append((st.values_start, st.end))
        return (spans[0][0], spans[-1][1]) if spans else None

    def enclosing(self, pos: int) -> list[tuple[str, tuple[int, int]]]:
        """The column names and values span of the statement whose values hold ``pos``."""
        st = self._statement_at(pos)
        if st is None:
            return []
        columns = self._columns(st)
        return [(" | ".join(columns), (st.values_start, st.end))] if columns else []


def _statement(kind: str, text: str, m: re.Match[str], values_start: int) -> _Statement:
    cols = m.group("cols")
    columns = None
    span = None
    if cols is not None and cols.strip():
        span = m.span("cols")
        start = m.start("cols") - 1  # the opening parenthesis
        columns = [_column_words(text[a:b]) for a, b in _group(text, start, m.end("cols") + 1)[1]]
    return _Statement(kind, m.start(), _table_name(m.group("name")), columns, span, values_start)


def _table_name(name: str) -> str:
    last = re.split(r"[ \t]*\.[ \t]*(?=[\w$`\"\[])", name)[-1]
    return _unquote(last).lower()


def _unquote(name: str) -> str:
    name = name.strip()
    m = _QUOTED_NAME.match(name)
    return m.group(1) if m else name


def _column_words(name: str) -> str:
    return split_camel(_unquote(name))


def _read_create(text: str, m: re.Match[str]) -> _Create | None:
    open_ = m.end()
    close, parts = _group(text, open_)
    if close < 0:
        return None
    columns = []
    for a, b in parts:
        words = text[a:b].split()
        if not words:
            continue
        first = words[0]
        if first.lower() in _CONSTRAINTS:
            continue
        columns.append(_column_words(first))
    return _Create(_table_name(m.group("name")), (open_, close), columns)


def _group(text: str, pos: int, end: int | None = None) -> tuple[int, list[tuple[int, int]]]:
    """The parenthesised group at ``pos``: where it ends (after the closing parenthesis; -1 when
    it is not closed before ``end`` or a statement ends inside it) and the spans of its items
    (split at top-level commas, outside quotes)."""
    items: list[tuple[int, int]] = []
    if not text.startswith("(", pos):
        return -1, items
    depth, start = 0, pos + 1
    for m in _TOKEN.finditer(text, pos, len(text) if end is None else end):
        tok = m.group()
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                items.append((start, m.start()))
                return m.end(), items
        elif tok == "," and depth == 1:
            items.append((start, m.start()))
            start = m.end()
        elif tok == ";":
            break  # a statement ends inside the group: not a tuple
    return -1, items


def _value_span(text: str, s: int, e: int, copy: bool) -> tuple[int, int]:
    """An item without blanks, and a quoted string item without its quotes."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if not copy:
        m = _STRING_ITEM.fullmatch(text, s, e)
        if m is not None:
            return m.span(1)
        if e - s >= 2 and text[s] == '"' and text[e - 1] == '"':
            return s + 1, e - 1
    return s, e
