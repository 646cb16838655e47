"""Candidate backends: find every match of every rule in a text.

Both backends return exactly the same matches, by construction:

* a *direct* rule's matches are what ``rule.regex.finditer(text)`` yields over the whole text;
* context words: for each word, the ends of its occurrences with no ASCII letter on either side
  (case-insensitive);
* a *context-required* rule (one whose matches cannot reach POSSIBLE without a context word,
  see ``Rule.context_required``) is searched only near its context words: each word end opens a
  window of ``reach`` characters on both sides, overlapping windows merge, and
  ``rule.regex.finditer`` runs inside each merged window.

``PythonBackend`` computes those definitions literally. ``HyperscanBackend`` makes one Hyperscan
pass over the text (one byte per character) with every direct rule (prefilter mode, so Hyperscan over-reports but
never misses) and every context word (exact mode) in one database, then runs the Python regex only in
merged windows around the reported positions (``_confirm``). Why the windows give the same matches
as a whole-text pass:

* every true match contains a reported position ``p`` with ``start < p <= end`` (the match end
  for full patterns, the anchor end for anchored rules);
* windows reach ``max_span + PAD`` around each position and overlapping windows are merged, so no
  true match crosses a window edge and the search inside a window resumes from the same state as
  the whole-text search;
* a window match that contains no reported position is an artefact of cutting the text at the
  window end and is dropped.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from vigil.detect.rules import Rule, rules_digest

log = logging.getLogger(__name__)

PAD = 64
"""Slack around each window for lookarounds and word boundaries (chars)."""

HOTWORD_BASE = 1 << 20
"""Hyperscan ids at or above this report a context word (id - HOTWORD_BASE = word index)."""

RawMatch = tuple[int, int, int, int, int]
"""(rule index, match start, match end, value start, value end), character offsets."""

Hints = dict[int, list[int]]
"""Rule index -> sorted exact end offsets of its context words in the text."""

try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on machines without the wheel
    _hs = None


def hyperscan_available() -> bool:
    """Whether the ``hyperscan`` wheel can be imported."""
    return _hs is not None


class Backend(Protocol):
    name: str

    def find(self, text: str) -> tuple[list[RawMatch], Hints, Hints]:
        """All matches of all rules in ``text``, and per rule the ends of its context words and
        of its anti-context words."""


class _Plan:
    """How rules split into direct and context-required ones, and their context words; shared by
    both backends so they compute the same thing."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.words: list[str] = []          # context-word regexes, without boundaries
        self.rule_words: dict[int, list[int]] = {}
        self.rule_anti: dict[int, list[int]] = {}
        by_pattern: dict[str, int] = {}

        def word_ids(patterns: list[str]) -> list[int]:
            ids = []
            for pattern in patterns:
                if pattern not in by_pattern:
                    by_pattern[pattern] = len(self.words)
                    self.words.append(pattern)
                ids.append(by_pattern[pattern])
            return ids

        self.direct: list[int] = []
        self.gated: list[int] = []
        self.reach: dict[int, int] = {}
        for idx, rule in enumerate(rules):
            if rule.hotword_patterns:
                self.rule_words[idx] = word_ids(rule.hotword_patterns)
            if rule.anti_context_patterns:
                self.rule_anti[idx] = word_ids(rule.anti_context_patterns)
            if rule.context_required:
                self.gated.append(idx)
                self.reach[idx] = max(rule.hotword_window) + 2 * rule.max_span + PAD
            else:
                self.direct.append(idx)
        self.word_rules: list[list[int]] = [[] for _ in self.words]
        self.word_anti_rules: list[list[int]] = [[] for _ in self.words]
        for idx, ids in self.rule_words.items():
            for w in ids:
                self.word_rules[w].append(idx)
        for idx, ids in self.rule_anti.items():
            for w in ids:
                self.word_anti_rules[w].append(idx)
        self.word_regexes = [re.compile(rf"(?<![A-Za-z]){w}(?![A-Za-z])", re.I | re.ASCII)
                             for w in self.words]

    def hints(self, word_ends: dict[int, list[int]]) -> tuple[Hints, Hints]:
        """Per rule, the sorted ends of its context words and of its anti-context words."""
        hot: dict[int, list[int]] = {}
        anti: dict[int, list[int]] = {}
        for w, ends in word_ends.items():
            for idx in self.word_rules[w]:
                hot[idx] = sorted(hot[idx] + ends) if idx in hot else ends
            for idx in self.word_anti_rules[w]:
                anti[idx] = sorted(anti[idx] + ends) if idx in anti else ends
        return hot, anti

    def gated_matches(self, text: str, hints: Hints) -> list[RawMatch]:
        """Matches of context-required rules inside merged windows around their context words."""
        out: list[RawMatch] = []
        n = len(text)
        for idx, positions in hints.items():
            reach = self.reach.get(idx)
            if reach is None:
                continue
            finditer = self.rules[idx].regex.finditer
            k, count = 0, len(positions)
            while k < count:
                lo, hi = positions[k] - reach, positions[k] + reach
                k += 1
                while k < count and positions[k] - reach <= hi:
                    hi = positions[k] + reach
                    k += 1
                for m in finditer(text, max(lo, 0), min(hi, n)):
                    vs, ve = _value_span(m)
                    out.append((idx, m.start(), m.end(), vs, ve))
        return out


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    if "value" in m.re.groupindex and m.start("value") >= 0:
        return m.span("value")
    return m.span()


