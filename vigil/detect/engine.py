"""The detection engine: candidates from a backend, then validation, context scoring, pairing,
overlap resolution, masking and fingerprints.

``Engine.load(fingerprint_key)`` compiles (or loads from cache) the catalogue once;
``engine.scan(text)`` returns ``Finding`` objects whose offsets are character offsets into
``text`` (with the 1-based line and column of the start). Inputs larger than ``chunk_chars`` are
scanned in overlapping chunks; each finding is owned by the chunk whose core holds its start, so
seams produce no duplicates. Tables and lists are found on the whole document
(``vigil.detect.structure``), so a row far below its header still reads the header.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeAlias

from vigil.detect.backends import PAD, Backend, HyperscanBackend, PythonBackend, hyperscan_available
from vigil.detect.known import REASON as KNOWN_EXAMPLE, load_known_examples
from vigil.detect.language import document_regions
from vigil.detect.masking import fingerprinter, mask, normalize
from vigil.detect.model import LIKELIHOODS, Finding, likelihood_rank
from vigil.detect.rules import Rule, WordSet, check_unique, load_builtin_rules
from vigil.detect.structure import Structure
from vigil.detect.validators import REGIONAL_VALIDATORS, VALIDATORS, check_regions, is_placeholder

DEFAULT_CHUNK_CHARS = 1 << 20
CONTEXT_CHARS = 40
DEFAULT_PHONE_REGIONS = ("US",)
_VERDICT_CACHE_SIZE = 1 << 16
"""Validator results kept per engine (values repeat: the same e-mail in every message)."""


_QUOTED_STRING = re.compile(r'"(?:[^"\\\n]++|\\.)*+"')
"""A quoted string on one line (a JSON or code string), escapes included."""
_CLOSING_QUOTE = re.compile(r'\\"(?=[,;:|})\]\\]|$)')


def unescaped_lines(text: str) -> str:
    """``text`` with its written-out line breaks and tabs (``\\n``, ``\\r\\n``, ``\\t``: a
    CSV file or a form inside a JSON string, an NDJSON export, a log line) read as what they
    encode, every offset kept: the backslash becomes a space and the letter the character
    (``a,b\\n1,2`` -> ``a,b \n1,2``; an escaped quote keeps the side of the value it stands
    on: ``\\"Lima, Ana\\",`` -> `` "Lima, Ana" ,``), and the quotes around a string that holds
    such a line break become line breaks too, so that its first line starts a line
    (``"csv": "id,ssn\\n…"``: the header row is ``id,ssn``). Tables, lists and labelled lines
    are found on this view; values and context words are read from ``text`` itself. (An escaped
    backslash before an ``n``, ``C:\\\\new``, is misread as a line break; that only moves a line
    end.)"""
    # One backslash search first: it is a memchr, the two-character searches are not (without
    # it they cost the chat corpus 3-4% of its instructions).
    if "\\" not in text or ("\\n" not in text and "\\t" not in text):
        return text
    if "\\n" in text:
        text = _QUOTED_STRING.sub(_string_as_lines, text)
    # A quote that closes a value keeps its place next to the delimiter after it; one that
    # opens a value, next to the value (a CSV cell may have blanks outside its quotes).
    text = _CLOSING_QUOTE.sub('" ', text).replace('\\"', ' "')
    return text.replace("\\r\\n", "   \n").replace("\\n", " \n").replace("\\t", " \t")


def _string_as_lines(m: re.Match[str]) -> str:
    s = m.group()
    return "\n" + s[1:-1] + "\n" if "\\n" in s else s


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@dataclass(slots=True)
class _Candidate:
    rule: Rule
    start: int          # value span, chunk-local
    end: int
    rank: int
    value: str
    pair_end: int = -1  # for paired findings: the span grows to cover the partner
    pair_start: int = -1
    partner: str = ""
    masked: str | None = None  # computed once, for the finding and for the contexts it appears in
    reason: str | None = None  # likelihood_reason of the finding
    span_start: int = -1       # the finding's span: the value's, or the pair's once paired
    span_end: int = -1

    def __post_init__(self) -> None:
        self.span_start, self.span_end = self.start, self.end

    def mask(self) -> str:
        if self.masked is None:
            self.masked = mask(self.value, self.rule.mask, self.rule.mask_prefix)
        return self.masked


VerdictKey: TypeAlias = tuple[str, str] | tuple[str, str, tuple[str, ...]]
"""A cached verdict's key: (validator, value), and the phone regions for a regional validator."""


