"""The detection engine: candidates from a backend, then validation, context scoring, pairing,
overlap resolution, masking and fingerprints.

``Engine.load(fingerprint_key)`` compiles (or loads from cache) the catalogue once;
``engine.scan(text)`` returns ``Finding`` objects whose offsets are character offsets into
``text``. Inputs larger than ``chunk_chars`` are scanned in overlapping chunks; each finding is
owned by the chunk whose core holds its start, so seams produce no duplicates.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.detect.backends import PAD, Backend, HyperscanBackend, PythonBackend, hyperscan_available
from vigil.detect.masking import fingerprint, mask, normalize
from vigil.detect.model import LIKELIHOODS, Finding, likelihood_rank
from vigil.detect.rules import Rule, check_unique, load_builtin_rules
from vigil.detect.validators import VALIDATORS, is_placeholder

DEFAULT_CHUNK_CHARS = 1 << 20
CONTEXT_CHARS = 40
_VERDICT_CACHE_SIZE = 1 << 16
"""Validator results kept per engine (values repeat: the same e-mail in every message)."""



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

    def mask(self) -> str:
        if self.masked is None:
            self.masked = mask(self.value, self.rule.mask, self.rule.mask_prefix)
        return self.masked


class Engine:
    """A compiled rule set. Thread-compatible (one scan at a time per instance)."""

    def __init__(self, rules: list[Rule], backend: Backend, fingerprint_key: bytes,
                 min_likelihood: int, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> None:
        self.rules = rules
        self.backend = backend
        self._key = bytes(fingerprint_key)
        self.min_likelihood = min_likelihood
        self.chunk_chars = max(chunk_chars, 4096)
        widest = max((r.max_span for r in rules), default=0)
        window = max((max(r.hotword_window) for r in rules), default=0)
        self.overlap = widest + window + 2 * PAD + CONTEXT_CHARS
        self._by_id = {r.id: r for r in rules}
        self._paired_ids = {r.pair["rule"] for r in rules if r.pair}
        self._verdicts: dict[tuple[str, str], bool | int] = {}  # validator results by value
        self._document = ""
        self._test_code: bool | None = None

    def __repr__(self) -> str:  # the key never appears
        return f"Engine(rules={len(self.rules)}, backend={self.backend.name!r})"

    @classmethod
    def load(cls, fingerprint_key: bytes, custom_rules: Any = None, backend: str = "auto",
             min_likelihood: str = "POSSIBLE", chunk_chars: int = DEFAULT_CHUNK_CHARS,
             cache_dir: Path | None = None) -> "Engine":
        """Build an engine from the built-in catalogue plus optional custom rules.

        ``custom_rules``: a path to a YAML file, a YAML string, or the parsed mapping (see
        docs/detection.md). ``backend``: ``"auto"`` (Hyperscan when installed), ``"hyperscan"``
        or ``"python"``. ``min_likelihood``: findings below this level are not returned.
        """
        from vigil.detect.custom import apply_custom_config

        if not isinstance(fingerprint_key, (bytes, bytearray)) or len(fingerprint_key) < 16:
            raise ValueError("fingerprint_key must be at least 16 bytes")
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
        engine = cls(rules, impl, bytes(fingerprint_key), likelihood_rank(min_likelihood), chunk_chars)
        engine._load_args = (bytes(fingerprint_key), custom_rules, backend, min_likelihood, chunk_chars, cache_dir)
        return engine

    def __reduce__(self):  # noqa: ANN204 - pickling for worker processes
        """Workers rebuild the engine with ``Engine.load`` (the compiled database comes from the
        cache), so an engine can be passed to ``multiprocessing`` pools."""
        args = getattr(self, "_load_args", None)
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
        self._test_code = None
        try:
            return self._scan_document(text)
        finally:
            self._document = ""  # do not keep the caller's text alive

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
        candidates = self._candidates(text)
        if not candidates:
            return []
        candidates = self._pair(candidates)
        reportable = [c for c in candidates
                      if c.rank >= (c.rule.min_likelihood if c.rule.min_likelihood is not None
                                    else self.min_likelihood)]
        kept = _resolve_overlaps(reportable)
        kept = [c for c in kept if own_start <= _span(c)[0] < own_end]
        index = _SpanIndex(candidates)
        return [self._finding(c, text, index, offset) for c in kept]

    def _candidates(self, text: str) -> list[_Candidate]:
        """Confirmed matches with their likelihood rank; those that cannot reach the reporting
        threshold are dropped before their (costlier) validators run."""
        matches = self.backend.find(text)
        if not matches:
            return []
        out: list[_Candidate] = []
        rules = self.rules
        floor = self.min_likelihood
        paired = self._paired_ids
        verdicts = self._verdicts
        for idx, _s, _e, vs, ve in matches:
            rule = rules[idx]
            value = text[vs:ve]
            if len(value) < rule.min_length:
                continue
            if rule.allowlist_regex is not None and rule.allowlist_regex.fullmatch(value):
                continue
            if rule.placeholders and is_placeholder(value):
                continue
            rank = rule.likelihood
            if rule.hotword_regex is not None:
                before, after = rule.hotword_window
                if _word_near(rule.hotword_regex, rule.hotword_width, text, vs, ve, before, after):
                    rank += rule.hotword_boost
                else:
                    rank += rule.missing_hotword
            if rule.anti_context_regex is not None:
                before, after = rule.anti_context_window
                if _word_near(rule.anti_context_regex, rule.anti_context_width, text, vs, ve, before, after):
                    rank += rule.anti_context_penalty
            if rule.test_code_penalty and self._in_test_code():
                rank += rule.test_code_penalty
            # Validators only keep, drop or lower a candidate, so stop early when it cannot be reported.
            threshold = rule.min_likelihood if rule.min_likelihood is not None else floor
            if rank < threshold and not rule.pair and rule.id not in paired:
                continue
            if rule.validator is not None:
                key = (rule.validator, value)
                verdict = verdicts.get(key)
                if verdict is None:
                    if len(verdicts) >= _VERDICT_CACHE_SIZE:
                        verdicts.clear()
                    verdict = verdicts[key] = VALIDATORS[rule.validator](value)
                if verdict is False:
                    continue
                if verdict is not True:
                    rank += min(int(verdict), 0)
            if rule.extra_validator is not None:
                verdict = rule.extra_validator(value)
                if verdict is False:
                    continue
                if verdict is not True:
                    rank += min(int(verdict), 0)
            if rule.min_entropy is not None and shannon_entropy(value) < rule.min_entropy:
                continue
            out.append(_Candidate(rule, vs, ve, min(max(rank, 0), 4), value))
        return out

    def _in_test_code(self) -> bool:
        """Whether the document being scanned is a unit-test module (computed once per scan)."""
        if self._test_code is None:
            self._test_code = is_test_code(self._document)
        return self._test_code

    def _pair(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Merge a rule's candidate with the nearest candidate of its ``pair.rule`` in range."""
        if not self._paired_ids:
            return candidates
        partners: dict[str, list[_Candidate]] = {}
        for c in candidates:
            if c.rule.id in self._paired_ids:
                partners.setdefault(c.rule.id, []).append(c)
        if not partners:
            return candidates
        used: set[int] = set()
        for c in candidates:
            spec = c.rule.pair
            if not spec:
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
            c.partner = p.value
            c.rank = max(c.rank, likelihood_rank(spec.get("likelihood", "VERY_LIKELY")))
        return [c for c in candidates if id(c) not in used]

    def _finding(self, c: _Candidate, text: str, everything: "_SpanIndex", offset: int) -> Finding:
        rule = c.rule
        start, end = _span(c)
        masked = c.mask()
        normalized = normalize(c.value, rule.normalize)
        if c.partner:
            normalized += "\x00" + c.partner
        return Finding(
            infotype=rule.infotype, detector=rule.id, start=start + offset, end=end + offset,
            likelihood=LIKELIHOODS[c.rank], severity=rule.severity, masked=masked,
            fingerprint=fingerprint(self._key, normalized),
            context=_context(text, start, end, everything),
        )


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
            cache_dir: Path | None) -> Engine:
    return Engine.load(key, custom_rules=custom_rules, backend=backend, min_likelihood=min_likelihood,
                       chunk_chars=chunk_chars, cache_dir=cache_dir)


