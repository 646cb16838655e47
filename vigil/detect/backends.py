"""Candidate backends: find every match of every rule in a text.

Both backends return exactly the same matches, by construction:

* a *direct* rule's matches are what ``rule.regex.finditer(text)`` yields over the whole text;
* a *context-required* rule (one whose matches cannot reach POSSIBLE without a context word,
  see ``Rule.context_required``) keeps those of its whole-text matches whose value has one of
  its context words in its ``hotword_window``: a word end ``w`` (an occurrence with no ASCII
  letter on either side but the letter of an escape written out before it, case-insensitive)
  with ``vs - before <= w <= vs`` or ``ve < w <= ve + after``.

A direct rule with a non-ASCII character in its pattern (a keyword such as ``비밀번호``, a
custom detector's ``番号``; ``_has_non_ascii``) is not in the Hyperscan database, which sees such
characters as ``?``: both backends run its regex over the whole text, the Hyperscan one, for a
rule whose matches start with non-ASCII keywords (``_needs_non_ascii``), only where one occurs.

Context words of other rules are not looked up here: the engine checks them only around the
few candidates that need them (``vigil.detect.engine``), the same way for both backends.

``PythonBackend`` computes those definitions literally. ``HyperscanBackend`` makes one Hyperscan
pass over the text (one byte per character) with every direct rule (prefilter mode, so Hyperscan
over-reports but never misses; the rules that start with a prefix such as ``gsk_`` joined into
alternations of about a dozen, *families*, whose events a small database of the family's rules
resolves to rules, see ``FAMILY_BASE``) and
the context words of context-required rules (exact mode) in one database, then runs the Python
regex only in merged windows around the reported positions (``_confirm``). Context-required
rules have small databases of their own (their digit-class
patterns would slow the main pass down by half), one per group of rules that share context
words (``_rule_groups``): each scans only the merged neighbourhoods
``[w - after - max_span - PAD, w + before + max_span + PAD]`` of its own words' ends, which hold
every match that can pass the word test, and its events are confirmed the same way.
Why the windows give the same matches as a whole-text pass:

* every true match contains a reported position ``p`` with ``start < p <= end`` (the match end
  for full patterns, moved back by ``Rule.hs_end_shift`` when the Hyperscan pattern consumes the
  character after the match; the anchor end for anchored rules);
* windows reach ``max_span + PAD`` around each position and overlapping windows are merged, so no
  true match crosses a window edge and the search inside a window resumes from the same state as
  the whole-text search;
* a window match that contains no reported position is an artefact of cutting the text at the
  window end and is dropped.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, TypeAlias

from vigil.detect.rules import UNICODE_BOUNDARY, Rule, WordForm, rules_digest, width, word_forms, word_pattern

try:  # Python 3.11+
    from re import _constants as _sre_constants, _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]
from vigil.detect.structure import Structure

log = logging.getLogger(__name__)

PAD = 64
"""Slack around each window for lookarounds and word boundaries (chars)."""

HOTWORD_BASE = 1 << 20
"""Hyperscan ids at or above this report a context word (id - HOTWORD_BASE = word index) and end
one character after it (the consumed boundary; the main pass appends a newline to the text so
that a word ending the text has one too)."""

FAMILY_BASE = 1 << 21
"""Hyperscan ids at or above this report a *family* of direct rules (id - FAMILY_BASE = family
index): the main database holds each family's rules as one alternation, and the family's own
database (its rules as separate expressions) says which of them matched, scanned only around
the family's events (``HyperscanBackend._family_events``)."""

LOWER_BEFORE_BASE = 1 << 22
"""Hyperscan ids at or above this report a context-word spelling that needs a lower-case letter
before it (``customerSSN``, ``userPassword``; id - LOWER_BEFORE_BASE indexes
``HyperscanBackend.lower_before``). The main database holds such a spelling without that letter,
and ``HyperscanBackend._lower_before_events`` checks it: a one-character class before the word
made the whole main pass 12-15% slower (1.5 MB each of chat and code), and the checks run a few
times per MB."""

FAMILY_SIZE = 12
FAMILY_BYTES = 8000
"""Direct rules with a selective start (``_families``) are joined into families of at most this
many rules and expression bytes. One alternation costs Hyperscan far less than its members as
separate expressions (the main pass over 3 MB of chat and code: 14.1 ms with 152 separate rule
expressions, 11.6 ms with all of them in families of 12, 12.3 in families of 4); a family event
costs one scan of a short window, so rules that fire on common text stay alone."""

RawMatch = tuple[int, int, int, int, int]
"""(rule index, match start, match end, value start, value end), character offsets."""

_hs: Any
try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on machines without the wheel
    _hs = None

StructureSource: TypeAlias = Structure | Callable[[], Structure] | None
"""A document's structure, or a function that makes it (called only when needed), or None."""


def hyperscan_available() -> bool:
    """Whether the ``hyperscan`` wheel can be imported."""
    return _hs is not None


class Backend(Protocol):
    name: str

    def find(self, text: str, structure: StructureSource = None, offset: int = 0) -> list[RawMatch]:
        """All matches of all rules in ``text`` (``text`` is ``structure.text[offset:]`` cut to
        a view; the structure -- or a function returning it, called only when needed -- lends
        table and list context to context-required rules)."""