class Engine:
    """A compiled rule set. Thread-compatible (one scan at a time per instance)."""

    def __init__(self, rules: list[Rule], backend: Backend, fingerprint_key: bytes,
                 min_likelihood: int, chunk_chars: int = DEFAULT_CHUNK_CHARS,
                 phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS) -> None:
        self.rules = rules
        self.backend = backend
        self._key = bytes(fingerprint_key)
        self._fingerprint = fingerprinter(self._key)
        self.min_likelihood = min_likelihood
        self.chunk_chars = max(chunk_chars, 4096)
        self.phone_regions = check_regions(phone_regions)
        widest = max((r.max_span for r in rules), default=0)
        window = max((max(r.hotword_window) for r in rules), default=0)
        self.overlap = widest + window + 2 * PAD + CONTEXT_CHARS
        self._by_id = {r.id: r for r in rules}
        self._paired_ids = {r.pair["rule"] for r in rules if r.pair}
        # Rules that read a value's table cell: cell scope, or context words (scored by cell).
        self._reads_cell = [r.scope == "cell" or r.hotword_set is not None or r.anti_context_set is not None
                            or bool(r.extra_context) for r in rules]
        # Rules reported only with a context word: a word that labels another value is no
        # context for them (``_word_near``).
        self._keyed_ids = frozenset(r.id for r in rules if r.context_required)
        self._verdicts: dict[VerdictKey, bool | int] = {}  # validator results by value
        self._known = load_known_examples()
        self._known_types = self._known.infotypes
        self._document = ""
        self._structure: Structure | None = None
        self._test_code: bool | None = None
        self._regions: tuple[str, ...] | None = None
        self._load_args: tuple[Any, ...] | None = None  # set by ``load``: how to rebuild the engine

    def __repr__(self) -> str:  # the key never appears
        return f"Engine(rules={len(self.rules)}, backend={self.backend.name!r})"

    @classmethod
    def load(cls, fingerprint_key: bytes, custom_rules: Any = None, backend: str = "auto",
             min_likelihood: str = "POSSIBLE", chunk_chars: int = DEFAULT_CHUNK_CHARS,
             cache_dir: Path | None = None,
             phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS) -> "Engine":
        """Build an engine from the built-in catalogue plus optional custom rules.

        ``custom_rules``: a path to a YAML file, a YAML string, or the parsed mapping (see
        docs/detection.md). ``backend``: ``"auto"`` (Hyperscan when installed), ``"hyperscan"``
        or ``"python"``. ``min_likelihood``: findings below this level are not returned.
        ``phone_regions``: ISO 3166 region codes whose national phone formats (no ``+``
        country code) count as the most likely reading (default ``("US",)``).
        """
        from vigil.detect.custom import apply_custom_config

        if not isinstance(fingerprint_key, (bytes, bytearray)) or len(fingerprint_key) < 16:
            raise ValueError("fingerprint_key must be at least 16 bytes")
        regions = check_regions(phone_regions)
        rules = load_builtin_rules()
        if custom_rules is not None:
            rules = apply_custom_config(rules, custom_rules)
        check_unique(rules)
        if backend == "auto":
            backend = "hyperscan" if hyperscan_available() else "python"
        if backend == "hyperscan":
            impl: Backend = HyperscanBackend(rules, cache_dir=cache_dir)
        elif backend == "python":
            impl = PythonBackend(rules)
        else:
            raise ValueError(f"unknown backend {backend!r}; expected auto, hyperscan or python")
        engine = cls(rules, impl, bytes(fingerprint_key), likelihood_rank(min_likelihood), chunk_chars,
                     regions)
        engine._load_args = (bytes(fingerprint_key), custom_rules, backend, min_likelihood, chunk_chars,
                             cache_dir, regions)
        return engine

    def __reduce__(self):  # noqa: ANN204 - pickling for worker processes
        """Workers rebuild the engine with ``Engine.load`` (the compiled database comes from the
        cache), so an engine can be passed to ``multiprocessing`` pools."""
        args = self._load_args
        if args is None:
            raise TypeError("only engines built with Engine.load can be pickled")
        return (_reload, args)

    @property
    def infotypes(self) -> frozenset[str]:
        """Every infoType this engine can report."""
        return frozenset(r.infotype for r in self.rules)

    # ------------------------------------------------------------------------------ scanning
    def scan(self, text: str | bytes) -> list[Finding]:
        """Findings in ``text`` (bytes are decoded as UTF-8 with replacement), by start offset."""
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8", errors="replace")
        self._document = text  # whole-document signals are computed from it on demand
        self._structure = None
        self._test_code = None
        self._regions = None
        try:
            return self._scan_document(text)
        finally:
            self._document = ""  # do not keep the caller's text alive
            self._structure = None

    def _scan_document(self, text: str) -> list[Finding]:
        n = len(text)
        if n <= self.chunk_chars + self.overlap:
            return self._scan_view(text, 0, 0, n)
        findings: list[Finding] = []
        for core_start in range(0, n, self.chunk_chars):
            core_end = min(core_start + self.chunk_chars, n)
            view_start = max(core_start - self.overlap, 0)
            view_end = min(core_end + self.overlap, n)
            view = text[view_start:view_end]
            findings.extend(self._scan_view(view, view_start, core_start - view_start,
                                            core_end - view_start))
        return findings

    def scan_with_raw(self, text: str | bytes) -> list[tuple[Finding, str]]:
        """In-memory only: each finding with its raw matched text. Never persist the result."""
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8", errors="replace")
        return [(f, text[f.start:f.end]) for f in self.scan(text)]

    def _scan_view(self, text: str, offset: int, own_start: int, own_end: int) -> list[Finding]:
        candidates = self._candidates(text, offset)
        if not candidates:
            return []
        candidates = self._pair(candidates)
        reportable = [c for c in candidates
                      if c.rank >= (c.rule.min_likelihood if c.rule.min_likelihood is not None
                                    else self.min_likelihood)]
        kept = _resolve_overlaps(reportable)
        kept = [c for c in kept if own_start <= c.span_start < own_end]
        if not kept:
            return []
        index = _SpanIndex(candidates)
        # Line and column of each start, counted once through the view (kept is in start order).
        line = (self._document.count("\n", 0, offset) if offset else 0) + 1
        pos = 0
        out = []
        for c in kept:
            start = c.span_start
            line += text.count("\n", pos, start)
            pos = start
            column = start - text.rfind("\n", 0, start)  # 1-based; rfind is -1 on the first line
            if offset and text.rfind("\n", 0, start) < 0:
                column = offset + start - self._document.rfind("\n", 0, offset + start)
            out.append(self._finding(c, text, index, offset, line, column))
        return out

    def _candidates(self, text: str, offset: int) -> list[_Candidate]:
        """Confirmed matches with their likelihood rank; those that cannot reach the reporting
        threshold are dropped before their (costlier) validators run."""
        matches = self.backend.find(text, self._get_structure, offset)
        if not matches:
            return []
        out: list[_Candidate] = []
        rules = self.rules
        floor = self.min_likelihood
        paired = self._paired_ids
        known = self._known
        known_types = self._known_types
        reads_cell = self._reads_cell
        keyed = self._keyed_ids
        # Value spans of each context-required rule, for "a word with a value of its own on its
        # line does not speak for one on another line" (``_foreign_word``).
        values: dict[int, list[tuple[int, int]]] = {}
        for idx, _s, _e, vs, ve in matches:
            if rules[idx].id in keyed:
                values.setdefault(idx, []).append((vs, ve))
        for spans in values.values():
            spans.sort()
        for idx, _s, _e, vs, ve in matches:
            rule = rules[idx]
            value = text[vs:ve]
            threshold = rule.min_likelihood if rule.min_likelihood is not None else floor
            if rule.infotype in known_types and known.matches(rule.infotype, value):
                if threshold == 0:  # only an audit (VERY_UNLIKELY) run reports them
                    out.append(_Candidate(rule, vs, ve, 0, value, reason=KNOWN_EXAMPLE))
                continue
            if len(value) < rule.min_length:
                continue
            if rule.allowlist_regex is not None and rule.allowlist_regex.fullmatch(value):
                continue
            if rule.placeholders and is_placeholder(value):
                continue
            if rule.not_before_regex is not None and rule.not_before_regex.search(text, max(vs - 64, 0), vs):
                continue
            if rule.not_after_regex is not None and rule.not_after_regex.match(text, ve, ve + 64):
                continue
            cell = self._get_structure().cell_context(offset + vs, offset + ve) if reads_cell[idx] else None
            if rule.scope == "cell" and (cell is None or (cell.cell[0], cell.cell[1]) != (offset + vs, offset + ve)):
                continue
            rank = rule.likelihood
            if rule.hotword_set is not None:
                before, after = rule.hotword_window
                if self._word_near(rule.hotword_set, text, vs, ve, before, after, offset, cell,
                                   fields=True, own_label=rule.id in keyed, others=values.get(idx)):
                    rank += rule.hotword_boost
                else:
                    rank += rule.missing_hotword
            if rule.anti_context_set is not None:
                before, after = rule.anti_context_window
                if self._word_near(rule.anti_context_set, text, vs, ve, before, after, offset, cell):
                    rank += rule.anti_context_penalty
            for adjust in rule.extra_context:
                before, after = adjust.window
                if self._word_near(adjust.word_set, text, vs, ve, before, after, offset, cell):
                    rank += adjust.adjust
            if rule.test_code_penalty and self._in_test_code():
                rank += rule.test_code_penalty
            # Validators only keep, drop or lower a candidate, so stop early when it cannot be reported.
            if rank < threshold and not rule.pair and rule.id not in paired:
                continue
            if rule.validator is not None:
                verdict = self._validate(rule.validator, value)
                if not verdict and rule.trim_on_invalid_regex is not None:
                    # A word the pattern took as the value's last part (an IBAN then ``EUR``).
                    tail = rule.trim_on_invalid_regex.search(value)
                    if tail is not None and tail.start() >= rule.min_length:
                        value = value[:tail.start()]
                        ve = vs + len(value)
                        if rule.infotype in known_types and known.matches(rule.infotype, value):
                            if threshold == 0:
                                out.append(_Candidate(rule, vs, ve, 0, value, reason=KNOWN_EXAMPLE))
                            continue
                        verdict = self._validate(rule.validator, value)
                if not verdict:  # verdicts are read by value (``validators.Validator``)
                    continue
                rank += min(int(verdict), 0)
            if rule.extra_validator is not None:
                extra = rule.extra_validator(value)
                if not extra:
                    continue
                rank += min(int(extra), 0)
            if rule.min_entropy is not None and shannon_entropy(value) < rule.min_entropy:
                continue
            out.append(_Candidate(rule, vs, ve, min(max(rank, 0), 4), value))
        return out

    def _word_near(self, words: WordSet, text: str, vs: int, ve: int, before: int, after: int,
                   offset: int, cell: Any, fields: bool = False, own_label: bool = False,
                   others: list[tuple[int, int]] | None = None) -> bool:
        """Whether a context word of ``regex`` speaks for the value ``text[vs:ve]``.

        In a table cell: a word in the cell (within the window), in the column header or, in a
        two-column table, in the row label -- the neighbouring cells and rows do not count. Else
        a word within the character window, or in the heading line of the list the value is an
        item of. With ``fields``, a word after the value on a later line does not count (unless
        it is the value of a sibling field: ``"type": "mobile"`` under ``"number": "…"``); with
        ``own_label`` too (the context words of rules that need one), nor does a word that labels
        another value (``DL Number: 357157865`` on the line above, ``"NPI": "…",
        "Driver_License": "…"``; see ``Structure.word_speaks_for``), nor a word on another line
        whose own line holds a value of the same rule (``others``: the sorted spans of the rule's
        matches in the view): ``Born March 9, 1993.`` does not speak for the date on the next
        line -- unless the value continues a list that starts on the word's line (``MRNs:
        87817306`` and then lines that hold nothing but one more value each)."""
        if cell is not None:
            doc = self._document
            ovs, ove = offset + vs, offset + ve
            c0, c1 = cell.cell
            if words.near(doc, ovs, ove, min(before, ovs - c0), min(after, c1 - ove)):
                return True
            if cell.header and words.search(cell.header):
                return True
            return cell.label is not None and words.search(cell.label)
        structure = self._get_structure()
        reject = _foreign_word(structure, offset, vs, ve, own_label, others) if fields else None
        if words.near(text, vs, ve, before, after, reject):
            return True
        heading = structure.list_heading(offset + vs)
        if heading is not None:
            return words.search(self._document, heading[0], heading[1])
        return False

    def _validate(self, name: str, value: str) -> bool | int:
        """The validator's verdict, cached per value. A regional validator (phone numbers) reads
        the value in the configured regions first; only when that is not conclusive is the
        document's language consulted (once per scan) for more regions."""
        verdicts = self._verdicts
        if name not in REGIONAL_VALIDATORS:
            key: VerdictKey = (name, value)
            verdict = verdicts.get(key)
            if verdict is None:
                if len(verdicts) >= _VERDICT_CACHE_SIZE:
                    verdicts.clear()
                verdict = verdicts[key] = VALIDATORS[name](value)
            return verdict
        if len(verdicts) >= _VERDICT_CACHE_SIZE:
            verdicts.clear()
        key = (name, value, self.phone_regions)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = VALIDATORS[name](value, self.phone_regions)
        if verdict > 0:  # valid without a doubt
            return verdict
        regions = self._document_regions()
        if regions == self.phone_regions:
            return verdict
        key = (name, value, regions)
        better = verdicts.get(key)
        if better is None:
            better = verdicts[key] = VALIDATORS[name](value, regions)
        return better

    def _get_structure(self) -> Structure:
        """The tables and lists of the document being scanned (made on first use)."""
        if self._structure is None:
            self._structure = Structure(unescaped_lines(self._document))
        return self._structure

    def _in_test_code(self) -> bool:
        """Whether the document being scanned is a unit-test module (computed once per scan)."""
        if self._test_code is None:
            self._test_code = is_test_code(self._document)
        return self._test_code

    def _document_regions(self) -> tuple[str, ...]:
        """The configured phone regions, then those of the document's language (once per scan)."""
        if self._regions is None:
            extra = [r for r in document_regions(self._document) if r not in self.phone_regions]
            self._regions = self.phone_regions + tuple(extra)
        return self._regions

    def _pair(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Merge a rule's candidate with the nearest candidate of its ``pair.rule`` in range."""
        if not self._paired_ids:
            return candidates
        partners: dict[str, list[_Candidate]] = {}
        for c in candidates:
            if c.rule.id in self._paired_ids and c.reason is None:
                partners.setdefault(c.rule.id, []).append(c)
        if not partners:
            return candidates
        used: set[int] = set()
        for c in candidates:
            spec = c.rule.pair
            if not spec or c.reason is not None:
                continue
            window = int(spec.get("window", 300))
            best = None
            for p in partners.get(spec["rule"], ()):
                if id(p) in used:
                    continue
                gap = max(p.start - c.end, c.start - p.end, 0)
                if gap <= window and (best is None or gap < best[0]):
                    best = (gap, p)
            if best is None:
                continue
            p = best[1]
            used.add(id(p))
            c.pair_start, c.pair_end = min(c.start, p.start), max(c.end, p.end)
            c.span_start, c.span_end = c.pair_start, c.pair_end
            c.partner = p.value
            c.rank = max(c.rank, likelihood_rank(spec.get("likelihood", "VERY_LIKELY")))
        return [c for c in candidates if id(c) not in used]

    def _finding(self, c: _Candidate, text: str, everything: "_SpanIndex", offset: int, line: int,
                 column: int) -> Finding:
        rule = c.rule
        start, end = _span(c)
        masked = c.mask()
        normalized = normalize(c.value, rule.normalize)
        if c.partner:
            normalized += "\x00" + c.partner
        return Finding(
            infotype=rule.infotype, detector=rule.id, start=start + offset, end=end + offset,
            likelihood=LIKELIHOODS[c.rank], severity=rule.severity, masked=masked,
            fingerprint=self._fingerprint(normalized),
            context=_context(text, start, end, everything), line=line, column=column,
            likelihood_reason=c.reason,
        )


def _foreign_word(structure: Structure, offset: int, vs: int, ve: int, own_label: bool,
                  others: list[tuple[int, int]] | None) -> Callable[[int, int], bool]:
    """``reject`` for ``WordSet.near``: whether a context word at view offsets ``[ws, we)``
    does not speak for the value. With ``others`` (sorted view spans of the values of the same
    rule), a word on another line than the value that has one of those values on its own line
    speaks for the value only when the value is an item of the list that value starts
    (``_continues_list``); any other word, as ``Structure.word_speaks_for`` says. A closure,
    not an object with ``__call__``: calling one is several times cheaper."""
    speaks_for = structure.word_speaks_for
    ovs, ove = offset + vs, offset + ve
    values: list[tuple[int, int]] = others if others is not None else []
    claimed = len(values) > 1

    lines = structure.text  # the document with written-out line breaks read as breaks, same offsets

    def reject(ws: int, we: int) -> bool:
        if claimed and lines.find("\n", offset + min(we, vs), offset + max(ws, ve)) >= 0:
            line_start = lines.rfind("\n", 0, offset + ws) + 1 - offset
            line_end = lines.find("\n", offset + we)
            line_end = (len(lines) if line_end < 0 else line_end) - offset
            i = bisect.bisect_left(values, (line_start,))
            if i < len(values) and values[i][0] < line_end:  # a value of the rule on the word's line
                # The word labels that value, and this one too only as the next item of its list.
                return not (we <= vs and _continues_list(lines, offset, values, we, line_end, vs))
        return not speaks_for(offset + ws, offset + we, ovs, ove, own_label)

    return reject


_LIST_ITEM_BEFORE = re.compile(r"[ \t]*(?:(?:[-*+>\u2022\u00b7]|\d{1,3}[.)])[ \t]+)?[\"'`]?")
_LIST_ITEM_AFTER = re.compile(r"[\"'`]?[ \t]*[,;.]?[ \t\r]*")


def _continues_list(lines: str, offset: int, values: list[tuple[int, int]], we: int, line_end: int,
                    vs: int) -> bool:
    """Whether the value starting at ``vs`` is an item of a list whose first item is the last
    value on the word's line (after the word, which ends at ``we``; that line ends at
    ``line_end``): that item ends its line, and every line from the next one to the value's
    holds one value and nothing else but a bullet, quotes and a separator. ``values``: the
    sorted view spans of the rule's values; ``lines``: the document's line view."""
    i = bisect.bisect_left(values, (line_end,)) - 1  # the last value on the word's line
    s, e = values[i]
    if s < we or not _LIST_ITEM_AFTER.fullmatch(lines, offset + e, offset + line_end):
        return False
    while True:
        i += 1
        if i == len(values):
            return False
        line_start, (s, e) = line_end + 1, values[i]
        if s < line_start:
            return False  # a second value on the line
        line_end = lines.find("\n", offset + e)
        line_end = (len(lines) if line_end < 0 else line_end) - offset
        if (lines.find("\n", offset + line_start, offset + s) >= 0
                or not _LIST_ITEM_BEFORE.fullmatch(lines, offset + line_start, offset + s)
                or not _LIST_ITEM_AFTER.fullmatch(lines, offset + e, offset + line_end)):
            return False
        if s == vs:
            return True


_TEST_CODE = re.compile(
    r"^[ \t]*(?:import (?:unittest|pytest|doctest)\b|from (?:unittest|pytest)\b[\w.]* import "
    r"|from test(?:\.support)?[\w.]* import |import \"testing\"|import (?:static )?org\.junit\.)"
    r"|^func Test\w*\(t \*testing\.T\)", re.M)
_TEST_CODE_WORDS = ("unittest", "pytest", "doctest", "from test", "testing", "org.junit")


def is_test_code(text: str) -> bool:
    """Whether ``text`` is a unit-test module: Python ``unittest``/``pytest``/``doctest`` or the
    CPython ``test`` package, Go ``testing``, JUnit. Contact details there are fixtures."""
    return any(w in text for w in _TEST_CODE_WORDS) and _TEST_CODE.search(text) is not None


def _reload(key: bytes, custom_rules: Any, backend: str, min_likelihood: str, chunk_chars: int,
            cache_dir: Path | None, phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> Engine:
    return Engine.load(key, custom_rules=custom_rules, backend=backend, min_likelihood=min_likelihood,
                       chunk_chars=chunk_chars, cache_dir=cache_dir, phone_regions=phone_regions)


def _span(c: _Candidate) -> tuple[int, int]:
    return c.span_start, c.span_end


def _resolve_overlaps(cands: list[_Candidate]) -> list[_Candidate]:
    """Drop candidates inside a wider one, and the weaker of two that partly overlap."""
    ordered = sorted(cands, key=lambda c: (c.span_start, c.span_start - c.span_end, -c.rank, c.rule.id))
    kept: list[_Candidate] = []
    for c in ordered:
        s, e = c.span_start, c.span_end
        drop = False
        while kept:
            k = kept[-1]
            ks, ke = k.span_start, k.span_end
            if ke <= s:
                break
            if e <= ke:  # contained in k (k starts no later and is at least as wide)
                if (ks, ke) == (s, e) and c.rank > k.rank:
                    kept.pop()
                    continue
                drop = True
                break
            # partial overlap: keep the stronger, the earlier on ties
            if c.rank > k.rank:
                kept.pop()
                continue
            drop = True
            break
        if not drop:
            kept.append(c)
    return kept


# Written with a single digit first: ``re`` then skips to the next digit instead of trying the
# repeat at every position (half the cost of ``\d{6,}``, the same matches).
_DIGIT_RUN = re.compile(r"\d\d{5,}")


def _stars(m: re.Match[str]) -> str:
    return "*" * (m.end() - m.start())


class _SpanIndex:
    """Candidates sorted by start, to find those overlapping a context window quickly."""

    def __init__(self, cands: list[_Candidate]) -> None:
        self.items = sorted(((c.span_start, c.span_end, c) for c in cands), key=lambda t: (t[0], -t[1]))
        self.starts = [t[0] for t in self.items]
        self.longest = max((t[1] - t[0] for t in self.items), default=0)

    def overlapping(self, lo: int, hi: int) -> list[tuple[int, int, _Candidate]]:
        first = bisect.bisect_left(self.starts, lo - self.longest)
        last = bisect.bisect_left(self.starts, hi)
        return [(max(s, lo), min(e, hi), c) for s, e, c in self.items[first:last] if e > lo]


def _context(text: str, start: int, end: int, everything: _SpanIndex) -> str:
    """``CONTEXT_CHARS`` around the finding with every candidate span masked, on one line."""
    lo, hi = max(start - CONTEXT_CHARS, 0), min(end + CONTEXT_CHARS, len(text))
    spans = everything.overlapping(lo, hi)
    parts: list[str] = []
    pos = lo
    for s, e, c in spans:
        if e <= pos:
            continue
        if s > pos:
            parts.append(_DIGIT_RUN.sub(_stars, text[pos:s]))
        if s >= pos:
            parts.append("[" + c.mask() + "]")
        pos = max(pos, e)
    if pos < hi:
        parts.append(_DIGIT_RUN.sub(_stars, text[pos:hi]))
    return " ".join("".join(parts).split())