def _word_near(regex: re.Pattern[str], width: int, text: str, vs: int, ve: int, before: int,
               after: int) -> bool:
    """Whether a context word (a match of ``regex``, at most ``width`` chars) ends at most
    ``before`` chars before the value ``text[vs:ve]`` or at most ``after`` chars after it.

    The search runs only in that neighbourhood; the word regex's own lookarounds see the
    characters around it (``pos`` does not hide what lies before, ``endpos`` one char past the
    window lets a word ending at the window edge check its right boundary)."""
    lo = vs - before - width
    for m in regex.finditer(text, lo if lo > 0 else 0, ve + after + 1):
        end = m.end()
        if vs - before <= end <= vs or ve < end <= ve + after:
            return True
    return False


def _span(c: _Candidate) -> tuple[int, int]:
    return (c.pair_start, c.pair_end) if c.pair_end >= 0 else (c.start, c.end)


def _resolve_overlaps(cands: list[_Candidate]) -> list[_Candidate]:
    """Drop candidates inside a wider one, and the weaker of two that partly overlap."""
    ordered = sorted(cands, key=lambda c: (_span(c)[0], -(_span(c)[1] - _span(c)[0]), -c.rank, c.rule.id))
    kept: list[_Candidate] = []
    for c in ordered:
        s, e = _span(c)
        drop = False
        while kept:
            k = kept[-1]
            ks, ke = _span(k)
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


_DIGIT_RUN = re.compile(r"\d{6,}")


def _stars(m: re.Match[str]) -> str:
    return "*" * (m.end() - m.start())


class _SpanIndex:
    """Candidates sorted by start, to find those overlapping a context window quickly."""

    def __init__(self, cands: list[_Candidate]) -> None:
        self.items = sorted(((*_span(c), c) for c in cands), key=lambda t: (t[0], -t[1]))
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