class _Plan:
    """How rules split into direct and context-required ones, and the context words of the
    latter; shared by both backends so they compute the same thing."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.words: list[str] = []          # context words (their standard regex, the key)
        self.forms: list[list[WordForm]] = []
        self.stems: list[str] = []          # lower-case first token every spelling starts with
        by_pattern: dict[str, int] = {}
        self.direct: list[int] = []
        self.gated: list[int] = []
        self.cell_only: set[int] = set()
        self.reach: dict[int, tuple[int, int]] = {}
        self.slack: dict[int, int] = {}
        rule_words: dict[int, list[int]] = {}
        self.non_ascii: list[int] = []  # direct rules whose pattern holds a non-ASCII character
        for idx, rule in enumerate(rules):
            if not rule.context_required:
                (self.non_ascii if _has_non_ascii(rule.pattern) else self.direct).append(idx)
                continue
            self.gated.append(idx)
            if rule.scope == "cell":
                self.cell_only.add(idx)
            words, slack = _trigger_words(rule.hotwords)
            before, after = rule.hotword_window
            self.slack[idx] = slack
            self.reach[idx] = (after + rule.max_span + PAD, before + slack + rule.max_span + PAD)
            ids = rule_words[idx] = []
            for word in words:
                pattern = word_pattern(word)
                if pattern not in by_pattern:
                    by_pattern[pattern] = len(self.words)
                    self.words.append(pattern)
                    self.forms.append(word_forms(word))
                    self.stems.append(word.split()[0].lower())
                ids.append(by_pattern[pattern])
        self.word_rules: list[list[int]] = [[] for _ in self.words]
        for idx, ids in rule_words.items():
            for w in ids:
                self.word_rules[w].append(idx)
        self.word_regexes = [_compiled("|".join(f.python for f in forms), re.I | re.ASCII)
                             for forms in self.forms]
        # Words with non-ASCII letters: Hyperscan sees "?" for those, so both backends find them
        # with their Python regex (only in texts that are not pure ASCII).
        self.unicode_words = [w for w, forms in enumerate(self.forms) if forms[0].left == UNICODE_BOUNDARY]
        # How far around a word end its rules' matches can lie (the widest of its rules).
        self.word_reach = [(max((self.reach[i][0] for i in rules_), default=0),
                            max((self.reach[i][1] for i in rules_), default=0))
                           for rules_ in self.word_rules]
        # Context-required rules with a non-ASCII character: Hyperscan cannot see it, so their
        # regex runs over the whole text near their words, as in the Python backend (``_gated``).
        self.gated_non_ascii = {idx for idx in self.gated if _has_non_ascii(rules[idx].pattern)}
        scanned = self.cell_only | self.gated_non_ascii
        self.groups, self.group_of, self.word_group = _rule_groups(
            [idx for idx in self.gated if idx not in scanned],
            [[i for i in rules_ if i not in scanned] for rules_ in self.word_rules])

    def unicode_word_ends(self, text: str, word_ends: dict[int, list[int]]) -> None:
        """Add the ends of the non-ASCII context words in ``text`` to ``word_ends``."""
        if self.unicode_words and not text.isascii():
            low = text.lower()
            aligned = len(low) == len(text)
            for w in self.unicode_words:
                ends = self.word_ends(w, text, low if aligned else None)
                if ends:
                    word_ends.setdefault(w, []).extend(ends)

    def word_ends(self, w: int, text: str, low: str | None) -> list[int]:
        """The ends of context word ``w`` in ``text``. With ``low`` (``text.lower()``, when it
        keeps every offset) the word regex is tried only where its stem occurs: its leading
        lookbehinds defeat ``re``'s literal search, so a plain finditer tries every position
        (about thirty times slower)."""
        rx = self.word_regexes[w]
        if low is None:
            return [m.end() for m in rx.finditer(text)]
        stem = self.stems[w]
        ends: list[int] = []
        last = 0
        find, match = low.find, rx.match
        i = find(stem)
        while i >= 0:
            if i >= last:
                m = match(text, i)
                if m is not None:
                    last = m.end()
                    ends.append(last)
            i = find(stem, i + 1)
        return ends

    def word_hints(self, word_ends: dict[int, list[int]]) -> dict[int, list[int]]:
        """Per context-required rule, the sorted ends of its context words (``word_ends``: the
        sorted ends of each word)."""
        hints: dict[int, list[int]] = {}
        for w, ends in word_ends.items():
            for idx in self.word_rules[w]:
                hints[idx] = sorted(hints[idx] + ends) if idx in hints else ends
        return hints

    def regions(self, structure: StructureSource, offset: int, n: int,
                word_ends: dict[int, list[int]]) -> dict[int, list[tuple[int, int]]]:
        """Per context-required rule, the spans of the view (local offsets) where its context
        words speak beyond their character window: the data rows of a table whose header holds
        one, the items of a list whose heading holds one, and -- for a view that starts inside a
        table whose header lies before it (a later chunk of a long file) -- that table's rows
        when its header holds one. ``structure`` may be a function that makes it: it is called
        only for a view with context words or one that starts inside the document."""
        out: dict[int, list[tuple[int, int]]] = {}
        if structure is None:
            return out
        # A function is called (the structure made) only when needed.
        doc, make = (structure, None) if isinstance(structure, Structure) else (None, structure)
        word_rules = self.word_rules
        for w, ends in word_ends.items():
            for e in ends:
                # The structure is made on the first word that may speak beyond its window;
                # word_region settles most words (prose followed by a blank line) cheaply.
                if doc is None:
                    assert make is not None
                    doc = make()
                region = doc.word_region(offset + e - 1)
                if region is not None:
                    clipped = _clip(region, offset, n)
                    if clipped is not None:
                        for idx in word_rules[w]:
                            out.setdefault(idx, []).append(clipped)
        if offset > 0:
            if doc is None:
                assert make is not None
                doc = make()
            for header_text, span in doc.enclosing_headers(offset):
                clipped = _clip(span, offset, n)
                for w, rx in enumerate(self.word_regexes):
                    if clipped is not None and rx.search(header_text):
                        for idx in word_rules[w]:
                            out.setdefault(idx, []).append(clipped)
        return {idx: _merge(spans) for idx, spans in out.items()} if out else out

    def near_words(self, idx: int, matches: Iterable[re.Match[str]], ends: list[int],
                   regions: list[tuple[int, int]]) -> list[RawMatch]:
        """The matches of context-required rule ``idx`` whose value has a word end in its
        hotword window or lies inside one of its ``regions`` (see ``regions``); a ``scope:
        cell`` rule only counts the regions."""
        before, after = self.rules[idx].hotword_window
        before += self.slack[idx]
        out: list[RawMatch] = []
        count = len(ends) if idx not in self.cell_only else 0
        starts = [lo for lo, _ in regions]
        for m in matches:
            vs, ve = _value_span(m)
            if regions:
                r = bisect.bisect_right(starts, vs) - 1
                if r >= 0 and ve <= regions[r][1]:
                    out.append((idx, m.start(), m.end(), vs, ve))
                    continue
            if not count:
                continue
            i = bisect.bisect_left(ends, vs - before)
            if i < count and (ends[i] <= vs or ve < ends[i] <= ve + after):
                out.append((idx, m.start(), m.end(), vs, ve))
                continue
            i = bisect.bisect_right(ends, ve)
            if i < count and ends[i] <= ve + after:
                out.append((idx, m.start(), m.end(), vs, ve))
        return out


def _rule_groups(loose: list[int], word_rules: list[list[int]]) -> tuple[list[list[int]], dict[int, int], list[int]]:
    """The context-required rules (``loose``, not cell-only) in groups that share no context
    word: the groups, each rule's group, each word's group (-1 for a word of cell-only rules).
    A word's neighbourhood is scanned with its own group's database only: ``mobile`` brings the
    three phone patterns, not the broad ``basic-auth-credentials`` one, which fires on every
    long word."""
    parent = {idx: idx for idx in loose}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for rules_ in word_rules:
        for i in rules_[1:]:
            parent[root(i)] = root(rules_[0])
    roots: dict[int, int] = {}
    groups: list[list[int]] = []
    group_of: dict[int, int] = {}
    for idx in loose:
        g = roots.setdefault(root(idx), len(groups))
        if g == len(groups):
            groups.append([])
        groups[g].append(idx)
        group_of[idx] = g
    word_group = [group_of[rules_[0]] if rules_ else -1 for rules_ in word_rules]
    return groups, group_of, word_group


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    """``re.compile``, remembered for the process: a plan compiles a few hundred context-word
    regexes, which the rules' own compiles have pushed out of ``re``'s cache (512 patterns) by
    the time a second engine is built (a scan builds one per run; 0.6 s each)."""
    return re.compile(pattern, flags)


def _trigger_words(hotwords: Iterable[str]) -> tuple[list[str], int]:
    """The context words that must be looked for to find a rule's candidates, and the slack
    this costs. A word that contains another of the rule's words on word boundaries
    (``passport_number`` contains ``passport``, ``bank_routing`` contains ``routing``) occurs
    only where that one does, ending up to ``slack`` characters later; the engine still scores
    candidates with every word."""
    words = sorted({w.strip() for w in hotwords if w.strip()}, key=len)
    kept: list[tuple[str, re.Pattern[str]]] = []
    slack = 0
    for word in words:
        run_together = word.replace(" ", "")  # ``passportnumber`` holds no ``passport`` word
        inner = next((k for k, rx in kept if rx.search(word) and rx.search(run_together)), None)
        if inner is None:
            kept.append((word, _compiled(word_forms(word)[0].python, re.I)))
        else:
            slack = max(slack, len(word) - len(inner) + 2)  # a separator may be two characters
    return sorted(k for k, _ in kept), slack


_ANY_LEFT, _ANY_RIGHT = "(?:^|[^A-Za-z])", "[^A-Za-z]"
_PLAIN_CORE = re.compile(r"[A-Za-z]+(?:\(\?:e\?s\)\?)?")


def _hs_word_forms(forms: list[WordForm]) -> list[tuple[str, str, str, bool]]:
    """Hyperscan expressions (left, core, right, caseless) with the same match ends as
    ``forms``. The camelCase spellings of a one-word word (``password``, ``Password``) are
    narrowed to the boundaries that the first, any-case spelling does not already accept (an
    upper-case letter after the word, a lower-case one before it): the same ends, found with
    fewer confirmations (each spelling re-confirms every occurrence of the word's letters)."""
    first = forms[0]
    out = [(first.left, first.core, first.right, first.caseless)]
    plain = (first.caseless and first.left == _ANY_LEFT and first.right == _ANY_RIGHT
             and _PLAIN_CORE.fullmatch(first.core) is not None)
    for form in forms[1:]:
        same = plain and not form.caseless and form.core.lower() == first.core.lower()
        if same and form.left == _ANY_LEFT and form.right == "[^a-z]":
            out.append((_ANY_LEFT, form.core, "[A-Z]", False))       # non-letter after: first form
        elif same and form.left == "(?:^|[^A-Z])" and form.right == "[^a-z]":
            out.append(("[a-z]", form.core, "[^a-z]", False))        # lower-case letter before
            out.append((_ANY_LEFT, form.core, "[A-Z]", False))       # else: non-letter both sides is the first form's
        else:
            out.append((form.left, form.core, form.right, form.caseless))
    return out


def _clip(span: tuple[int, int], offset: int, n: int) -> tuple[int, int] | None:
    lo, hi = max(span[0] - offset, 0), min(span[1] - offset, n)
    return (lo, hi) if lo < hi else None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = sorted(spans)
    merged = [spans[0]]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """The span of the first ``value…`` group that took part in the match, else the match."""
    if m.re.groups:
        for name in m.re.groupindex:
            if m.start(name) >= 0:
                return m.span(name)
    return m.span()


class PythonBackend:
    """Pure-Python reference backend: the definitions above, computed literally."""

    name = "python"

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.plan = _Plan(rules)

    def find(self, text: str, structure: StructureSource = None, offset: int = 0) -> list[RawMatch]:
        out: list[RawMatch] = []
        for idx in self.plan.direct + self.plan.non_ascii:  # every direct rule, over the whole text
            for m in self.rules[idx].regex.finditer(text):
                vs, ve = _value_span(m)
                out.append((idx, m.start(), m.end(), vs, ve))
        word_ends = {}
        lowered = text.lower()
        low = lowered if len(lowered) == len(text) else None  # lower() moved offsets (a few letters grow: İ)
        for w in range(len(self.plan.words)):
            ends = self.plan.word_ends(w, text, low)
            if ends:
                word_ends[w] = ends
        hints = self.plan.word_hints(word_ends)
        regions = self.plan.regions(structure, offset, len(text), word_ends)
        for idx in sorted(set(hints) | set(regions)):
            out.extend(self.plan.near_words(idx, self.rules[idx].regex.finditer(text),
                                            hints.get(idx, []), regions.get(idx, [])))
        return out


def _cache_dir() -> Path:
    base = os.environ.get("VIGIL_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vigil"


class HyperscanBackend:
    """One Hyperscan pass for candidates, Python ``re`` confirmation in small windows."""

    name = "hyperscan"

    def __init__(self, rules: list[Rule], cache_dir: Path | None = None) -> None:
        if _hs is None:
            raise RuntimeError("the hyperscan wheel is not installed; use backend='python'")
        self.rules = rules
        self.plan = _Plan(rules)
        self._reach = {idx: _reach(rule) for idx, rule in enumerate(rules)}
        self._shift = {idx: rule.hs_end_shift for idx, rule in enumerate(rules)}
        self._lead = {idx: (rule.lead_regex, rule.lead_reach, rule.lead_width) for idx, rule in enumerate(rules)
                      if rule.lead_regex is not None}
        # The escape, the longest context word and the consumed character after it.
        self._escaped_word_reach = 2 + max((width(rx.pattern, rx.flags) for rx in self.plan.word_regexes),
                                           default=0) + 1

        cache_dir = cache_dir or _cache_dir()
        self._digest = rules_digest(rules)
        # For a rule every match of which starts with a non-ASCII literal, those literals (it runs
        # only on text that holds one); for any other rule with a non-ASCII character, None (its
        # regex runs over every text: Hyperscan could not see the character).
        self._keywords = {idx: _leading_literals(rules[idx].pattern)
                          if not rules[idx].ignore_case and _needs_non_ascii(rules[idx].pattern) else None
                          for idx in self.plan.non_ascii}
        self.families = _families(rules, self.plan.direct)
        # How far before a family event its rule's Hyperscan match can start (the widest member).
        self._family_reach = [max(rules[i].max_span for i in family) + PAD for family in self.families]
        self.family_dbs = [self._load_or_compile(cache_dir, *self._rule_expressions(family))
                           for family in self.families]
        self.lower_before: list[tuple[int, re.Pattern[bytes], int, int]] = []  # set by _expressions
        self.db = self._load_or_compile(cache_dir, *self._expressions())
        cells = sorted(self.plan.cell_only - self.plan.gated_non_ascii)
        # One small database per group of context-required rules (``_rule_groups``), scanned
        # only around its own words. Cell rules match almost any token: they get their own
        # database, scanned only over the tables whose header names them.
        self.gated_dbs = [self._load_or_compile(cache_dir, *self._rule_expressions(group))
                          for group in self.plan.groups]
        self.cell_db = self._load_or_compile(cache_dir, *self._rule_expressions(cells)) if cells else None

    # ------------------------------------------------------------------ compile / cache
    def _expressions(self) -> tuple[list[bytes], list[int], list[int]]:
        """Direct rules in families (prefilter, one alternation per family) and the context words
        of context-required rules (exact, those needing a lower-case letter before them checked
        for it: ``lower_before``, set here)."""
        expressions, ids, flags = [], [], []
        # (word index, the whole spelling as a bytes regex, its shortest and longest match)
        lower_before: list[tuple[int, re.Pattern[bytes], int, int]] = []
        for k, family in enumerate(self.families):
            members, member_ids, member_flags = self._rule_expressions(family)
            if len(family) == 1:  # a family of one is its rule: no window scan to say which
                expressions += members
                ids += member_ids
                flags += member_flags
                continue
            expressions.append(b"|".join([b"(?:" + _NAMED_GROUP.sub(b"(?:", m) + b")" for m in members]))
            ids.append(FAMILY_BASE + k)
            flags.append(member_flags[0])
        for w, forms in enumerate(self.plan.forms):
            # Exact (not prefilter), both boundaries consumed; find() maps the end back. Words
            # with non-ASCII letters are found in Python (``_Plan.unicode_word_ends``).
            for left, core, right, caseless in _hs_word_forms(forms):
                if left == UNICODE_BOUNDARY:
                    continue
                flags.append(_hs.HS_FLAG_CASELESS if caseless else 0)
                if left == "[a-z]":
                    whole = f"{left}{core}{right}".encode()
                    shortest, longest = _sre_parse.parse(whole.decode()).getwidth()
                    expressions.append(f"{core}{right}".encode())
                    ids.append(LOWER_BEFORE_BASE + len(lower_before))
                    lower_before.append((w, re.compile(whole, re.I if caseless else 0), int(shortest), int(longest)))
                    continue
                expressions.append(f"{left}{core}{right}".encode())
                ids.append(HOTWORD_BASE + w)
        self.lower_before = lower_before
        return expressions, ids, flags

    def _rule_expressions(self, indexes: list[int]) -> tuple[list[bytes], list[int], list[int]]:
        expressions, ids, flags = [], [], []
        for idx in indexes:
            rule = self.rules[idx]
            expressions.append(rule.hs_pattern.encode())
            ids.append(idx)
            flags.append(_hs.HS_FLAG_PREFILTER | (_hs.HS_FLAG_CASELESS if rule.ignore_case else 0))
        return expressions, ids, flags

    def _load_or_compile(self, cache_dir: Path, expressions: list[bytes], ids: list[int],
                         flags: list[int]):  # noqa: ANN202 - hyperscan.Database
        version = getattr(_hs, "__version__", "0")
        blob = repr((self._digest, expressions, ids, flags, version)).encode()
        path = cache_dir / f"hs-{hashlib.sha256(blob).hexdigest()[:40]}.db"
        try:
            db = _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
            db.scratch = _hs.Scratch(db)  # a deserialised database has no scratch space yet
            return db
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - a stale or corrupt cache is rebuilt
            log.warning("ignoring unreadable detector cache %s: %s", path.name, type(exc).__name__)
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        db.compile(expressions=expressions, ids=ids, flags=flags)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".hs-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(_hs.dumpb(db))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot write detector cache in %s: %s", cache_dir, exc.strerror)
        return db

    # ------------------------------------------------------------------ scanning
    def find(self, text: str, structure: StructureSource = None, offset: int = 0) -> list[RawMatch]:
        # One byte per character, so Hyperscan offsets are character offsets. Non-ASCII
        # characters become "?": no rule pattern or context word accepts a non-ASCII character
        # where it would reject "?" (checked by the conformance tests), so the prefilter still
        # over-reports; context words with non-ASCII letters are not in the database but found
        # with their Python regex, as the Python backend does (``_Plan.unicode_word_ends``).
        events: list[int] = []
        append = events.append

        def on_match(rule_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(rule_id << 32 | to)

        # The appended newline gives a context word at the very end its consumed boundary; it
        # only adds prefilter events, and no confirmed match reaches it.
        data = text.encode("ascii", "replace") + b"\n"
        self.db.scan(data, on_match)
        if data.find(b"\\") >= 0:  # not ``in``: a bytes operand is first tried as an int (a TypeError each time)
            self._escaped_word_events(data, events)
        word_ends: dict[int, list[int]] = {}
        self.plan.unicode_word_ends(text, word_ends)
        # Rules with a non-ASCII character (a keyword such as 비밀번호, a custom detector's パターン)
        # are not in the database, which sees such characters as "?": their regex runs over the
        # whole text, as the Python backend runs it. One whose matches start with a non-ASCII
        # keyword runs only where a keyword occurs (a string search is far cheaper than the regex
        # at every position; pure ASCII text holds none).
        out: list[RawMatch] = []
        if self.plan.non_ascii:
            ascii_text = text.isascii()
            for idx in self.plan.non_ascii:
                keywords = self._keywords[idx]
                if keywords is not None and (ascii_text or not any(k in text for k in keywords)):
                    continue
                for m in self.rules[idx].regex.finditer(text):
                    vs, ve = _value_span(m)
                    out.append((idx, m.start(), m.end(), vs, ve))
        if not events and not offset and not word_ends:
            return out
        events.sort()
        if events and events[-1] >= LOWER_BEFORE_BASE << 32:
            self._lower_before_events(data, events)
        if events and events[-1] >= FAMILY_BASE << 32:
            self._family_events(data, events)
        n = len(text)
        i, total = 0, len(events)
        while i < total:
            event_id = events[i] >> 32
            j = i + 1
            while j < total and events[j] >> 32 == event_id:
                j += 1
            if event_id >= HOTWORD_BASE:  # the match consumed the character after the word
                # Sorted (events are); two spellings of a word can end at the same place.
                ends = [(e & 0xFFFFFFFF) - 1 for e in events[i:j]]
                word_ends[event_id - HOTWORD_BASE] = ends if j - i == 1 else list(dict.fromkeys(ends))
            else:
                shift = self._shift[event_id]
                positions = [(e & 0xFFFFFFFF) - shift for e in events[i:j]]
                before, after = self._reach[event_id]
                for m in _confirm(self.rules[event_id].regex, before, after, positions, text, n,
                                  self._lead.get(event_id)):
                    vs, ve = _value_span(m)
                    out.append((event_id, m.start(), m.end(), vs, ve))
            i = j
        if word_ends or (offset and structure is not None):
            out.extend(self._gated(text, data, word_ends, structure, offset))
        return out

    def _lower_before_events(self, data: bytes, events: list[int]) -> None:
        """Replace the events at the end of the sorted ``events`` that report a spelling without
        its lower-case letter before (``LOWER_BEFORE_BASE``) by its word's event, where the whole
        spelling ends there; and sort ``events`` again. ``data`` is the scanned bytes."""
        first = bisect.bisect_left(events, LOWER_BEFORE_BASE << 32)
        checked = events[first:]
        del events[first:]
        for e in checked:
            w, whole, shortest, longest = self.lower_before[(e >> 32) - LOWER_BEFORE_BASE]
            end = e & 0xFFFFFFFF
            for start in range(max(end - longest, 0), end - shortest + 1):
                if whole.fullmatch(data, start, end) is not None:
                    events.append((HOTWORD_BASE + w) << 32 | end)
                    break
        events.sort()

    def _family_events(self, data: bytes, events: list[int]) -> None:
        """Replace the family events at the end of the sorted ``events`` by the events of the
        family's rules: each family's database scans the merged windows ``[end - reach, end +
        PAD]`` around its events (every match of a member that the alternation reported ends at
        that end and starts within the family's reach before it), and ``events`` is sorted again.
        ``data`` is the scanned bytes, the appended newline included."""
        first = bisect.bisect_left(events, FAMILY_BASE << 32)
        spans: dict[int, list[tuple[int, int]]] = {}
        for e in events[first:]:
            k, end = (e >> 32) - FAMILY_BASE, e & 0xFFFFFFFF
            spans.setdefault(k, []).append((end - self._family_reach[k], end + PAD))
        del events[first:]
        for k, family_spans in spans.items():
            _scan_spans(self.family_dbs[k], data, family_spans, len(data), events)
        events.sort()

    def _escaped_word_events(self, data: bytes, events: list[int]) -> None:
        """Add the events of the context words that start right after an escape written out in
        the text (``Refund\\nssn 536221987``: the words' Python boundary, ``NO_LETTER_BEFORE``,
        lets the escape's letter pass; their Hyperscan expressions consume a non-letter before
        the word). The main database scans the few characters after each such escape, with the
        escape blanked to two NULs (no word holds one, every left boundary accepts it, and a
        NUL is no ``[\\s_-]`` that could join two words across the escape); only word events are
        kept (rule events there were already reported by the main pass or are artefacts of the
        blanking). A blanked escape is never the start of a word, so a word starting on the
        escape's letter (``\\name``) is the main pass's, as in Python."""
        starts = [m.start() for m in _ESCAPE_THEN_LETTER.finditer(data)]
        if starts:
            _scan_word_windows(self.db, data, starts, self._escaped_word_reach, events)

    def _gated(self, text: str, data: bytes, word_ends: dict[int, list[int]],
               structure: StructureSource, offset: int) -> list[RawMatch]:
        """Context-required rules: scan the neighbourhoods of their words and their table and
        list regions with the small database, confirm its events like direct ones, keep the
        matches near a word or inside a region."""
        plan = self.plan
        n = len(text)
        regions = plan.regions(structure, offset, n, word_ends)
        whole_text: list[RawMatch] = []  # rules Hyperscan cannot see, matched over the whole text
        if plan.gated_non_ascii:
            near = plan.word_hints(word_ends)
            for idx in sorted(plan.gated_non_ascii):
                ends, rs = near.get(idx, []), regions.get(idx, []) if regions else []
                if ends or rs:
                    whole_text.extend(plan.near_words(idx, self.rules[idx].regex.finditer(text), ends, rs))
        word_reach, word_group = plan.word_reach, plan.word_group
        spans: dict[int, list[tuple[int, int]]] = {}  # group -> spans to scan with its database
        for w, ends in word_ends.items():
            g = word_group[w]
            if g >= 0:
                before, after = word_reach[w]
                spans.setdefault(g, []).extend([(e - before, e + after) for e in ends])
        cell_spans: list[tuple[int, int]] = []
        if regions:
            cell_only, group_of = plan.cell_only, plan.group_of
            for idx, rs in regions.items():
                padded = [(lo - PAD, hi + PAD) for lo, hi in rs]
                if idx in cell_only:
                    cell_spans.extend(padded)
                else:
                    spans.setdefault(group_of[idx], []).extend(padded)
        events: list[int] = []
        for g, group_spans in spans.items():
            _scan_spans(self.gated_dbs[g], data, group_spans, n, events)
        if self.cell_db is not None and cell_spans:
            _scan_spans(self.cell_db, data, cell_spans, n, events)
        if not events:
            return whole_text
        events.sort()
        hints = plan.word_hints(word_ends)  # only now: most word neighbourhoods hold no candidate
        out: list[RawMatch] = whole_text
        i, total = 0, len(events)
        while i < total:
            idx = events[i] >> 32
            j = i + 1
            while j < total and events[j] >> 32 == idx:
                j += 1
            ends = hints.get(idx, [])
            rs = regions.get(idx, []) if regions else []
            if ends or rs:
                shift = self._shift[idx]
                positions = sorted({(e & 0xFFFFFFFF) - shift for e in events[i:j]})
                before, after = self._reach[idx]
                found = _confirm(self.rules[idx].regex, before, after, positions, text, n, self._lead.get(idx))
                out.extend(plan.near_words(idx, found, ends, rs))
            i = j
        return out


_ESCAPE_THEN_LETTER = re.compile(rb"\\[nrt](?=[A-Za-z])")
_NAMED_GROUP = re.compile(rb"\(\?P<\w+>")
FAMILY_PREFIX = 4


def _has_non_ascii(pattern: str) -> bool:
    """Whether ``pattern`` holds a non-ASCII character anywhere (a literal, or in a class)."""
    c = _sre_constants

    def walk(items) -> bool:  # noqa: ANN001 - sre items
        for op, arg in items:
            if op == c.LITERAL and arg > 127:
                return True
            if op == c.IN and any((o == c.LITERAL and a > 127) or (o == c.RANGE and a[1] > 127) for o, a in arg):
                return True
            if op == c.SUBPATTERN and walk(arg[-1]):
                return True
            if op == c.BRANCH and any(walk(b) for b in arg[1]):
                return True
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and walk(arg[2]):
                return True
            if op in (c.ASSERT, c.ASSERT_NOT) and walk(arg[1]):
                return True
        return False

    return walk(_sre_parse.parse(pattern, re.ASCII).data)


def _needs_non_ascii(pattern: str) -> bool:
    """Whether every match of ``pattern`` holds a non-ASCII character: it starts (after its
    lookarounds) with a literal, or an alternation of literals, that begins with one."""
    starts = _leading_literals(pattern)
    return bool(starts) and all(ord(s[0]) > 127 for s in starts)


def _leading_literals(pattern: str) -> list[str]:
    """The literal strings one of which every match of ``pattern`` starts with (after its
    lookarounds): one, or one per branch of a leading alternation; empty when it starts otherwise."""
    c = _sre_constants
    items = [(op, arg) for op, arg in _sre_parse.parse(pattern, re.ASCII).data
             if op not in (c.ASSERT, c.ASSERT_NOT, c.AT)]
    while items and items[0][0] == c.SUBPATTERN:
        if items[0][1][1] & re.IGNORECASE:
            return []  # a case-insensitive literal is no plain substring
        items = list(items[0][1][-1])

    def literal(seq) -> str:  # noqa: ANN001 - sre items
        chars = []
        for op, arg in seq:
            if op != c.LITERAL:
                break
            chars.append(chr(arg))
        return "".join(chars)

    if not items:
        return []
    if items[0][0] == c.BRANCH:
        branches = [literal(list(b)) for b in items[0][1][1]]
        return branches if all(branches) else []
    first = literal(items)
    return [first] if first else []


def _literal_prefix(pattern: str) -> int:
    """How many characters every match of ``pattern`` starts with (after its leading lookarounds)
    that are each one of a few known characters: a literal, a small class (``[pikar]``) or an
    alternation of such sequences (``(?:AKIA|ASIA)``, its shortest branch counted)."""
    return _selective(_sre_parse.parse(pattern, re.ASCII).data, skip_asserts=True)[0]


def _selective(items, skip_asserts: bool = False) -> tuple[int, bool]:  # noqa: ANN001 - sre items
    """(selective characters at the start of ``items``, whether all of ``items`` was)."""
    c = _sre_constants
    count = 0
    for op, arg in items:
        if skip_asserts and count == 0 and op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue
        if op == c.LITERAL:
            count += 1
        elif op == c.IN and all(o == c.LITERAL for o, _ in arg) and len(arg) <= 8:
            count += 1
        elif op == c.SUBPATTERN:
            n, whole = _selective(arg[-1])
            count += n
            if not whole:
                return count, False
        elif op == c.BRANCH:
            parts = [_selective(branch) for branch in arg[1]]
            count += min(n for n, _ in parts)
            if not all(whole for _, whole in parts):
                return count, False
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, body = arg
            n, whole = _selective(body)
            if not whole:
                return count, False
            # An optional part (``(?:sandbox-)?``) is passed over (a heuristic: either way the
            # match starts with selective characters); a run of one (``A{20,26}``) counts its minimum.
            count += low * n
            if low != high and low > 0:
                return count, False
        else:
            return count, False
    return count, True


def _families(rules: list[Rule], direct: list[int]) -> list[list[int]]:
    """The direct rules in families: those whose every match starts with a literal prefix of
    ``FAMILY_PREFIX`` or more characters (``gsk_``, ``glpat-``, ``-----BEGIN``) in families of at
    most ``FAMILY_SIZE`` rules and ``FAMILY_BYTES`` bytes of expressions, in catalogue order, rules
    of one case mode together; every other rule alone. A prefixed token is rare in text, so its
    family seldom needs the window scan that says which rule it was; a rule that fires on common
    text (a password keyword, a run of digits) would make its family's window scans cost more
    than the alternation saves."""
    prefixed = {idx for idx in direct if _literal_prefix(rules[idx].pattern) >= FAMILY_PREFIX}
    families: list[list[int]] = [[idx] for idx in direct if idx not in prefixed]
    for caseless in (False, True):
        family: list[int] = []
        size = 0
        for idx in direct:
            if idx not in prefixed or rules[idx].ignore_case != caseless:
                continue
            length = len(rules[idx].hs_pattern)
            if family and (len(family) == FAMILY_SIZE or size + length > FAMILY_BYTES):
                families.append(family)
                family, size = [], 0
            family.append(idx)
            size += length
        if family:
            families.append(family)
    return families


def _scan_spans(db, data: bytes, spans: list[tuple[int, int]], n: int, events: list[int]) -> None:  # noqa: ANN001
    """Scan the merged ``spans`` of ``data`` with ``db``, appending ``id << 32 | end`` events."""
    spans.sort()
    append = events.append
    base = 0

    def on_match(rule_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
        append(rule_id << 32 | (to + base))

    k, count = 0, len(spans)
    while k < count:
        lo, hi = spans[k]
        k += 1
        while k < count and spans[k][0] <= hi:
            if spans[k][1] > hi:
                hi = spans[k][1]
            k += 1
        if lo < 0:
            lo = 0
        if hi > n:
            hi = n
        if lo >= hi:
            continue
        base = lo
        db.scan(data[lo:hi], on_match)


def _scan_word_windows(db, data: bytes, starts: list[int], width: int, events: list[int]) -> None:  # noqa: ANN001
    """Append the context-word events (``id << 32 | end``, ids from ``HOTWORD_BASE``) that
    ``db`` reports in the windows ``data[p:p + width]`` (``p`` in ``starts``: each the start of
    an escape before a letter), each window scanned on its own with every such escape blanked
    to two NULs -- in one Hyperscan call over the windows joined by a NUL (one call per window
    cost ~7 µs each, and a JSON export holds thousands). Windows are not merged: a word found
    only by merging two would not start right after an escape, and the main scan reports it.
    No word holds a NUL, so no match runs from one window into the next; a word cut by its
    window's end whose consumed right boundary would be the joining NUL (or the padding of a
    window at the end of ``data``) lies past its window and is dropped."""
    step, n = width + 1, len(data)
    pieces = [data[p:p + width] for p in starts]
    k = len(pieces) - 1
    while k >= 0 and len(pieces[k]) < width:  # windows at the end of ``data``: keep every step equal
        pieces[k] = pieces[k].ljust(width, b"\0")
        k -= 1
    # Blanking the joined windows blanks what blanking ``data`` would, except an escape whose
    # letter lies past its window (two non-letters either way for a word ending before it).
    joined = _ESCAPE_THEN_LETTER.sub(b"\0\0", b"\0".join(pieces))
    append = events.append

    def on_match(event_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
        if HOTWORD_BASE <= event_id < FAMILY_BASE:
            k, at = divmod(to - 1, step)  # the window and place of the consumed right boundary
            end = starts[k] + at + 1
            if at < width and end <= n:
                append(event_id << 32 | end)

    db.scan(joined, on_match)


def _reach(rule: Rule) -> tuple[int, int]:
    """How far a match can extend before and after a reported position (plus ``PAD``).

    Full patterns report match ends. An anchor's end lies inside the match: by default anywhere
    (``max_span`` both ways); ``anchor_reach: [before, after]`` narrows that for long rules."""
    if rule.anchor is None:
        return rule.max_span + PAD, PAD
    if rule.anchor_reach is not None:
        return rule.anchor_reach[0] + PAD, rule.anchor_reach[1] + PAD
    return rule.max_span + PAD, rule.max_span + PAD


def _led_matches(regex: re.Pattern[str], lead: re.Pattern[str], reach: int, text: str, lo: int,
                 hi: int, lead_hi: int | None = None) -> Iterable[re.Match[str]]:
    """``regex.finditer(text, lo, hi)`` for a rule whose every match holds a ``lead`` match
    starting at most ``reach`` characters after its own start (``Rule.lead``). The leftmost
    match at or after ``pos`` then starts no earlier than ``reach`` before the first lead
    occurrence at or after ``pos``, so each search starts there instead of at every position
    (a key-value rule's lazy identifier prefix made ``sre`` try 30 lengths at each of ~300).
    With ``lead_hi``, leads are looked for only up to there: the matches that start before
    ``lead_hi - reach - (longest lead match)`` are the same, later ones may be left out."""
    pos = lo
    lead_end = hi if lead_hi is None else min(hi, lead_hi)
    while pos < hi:
        k = lead.search(text, pos, lead_end)
        if k is None:
            return
        if reach > _MATCH_AT_REACH:
            start = k.start() - reach
            m = regex.search(text, start if start > pos else pos, hi)
            if m is None:
                return
        else:
            # A short reach: try the few starts that can hold this lead, so a lead with no match
            # does not make ``search`` scan the rest of a long window (http-cookie-header's 8.8 kB).
            # A match starting later holds a later lead.
            lead_at = k.start()
            for start in range(max(pos, lead_at - reach), lead_at + 1):
                m = regex.match(text, start, hi)
                if m is not None:
                    break
            else:
                pos = lead_at + 1
                continue
        yield m
        pos = m.end()  # lead rules never match the empty string (checked when they load)


_MATCH_AT_REACH = 8
"""Up to this ``lead_reach`` ``_led_matches`` tries each possible start; beyond it one search
(a key-value rule's identifier prefix would make 40 attempts cost more than one search)."""


def _confirm(regex: re.Pattern[str], before: int, after: int, positions: list[int], text: str,
             n: int, lead: tuple[re.Pattern[str], int, int | None] | None = None) -> list[re.Match[str]]:
    """``regex.finditer(text)`` matches that contain one of the (sorted) reported positions
    (``lead``: the rule's lead regex, reach and longest lead match, see ``_led_matches``; a
    match that contains a position starts at or before it, so leads past the last position
    plus reach and lead length are not looked for)."""
    out: list[re.Match[str]] = []
    k, count = 0, len(positions)
    while k < count:
        lo, hi = positions[k] - before, positions[k] + after
        first = k
        k += 1
        while k < count and positions[k] - before <= hi:
            hi = positions[k] + after
            k += 1
        window = positions[first:k]
        if lead is None:
            found: Iterable[re.Match[str]] = regex.finditer(text, max(lo, 0), min(hi, n))
        else:
            regex_lead, reach, width = lead
            found = _led_matches(regex, regex_lead, reach, text, max(lo, 0), min(hi, n),
                                 None if width is None else window[-1] + reach + width)
        for m in found:
            s, e = m.span()
            at = bisect.bisect_right(window, s)  # first position > s
            if at < len(window) and window[at] <= e:
                out.append(m)
    return out