class PythonBackend:
    """Pure-Python reference backend: the definitions above, computed literally."""

    name = "python"

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.plan = _Plan(rules)

    def find(self, text: str) -> tuple[list[RawMatch], Hints, Hints]:
        out: list[RawMatch] = []
        for idx in self.plan.direct:
            for m in self.rules[idx].regex.finditer(text):
                vs, ve = _value_span(m)
                out.append((idx, m.start(), m.end(), vs, ve))
        word_ends = {}
        for w, rx in enumerate(self.plan.word_regexes):
            ends = [m.end() for m in rx.finditer(text)]
            if ends:
                word_ends[w] = ends
        hints, anti = self.plan.hints(word_ends)
        out.extend(self.plan.gated_matches(text, hints))
        return out, hints, anti


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
        self.python = PythonBackend(rules)
        self._reach = {idx: _reach(rules[idx]) for idx in self.plan.direct}
        self.db = self._load_or_compile(cache_dir or _cache_dir())

    # ------------------------------------------------------------------ compile / cache
    def _expressions(self) -> tuple[list[bytes], list[int], list[int]]:
        base = _hs.HS_FLAG_PREFILTER
        expressions, ids, flags = [], [], []
        for idx in self.plan.direct:
            rule = self.rules[idx]
            expressions.append(rule.hs_pattern.encode())
            ids.append(idx)
            flags.append(base | (_hs.HS_FLAG_CASELESS if rule.ignore_case else 0))
        for w, word in enumerate(self.plan.words):
            # Exact (not prefilter), both boundaries consumed; find() maps the end back.
            expressions.append(f"(?:^|[^A-Za-z]){word}(?:[^A-Za-z]|$)".encode())
            ids.append(HOTWORD_BASE + w)
            flags.append(_hs.HS_FLAG_CASELESS)
        return expressions, ids, flags

    def _load_or_compile(self, cache_dir: Path):  # noqa: ANN202 - hyperscan.Database
        expressions, ids, flags = self._expressions()
        version = getattr(_hs, "__version__", "0")
        blob = repr((rules_digest(self.rules), expressions, ids, flags, version)).encode()
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
    def find(self, text: str) -> tuple[list[RawMatch], Hints, Hints]:
        # One byte per character, so Hyperscan offsets are character offsets. Non-ASCII
        # characters become "?": no rule pattern or context word accepts a non-ASCII character
        # where it would reject "?" (checked by the conformance tests), so the prefilter still
        # over-reports, and context words are ASCII (checked by the rule loader).
        data = text.encode("ascii", "replace")
        events: list[int] = []
        append = events.append

        def on_match(rule_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(rule_id << 32 | to)

        self.db.scan(data, match_event_handler=on_match)
        if not events:
            return [], {}, {}
        events.sort()
        out: list[RawMatch] = []
        word_ends: dict[int, list[int]] = {}
        n = len(text)
        i, total = 0, len(events)
        while i < total:
            event_id = events[i] >> 32
            j = i
            while j < total and events[j] >> 32 == event_id:
                j += 1
            positions = [e & 0xFFFFFFFF for e in events[i:j]]
            if event_id >= HOTWORD_BASE:
                # The match consumed the character after the word, except at the end of the text
                # (context words end with a letter or digit, checked by the rule loader).
                if positions[-1] == n and text[n - 1].isalnum() and text[n - 1].isascii():
                    positions[-1] = n + 1
                word_ends[event_id - HOTWORD_BASE] = [p - 1 for p in positions]
            else:
                before, after = self._reach[event_id]
                for m in _confirm(self.rules[event_id].regex, before, after, positions, text, n):
                    vs, ve = _value_span(m)
                    out.append((event_id, m.start(), m.end(), vs, ve))
            i = j
        hints, anti = self.plan.hints(word_ends)
        out.extend(self.plan.gated_matches(text, hints))
        return out, hints, anti


def _reach(rule: Rule) -> tuple[int, int]:
    """How far a match can extend before and after a reported position (plus ``PAD``).

    Full patterns report match ends. An anchor's end lies inside the match: by default anywhere
    (``max_span`` both ways); ``anchor_reach: [before, after]`` narrows that for long rules."""
    if rule.anchor is None:
        return rule.max_span + PAD, PAD
    if rule.anchor_reach is not None:
        return rule.anchor_reach[0] + PAD, rule.anchor_reach[1] + PAD
    return rule.max_span + PAD, rule.max_span + PAD


def _confirm(regex: re.Pattern[str], before: int, after: int, positions: list[int], text: str,
             n: int) -> list[re.Match[str]]:
    """``regex.finditer(text)`` matches that contain one of the (sorted) reported positions."""
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
        for m in regex.finditer(text, max(lo, 0), min(hi, n)):
            s, e = m.span()
            at = bisect.bisect_right(window, s)  # first position > s
            if at < len(window) and window[at] <= e:
                out.append(m)
    return out
