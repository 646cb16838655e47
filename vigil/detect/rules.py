"""Detector rules: the YAML schema, loading and checking.

Built-in rules live as data in ``vigil/detect/rules/*.yaml`` (a list of rule mappings per file).
Each rule is a bounded Python regular expression (``re.ASCII`` semantics) plus the
validator, context words, thresholds, masking and the examples that the test suite runs. The
same pattern feeds Hyperscan (prefilter mode) and Python ``re``, so both backends agree.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from vigil.detect.masking import MASKS, NORMALIZERS
from vigil.detect.model import SEVERITIES, likelihood_rank
from vigil.detect.validators import VALIDATORS
from vigil.yamldata import load_data_yaml

try:  # Python 3.11+
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older interpreters
    import sre_parse as _sre_parse  # type: ignore[no-redef]

RULES_DIR = Path(str(resources.files("vigil.detect") / "rules"))  # compiled, this file lies elsewhere
CATEGORIES = ("credential", "pii", "financial", "health", "custom")
POSSIBLE = 2
"""Rank of the POSSIBLE likelihood, the default reporting floor."""
MAX_SPAN_LIMIT = 16_384
"""Longest match any rule may produce (chars); it bounds the confirmation windows and chunk overlap."""

_RULE_KEYS = {
    "id", "infotype", "description", "category", "pattern", "ignore_case", "anchor",
    "likelihood", "severity", "validator", "min_entropy", "hotwords", "hotword_window",
    "hotword_boost", "missing_hotword", "anti_context", "anti_context_window",
    "anti_context_penalty", "placeholders", "allowlist", "mask", "mask_prefix", "normalize",
    "pair", "examples", "min_likelihood", "min_length", "anchor_reach", "test_code_penalty",
    "scope", "extra_context", "not_before", "not_after", "lead", "lead_reach", "trim_on_invalid",
}
SCOPES = ("text", "cell")
"""``text``: a match anywhere; ``cell``: only a whole table cell under a header with a context word."""


class RuleError(ValueError):
    """A rule definition is invalid; the message names the rule and the problem."""


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_camel(text: str) -> str:
    """``CardNumber`` -> ``Card Number``, ``customerSSN`` -> ``customer SSN`` (header words)."""
    return _CAMEL.sub(" ", text)


def word_pattern(word: str) -> str:
    """Regex (without boundaries) for one context word; a space also matches ``_`` or ``-``, and
    a word ending in a letter may take a plural ``s``/``es`` (``SSNs``, ``Phones``)."""
    word = word.strip()
    pattern = re.escape(word).replace(r"\ ", r"[\s_-]{1,2}")
    return pattern + _PLURAL if _pluralizes(word) else pattern


_PLURAL = "(?:e?s)?"
_NO_PLURAL = frozenset({"call", "text", "ring", "dial", "pass", "cell", "tel", "mob", "sin", "tin",
                        "pan", "dea", "uid", "ach", "aba", "nas", "bic", "dln", "gsm", "sms"})
"""Words whose plural is mostly another word (``calls``, ``cells``, ``passes``)."""


def _pluralizes(word: str) -> bool:
    last = word.split()[-1].lower() if word.split() else ""
    return word.isascii() and word[-1:].isalpha() and len(last) >= 3 and last not in _NO_PLURAL


_NOT_ESCAPE = r"(?<!\\(?-i:[nrt]))"  # case-sensitive: ``\N`` is no escape
NO_LETTER_BEFORE = rf"(?<![A-Za-z]{_NOT_ESCAPE})"
"""A context word's left boundary: no letter before it, except the letter of an escape written
out in the text (``\\n``, ``\\r``, ``\\t``): ``{"note": "Refund\\nssn 536221987"}`` in a JSON
string, a log line or an NDJSON export. Hyperscan finds these words by a second look at the
places right after such an escape (``HyperscanBackend._escaped_word_events``). Words with
non-ASCII letters keep the plain boundary (``_unicode_word``): JSON writers escape those letters
too by default (``tel\\u00e9fono``), and there the exception is tried at every first letter
of every such word in every non-ASCII document."""

UNICODE_BOUNDARY = "unicode"
"""``WordForm.left`` of a word with non-ASCII letters (``आधार``, ``numéro``, ``電話``): no letter
of any script either side (``right`` is the same marker), or none at all for the scripts that
write compounds without spaces (``right`` is empty). Hyperscan sees one ``?`` per non-ASCII
character, so such words are looked up with Python ``re`` by both backends
(``vigil.detect.backends``)."""
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class WordForm:
    """One spelling of a context word, as a Python regex (``python``, with its boundaries) and
    as the parts of a Hyperscan expression: ``left`` (a consumed boundary), ``core`` and
    ``right`` (the class of the consumed character after the word; the word may also end the
    text). ``caseless``: the core matches in any case."""

    python: str
    left: str
    core: str
    right: str
    caseless: bool


def word_forms(word: str) -> list[WordForm]:
    """The spellings that count as ``word``: any case with no letter either side (a space also
    matching ``_``/``-``: ``social_security_number``), the camelCase identifier spellings
    ``cardNumber``, ``CardNumber``, ``customerCard``, ``customerSSN`` (``dateOfBirth`` for
    ``date of birth``), and a words-run-together identifier in any case (``cardnumber``,
    ``DRIVERLICENSE``: what SQL databases make of unquoted camelCase column names; only when the
    first word has three letters or more)."""
    word = word.strip()
    std = word_pattern(word)
    if not word.isascii():
        if _UNSPACED.search(word):  # Chinese, Japanese, Korean compounds: 電話番号, 전화번호
            return [WordForm(f"(?:{std})", UNICODE_BOUNDARY, std, "", True)]
        return [WordForm(_unicode_word(std), UNICODE_BOUNDARY, std, UNICODE_BOUNDARY, True)]
    forms = [WordForm(rf"{NO_LETTER_BEFORE}{std}(?![A-Za-z])", "(?:^|[^A-Za-z])", std, "[^A-Za-z]", True)]
    parts = word.split()
    if all(p.isalpha() and p.isascii() for p in parts):
        plural = _PLURAL if _pluralizes(word) else ""
        lower = parts[0].lower() + "".join(p.capitalize() for p in parts[1:]) + plural
        upper_first = "".join(p.capitalize() for p in parts) + plural
        forms.append(WordForm(rf"(?-i:{NO_LETTER_BEFORE}{lower}(?![a-z]))", "(?:^|[^A-Za-z])", lower, "[^a-z]", False))
        forms.append(WordForm(rf"(?-i:(?<![A-Z]){upper_first}(?![a-z]))", "(?:^|[^A-Z])", upper_first, "[^a-z]", False))
        if len(parts) > 1 and len(parts[0]) >= 3:  # not ``ipaddress`` (the Python module) or ``dlno``
            run = "".join(p.lower() for p in parts) + plural
            forms.append(WordForm(rf"{NO_LETTER_BEFORE}{run}(?![A-Za-z])", "(?:^|[^A-Za-z])", run, "[^A-Za-z]", True))
        if len(parts) == 1 and len(word) >= 2:
            up = word.upper() + ("(?:E?S|s)?" if plural else "")
            forms.append(WordForm(rf"(?-i:(?<=[a-z]){up}(?![a-z]))", "[a-z]", up, "[^a-z]", False))
    return forms


def words_regex(words: Iterable[str], shortest_first: bool = False) -> re.Pattern[str] | None:
    """One case-insensitive regex matching any spelling (``word_forms``) of any of ``words``:
    the longest word where several start at the same place (``passport number`` before
    ``passport``), or the shortest with ``shortest_first``.

    Spellings that share their boundaries are grouped into one alternation (a regex with one
    lookbehind per word is several times slower on the windows the engine searches)."""
    words = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=not shortest_first)
    if not words:
        return None
    groups: dict[tuple[str, str, bool], list[str]] = {}
    for word in words:
        for form in word_forms(word):
            groups.setdefault((form.left, form.right, form.caseless), []).append(form.core)
    parts = []
    for (left, right, caseless), cores in groups.items():
        alternation = "|".join(dict.fromkeys(cores))
        if left == UNICODE_BOUNDARY:
            parts.append(_unicode_word(alternation) if right else f"(?:{alternation})")
            continue
        look_left = {"(?:^|[^A-Za-z])": NO_LETTER_BEFORE, "(?:^|[^A-Z])": "(?<![A-Z])",
                     "[a-z]": "(?<=[a-z])"}[left]
        look_right = f"(?!{right.replace('[^', '[')})"
        body = f"{look_left}(?:{alternation}){look_right}"
        parts.append(body if caseless else f"(?-i:{body})")
    return re.compile("|".join(parts), re.I)



def _unicode_word(core: str) -> str:
    """``core`` with no letter of any script either side, Unicode rules even inside a pattern
    compiled with ``re.ASCII``. For a single word the left boundary is checked after its first
    letter, so that ``re`` can skip ahead to that letter instead of trying the lookbehind
    everywhere (4x faster on the words of ``_Plan.unicode_word_ends``)."""
    if core[:1].isalpha() and "|" not in core:
        return rf"(?u:{core[0]}(?<![^\W\d_].)(?:{core[1:]})(?![^\W\d_]))"
    return rf"(?u:(?<![^\W\d_])(?:{core})(?![^\W\d_]))"


@dataclass(frozen=True)
class WordSet:
    """Context words compiled for lookups around a value: the regex (``words_regex``), the
    longest match it can make, and lower-case stems (each word's first token) that a text must
    contain for the regex to have a chance (``stems``, searched in the lower-cased window: ten
    to twenty times cheaper than the words regex, whose lookarounds defeat the regex engine's
    literal search)."""

    regex: re.Pattern[str]
    width: int
    stems: re.Pattern[str]
    shortest: re.Pattern[str]

    @classmethod
    def of(cls, words: Iterable[str]) -> "WordSet | None":
        """The compiled set for ``words`` (None for none), made once per word list and process:
        rules share lists, and each set costs several regex parses and compiles."""
        return _word_set(tuple(words))

    def near(self, text: str, vs: int, ve: int, before: int, after: int,
             reject: Callable[[int, int], bool] | None = None) -> bool:
        """Whether a word ends at most ``before`` chars before ``text[vs:ve]`` or at most
        ``after`` chars after it. Every spelling of a word starts with its stem, so the words
        regex is only tried (anchored) where a stem occurs; its lookarounds see the characters
        around the window. After the value the shortest word counts (``medical record`` ends in
        the window where ``medical record number`` would not), before it the longest. A word for
        which ``reject(start, end)`` is true does not count."""
        lo = vs - before - self.width
        lo = lo if lo > 0 else 0
        hi = ve + after + 1
        low = text[lo:hi].lower()
        search, match, shortest = self.stems.search, self.regex.match, self.shortest.match
        m = search(low)
        while m is not None:
            at = lo + m.start()
            w = (shortest if at >= ve else match)(text, at, hi)
            if w is not None:
                end = w.end()
                if (vs - before <= end <= vs or ve < end <= ve + after) and (reject is None or not reject(at, end)):
                    return True
            m = search(low, m.start() + 1)
        return False

    def search(self, text: str, lo: int = 0, hi: int | None = None) -> bool:
        """Whether a word occurs in ``text[lo:hi]``."""
        hi = len(text) if hi is None else hi
        return next(self._ends(text, lo, hi), None) is not None

    def _ends(self, text: str, lo: int, hi: int):  # noqa: ANN202 - generator of ints
        low = text[lo:hi].lower()
        search = self.stems.search
        match = self.regex.match
        m = search(low)
        while m is not None:
            w = match(text, lo + m.start(), hi)
            if w is not None:
                yield w.end()
            m = search(low, m.start() + 1)


@lru_cache(maxsize=1024)
def _word_set(words: tuple[str, ...]) -> WordSet | None:
    regex = words_regex(words)
    if regex is None:
        return None
    firsts = sorted({w.strip().split()[0].lower() for w in words if w and w.strip()}, key=len)
    stems: list[str] = []
    for stem in firsts:
        if not any(stem.startswith(s) for s in stems):
            stems.append(stem)
    shortest = words_regex(words, shortest_first=True)
    assert shortest is not None  # the same words as ``regex``
    return WordSet(regex, width(regex.pattern), re.compile("|".join(map(re.escape, stems))), shortest)


def _window(value: Any, default: tuple[int, int], rule_id: str, key: str) -> tuple[int, int]:
    if value is None:
        return default
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise RuleError(f"rule {rule_id}: {key} must be an int or [before, after]")


@dataclass
class Rule:
    """One detector. Build with ``Rule.from_dict``; fields mirror the YAML keys. Do not change a
    loaded rule: the built-in ones are shared by every engine of the process
    (``load_builtin_rules``); change a ``copy.copy`` of it."""

    id: str
    infotype: str
    pattern: str
    description: str = ""
    category: str = "pii"
    ignore_case: bool = False
    anchor: str | None = None
    anchor_reach: tuple[int, int] | None = None
    likelihood: int = 3
    severity: str = "medium"
    validator: str | None = None
    min_entropy: float | None = None
    min_length: int = 0
    hotwords: tuple[str, ...] = ()
    hotword_window: tuple[int, int] = (80, 50)
    hotword_boost: int = 1
    missing_hotword: int = 0
    anti_context: tuple[str, ...] = ()
    anti_context_window: tuple[int, int] = (40, 20)
    anti_context_penalty: int = -2
    placeholders: bool = False
    allowlist: tuple[str, ...] = ()
    mask: str = "last3"
    mask_prefix: int = 0
    normalize: str = "none"
    pair: dict[str, Any] | None = None
    min_likelihood: int | None = None
    test_code_penalty: int = 0
    scope: str = "text"
    extra_context: tuple["ContextAdjust", ...] = ()
    not_before: str | None = None
    not_after: str | None = None
    lead: str | None = None
    lead_reach: int = 0
    trim_on_invalid: str | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)
    # Compiled/derived (not YAML):
    regex: re.Pattern[str] = field(init=False, repr=False)
    max_span: int = field(init=False)
    hotword_regex: re.Pattern[str] | None = field(init=False, repr=False)
    anti_context_regex: re.Pattern[str] | None = field(init=False, repr=False)
    allowlist_regex: re.Pattern[str] | None = field(init=False, repr=False)
    hotword_width: int = field(init=False, default=0, repr=False)
    anti_context_width: int = field(init=False, default=0, repr=False)
    hotword_set: "WordSet | None" = field(init=False, default=None, repr=False)
    anti_context_set: "WordSet | None" = field(init=False, default=None, repr=False)
    not_before_regex: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    not_after_regex: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    trim_on_invalid_regex: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    lead_regex: re.Pattern[str] | None = field(init=False, default=None, repr=False)
    lead_width: int | None = field(init=False, default=None, repr=False)  # longest lead match; None: unbounded
    extra_validator: Any = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> "Rule":
        """Build and check a rule from its YAML mapping; raise ``RuleError`` on any problem."""
        if not isinstance(data, dict):
            raise RuleError(f"{source}: a rule must be a mapping, got {type(data).__name__}")
        rule_id = str(data.get("id") or "")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", rule_id):
            raise RuleError(f"{source}: rule id {rule_id!r} must be lower-case kebab-case")
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise RuleError(f"rule {rule_id}: unknown keys {sorted(unknown)}")
        for key in ("infotype", "pattern"):
            if not data.get(key):
                raise RuleError(f"rule {rule_id}: missing {key}")
        infotype = str(data["infotype"])
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", infotype):
            raise RuleError(f"rule {rule_id}: infotype {infotype!r} must be UPPER_SNAKE")
        try:
            rule = cls(
                id=rule_id, infotype=infotype, pattern=with_escape_boundary(str(data["pattern"])),
                description=str(data.get("description", "")),
                category=str(data.get("category", "pii")),
                ignore_case=bool(data.get("ignore_case", False)),
                anchor=data.get("anchor"),
                anchor_reach=(_window(data["anchor_reach"], (0, 0), rule_id, "anchor_reach")
                              if data.get("anchor_reach") is not None else None),
                likelihood=likelihood_rank(str(data.get("likelihood", "LIKELY"))),
                severity=str(data.get("severity", "medium")),
                validator=data.get("validator"),
                min_entropy=data.get("min_entropy"),
                min_length=int(data.get("min_length", 0)),
                hotwords=tuple(data.get("hotwords") or ()),
                hotword_window=_window(data.get("hotword_window"), (80, 50), rule_id, "hotword_window"),
                hotword_boost=int(data.get("hotword_boost", 1)),
                missing_hotword=int(data.get("missing_hotword", 0)),
                anti_context=tuple(data.get("anti_context") or ()),
                anti_context_window=_window(data.get("anti_context_window"), (40, 20), rule_id,
                                            "anti_context_window"),
                anti_context_penalty=int(data.get("anti_context_penalty", -2)),
                placeholders=bool(data.get("placeholders", data.get("category") == "credential")),
                allowlist=tuple(data.get("allowlist") or ()),
                mask=str(data.get("mask", "last3")),
                mask_prefix=int(data.get("mask_prefix", 0)),
                normalize=str(data.get("normalize", "none")),
                pair=data.get("pair"),
                min_likelihood=(likelihood_rank(str(data["min_likelihood"]))
                                if data.get("min_likelihood") else None),
                test_code_penalty=int(data.get("test_code_penalty", 0)),
                scope=str(data.get("scope", "text")),
                extra_context=tuple(ContextAdjust.from_dict(item, rule_id)
                                    for item in (data.get("extra_context") or ())),
                not_before=data.get("not_before"),
                not_after=data.get("not_after"),
                lead=data.get("lead"),
                lead_reach=int(data.get("lead_reach", 0)),
                trim_on_invalid=data.get("trim_on_invalid"),
                examples={k: list(v or []) for k, v in (data.get("examples") or {}).items()},
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RuleError):
                raise
            raise RuleError(f"rule {rule_id}: {exc}") from None
        rule._compile()
        return rule

    def _compile(self) -> None:
        # The derived fields' defaults, set here too: compiled (vigil.detect.native), a dataclass
        # leaves an init=False field unset.
        self.hotword_width = self.anti_context_width = 0
        self.hotword_set = self.anti_context_set = None
        self.not_before_regex = self.not_after_regex = self.trim_on_invalid_regex = self.lead_regex = None
        self.lead_width = None
        rid = self.id
        if self.category not in CATEGORIES:
            raise RuleError(f"rule {rid}: category must be one of {CATEGORIES}")
        if self.severity not in SEVERITIES:
            raise RuleError(f"rule {rid}: severity must be one of {SEVERITIES}")
        if self.validator is not None and self.validator not in VALIDATORS:
            raise RuleError(f"rule {rid}: unknown validator {self.validator!r}; known: {sorted(VALIDATORS)}")
        if self.mask not in MASKS:
            raise RuleError(f"rule {rid}: unknown mask {self.mask!r}; known: {sorted(MASKS)}")
        if self.scope not in SCOPES:
            raise RuleError(f"rule {rid}: scope must be one of {SCOPES}")
        if self.scope == "cell" and not self.hotwords:
            raise RuleError(f"rule {rid}: scope cell needs hotwords (the column headers it reads)")
        if self.normalize not in NORMALIZERS:
            raise RuleError(f"rule {rid}: unknown normalize {self.normalize!r}; known: {sorted(NORMALIZERS)}")
        flags = re.ASCII | (re.I if self.ignore_case else 0)
        try:
            self.regex = re.compile(self.pattern, flags)
        except re.error as exc:
            raise RuleError(f"rule {rid}: bad pattern: {exc}") from None
        names = set(self.regex.groupindex)
        if self.regex.groups != len(names) or (names and "value" not in names) or \
                any(not re.fullmatch(r"value\d*", name) for name in names):
            raise RuleError(f"rule {rid}: use non-capturing groups (?:...) except the one "
                            "named (?P<value>...) (one per alternative: value, value2 …)")
        high = width(self.pattern, flags)
        if high >= _sre_parse.MAXREPEAT or high > MAX_SPAN_LIMIT:
            raise RuleError(f"rule {rid}: pattern must be bounded (at most {MAX_SPAN_LIMIT} chars); "
                            "replace * and + by {m,n}")
        self.max_span = int(high)
        if self.anchor is not None:
            try:
                anchor_rx = re.compile(self.anchor, flags)
            except re.error as exc:
                raise RuleError(f"rule {rid}: bad anchor: {exc}") from None
            _, ahigh = _sre_parse.parse(self.anchor, flags).getwidth()
            if ahigh > self.max_span:
                raise RuleError(f"rule {rid}: anchor can be longer than the pattern")
        if self.anchor_reach is not None and self.anchor is None:
            raise RuleError(f"rule {rid}: anchor_reach needs an anchor")
            del anchor_rx
        for key in ("not_before", "not_after", "trim_on_invalid"):
            source = getattr(self, key)
            if source is None:
                continue
            if key == "trim_on_invalid" and self.validator is None:
                raise RuleError(f"rule {rid}: trim_on_invalid needs a validator")
            try:
                compiled = re.compile(source if key == "not_after" else f"(?:{source})\\Z", flags)
            except re.error as exc:
                raise RuleError(f"rule {rid}: bad {key} regex: {exc}") from None
            setattr(self, f"{key}_regex", compiled)
        if self.lead is not None:
            self._compile_lead(flags)
        elif self.lead_reach:
            raise RuleError(f"rule {rid}: lead_reach needs a lead")
        extra_words = [w for adjust in self.extra_context for w in adjust.words]
        for word in (*self.hotwords, *self.anti_context, *extra_words):
            word = str(word).strip()
            # ``#`` closes a word such as ``SS#`` or ``acct #``; other punctuation would leave the
            # word's right boundary (no letter after it) meaningless.
            if not (word[-1:].isalnum() or word[-1:] == "#"
                    or unicodedata.category(word[-1:] or " ").startswith("M")):
                raise RuleError(f"rule {rid}: context word {word!r} must end with a letter, digit or #")
        self.hotword_set = WordSet.of(self.hotwords)
        self.anti_context_set = WordSet.of(self.anti_context)
        # The words regex (``words_regex``) and its longest match (chars): how far before a
        # window a word may start.
        self.hotword_regex = self.hotword_set.regex if self.hotword_set else None
        self.anti_context_regex = self.anti_context_set.regex if self.anti_context_set else None
        self.hotword_width = self.hotword_set.width if self.hotword_set else 0
        self.anti_context_width = self.anti_context_set.width if self.anti_context_set else 0
        try:
            self.allowlist_regex = (re.compile("|".join(f"(?:{a})" for a in self.allowlist))
                                    if self.allowlist else None)
        except re.error as exc:
            raise RuleError(f"rule {rid}: bad allowlist regex: {exc}") from None
        if self.pair is not None:
            if not isinstance(self.pair, dict) or "rule" not in self.pair:
                raise RuleError(f"rule {rid}: pair must be a mapping with 'rule' (and 'window')")

    def _compile_lead(self, flags: int) -> None:
        """``lead``: a regex that every match holds, starting at most ``lead_reach`` characters
        after the match start (the key word of a ``key = value`` rule after its identifier
        prefix). Confirmation then searches from ``lead_reach`` before each lead occurrence
        instead of trying every position of its window (``backends._led_matches``). Checked on
        the rule's positive examples."""
        rid = self.id
        assert self.lead is not None  # called only for a rule with a lead
        try:
            lead = re.compile(self.lead, flags)
        except re.error as exc:
            raise RuleError(f"rule {rid}: bad lead: {exc}") from None
        if not 0 <= self.lead_reach <= self.max_span:
            raise RuleError(f"rule {rid}: lead_reach must be between 0 and the pattern's length")
        if _sre_parse.parse(self.pattern, flags).getwidth()[0] == 0:
            raise RuleError(f"rule {rid}: a rule with a lead must not match the empty string")
        for example in self.examples.get("positive", []):
            for m in self.regex.finditer(example):
                k = lead.search(example, m.start(), m.end())
                if k is None or k.start() > m.start() + self.lead_reach:
                    raise RuleError(f"rule {rid}: lead does not start within lead_reach of the "
                                    f"match {m.group()!r} in example {example!r}")
        self.lead_regex = lead
        width = _sre_parse.parse(self.lead, flags).getwidth()[1]
        self.lead_width = int(width) if width < _sre_parse.MAXREPEAT else None

    @property
    def context_required(self) -> bool:
        """Whether a match without a context word stays below POSSIBLE. Such rules are only
        searched near their context words (like keyword-required identifiers in Macie)."""
        return (self.hotword_regex is not None and not self.pair
                and (self.scope == "cell" or self.likelihood + self.missing_hotword < POSSIBLE))

    @property
    def hs_pattern(self) -> str:
        """What Hyperscan scans for (in prefilter mode): the anchor, or the pattern itself.

        Prefilter mode ignores lookarounds, so a leading ``(?<![X])`` would leave Hyperscan
        reporting every suffix of a long run; it becomes ``(?:^|[^X])`` instead, which matches a
        superset with the same end offsets."""
        if self.anchor is not None:
            return _anchor_after_escape(self.anchor) if _ESCAPE_EXCEPTION in self.pattern else self.anchor
        return _consuming_lookahead(_consuming_lookbehind(self.pattern))

    @property
    def hs_end_shift(self) -> int:
        """How many characters past the match end a Hyperscan event of ``hs_pattern`` may lie
        (1 when a trailing lookahead became a consumed character, see ``_consuming_lookahead``)."""
        if self.anchor is not None:
            return 0
        return int(_TRAILING_LOOKAHEAD.search(self.pattern) is not None)

    @property
    def anti_context_patterns(self) -> list[str]:
        """One regex per anti-context word (no boundaries; see ``word_pattern``)."""
        return sorted({word_pattern(w) for w in self.anti_context if w.strip()})

    @property
    def hotword_patterns(self) -> list[str]:
        """One regex per context word (no boundaries; see ``word_pattern``)."""
        return sorted({word_pattern(w) for w in self.hotwords if w.strip()})

    def signature(self) -> dict[str, Any]:
        """The fields that change what the compiled database matches (for the cache key)."""
        return {"id": self.id, "hs": self.hs_pattern, "i": self.ignore_case}


@dataclass(frozen=True)
class ContextAdjust:
    """An extra context rule (``extra_context`` items): when one of ``words`` lies within
    ``window`` ``[before, after]`` of the value, its likelihood changes by ``adjust``."""

    words: tuple[str, ...]
    window: tuple[int, int]
    adjust: int
    word_set: WordSet = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any, rule_id: str) -> "ContextAdjust":
        if not isinstance(data, dict) or not data.get("words") or set(data) - {"words", "window", "adjust"}:
            raise RuleError(f"rule {rule_id}: extra_context items need words (and window, adjust)")
        words = tuple(str(w) for w in data["words"])
        word_set = WordSet.of(words)
        if word_set is None:
            raise RuleError(f"rule {rule_id}: extra_context items need words (and window, adjust)")
        return cls(words, _window(data.get("window"), (40, 20), rule_id, "extra_context window"),
                   int(data.get("adjust", -1)), word_set)


@lru_cache(maxsize=4096)
def width(pattern: str, flags: int = 0) -> int:
    """Longest possible match of ``pattern`` in characters (MAXREPEAT when unbounded; a parse of
    the pattern, so remembered per pattern)."""
    return int(_sre_parse.parse(pattern, flags).getwidth()[1])


_ESCAPE_EXCEPTION = r"(?<!\\[nrt]))(?!(?<=\\)[nrt])"
"""What ``with_escape_boundary`` puts into a pattern's leading boundary."""
_CONSUMED_BOUNDARY = re.compile(r"^\(\?:\^\|\[\^((?:[^\]\\]|\\.)+)\]\)")


def _holds_escape_letters(contents: str) -> bool:
    """Whether the character class ``[contents]`` holds ``n``, ``r`` and ``t``."""
    try:
        boundary = re.compile(f"[{contents}]", re.ASCII)
    except re.error:
        return False  # the full pattern's own compile reports it
    return all(boundary.match(c) for c in "nrt")


def _boundary_class_at(leading: re.Pattern[str], pattern: str) -> re.Match[str] | None:
    """The match of ``leading`` (a leading boundary whose group 1 is a character class's
    contents) at the start of ``pattern``, when that class holds ``n``, ``r`` and ``t``."""
    m = leading.match(pattern)
    return m if m and _holds_escape_letters(m.group(1)) else None


def _anchor_after_escape(anchor: str) -> str:
    """An anchor that starts with a consumed boundary ``(?:^|[^X])`` whose class holds ``n``,
    ``r`` and ``t``, for a pattern that starts after an escape (``with_escape_boundary``): the
    escape's letter is let through too, ``(?:^|[^X]|[nrt])``, as ``_consuming_lookbehind`` does
    for patterns (without it Hyperscan would not report a value the Python regex finds)."""
    m = _boundary_class_at(_CONSUMED_BOUNDARY, anchor)
    return anchor if m is None else f"(?:^|[^{m.group(1)}]|[nrt])" + anchor[m.end():]


def with_escape_boundary(pattern: str) -> str:
    """Every boundary ``(?<![X])`` of ``pattern`` whose class holds ``n``, ``r`` and ``t`` also
    passes after an escape written out in the text (``\\n``, ``\\r``, ``\\t``: a JSON string,
    a log line, a CSV cell), and not on the escape's letter:
    ``(?<![X](?<!\\[nrt]))(?!(?<=\\)[nrt])`` -- the one a pattern starts with (where its value
    starts) and those inside it (a keyword in ``(?i:…)`` or in a later alternative:
    ``…\\nsshpass -p …``). Other boundaries are left as they are."""
    out, at = [], 0
    for m in _SIMPLE_LOOKBEHIND.finditer(pattern):
        if not _holds_escape_letters(m.group(1)):
            continue
        out.append(pattern[at:m.start()])
        out.append(rf"(?<![{m.group(1)}](?<!\\[nrt]))(?!(?<=\\)[nrt])")
        at = m.end()
    return "".join(out) + pattern[at:]


_SIMPLE_LOOKBEHIND = re.compile(r"(?<!\\)\(\?<!\[((?:[^\]\\]|\\.)+)\]\)")


_LEADING_LOOKBEHIND = re.compile(r"^\(\?<!\[([^\]\\]+)\](?:\(\?<!\\\\(\[[a-z]+\])\))?\)(?:\(\?!\(\?<=\\\\\)\[[a-z]+\]\))?")


def _consuming_lookbehind(pattern: str) -> str:
    """A leading ``(?<![X])`` becomes ``(?:^|[^X])``; with an escape exception,
    ``(?<![X](?<!\\[nrt]))`` (a character of X is fine after a backslash: ``\\n`` written out
    in escaped text), it becomes ``(?:^|[^X]|[nrt])`` -- a superset with the same ends, still
    one consumed character (consuming ``\\[nrt]``, two, made the main pass 4% slower); the
    ``(?!(?<=\\)[nrt])`` that ``with_escape_boundary`` puts after it only narrows the matches
    and is left out."""
    m = _LEADING_LOOKBEHIND.match(pattern)
    if not m:
        return pattern
    escape = f"|{m.group(2)}" if m.group(2) else ""
    return f"(?:^|[^{m.group(1)}]{escape})" + pattern[m.end():]


_TRAILING_LOOKAHEAD = re.compile(
    r"\(\?!(?:\[(?P<cls>(?:[^\]\\^]|\\.)(?:[^\]\\]|\\.)*)\]|(?P<esc>\\[dws]))(?:\|[^()]*)?\)$")


def _consuming_lookahead(pattern: str) -> str:
    """``…(?![X])`` or ``…(?![X]|…)`` at the end becomes ``…(?:[^X]|$)``.

    Prefilter mode drops lookarounds, so a trailing ``[…]{50,300}(?![…])`` would make Hyperscan
    report every end between 50 and 300 characters. Consuming one character that is not in the
    class keeps a superset of the matches (``(?!X|Y)`` implies ``(?!X)``) with one event per
    match, at most one character past its end (``hs_end_shift``)."""
    m = _TRAILING_LOOKAHEAD.search(pattern)
    if not m:
        return pattern
    return pattern[:m.start()] + f"(?:[^{m.group('cls') or m.group('esc')}]|$)"


def load_rule_file(path: Path) -> list[Rule]:
    """All rules of one YAML file (a list of mappings)."""
    try:
        data = load_data_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path.name}: invalid YAML: {exc}") from None
    if not isinstance(data, list):
        raise RuleError(f"{path.name}: expected a list of rules")
    return [Rule.from_dict(item, source=path.name) for item in data]


def load_builtin_rules(rules_dir: Path = RULES_DIR) -> list[Rule]:
    """The built-in catalogue, in file then definition order; ids must be unique.

    Compiling it takes about a second (hundreds of regexes), and a scan needs it more than once
    (the config check, the engine), so the rules are compiled once per process and set of rule
    files (name, size and modification time) and shared: a new list each call, the same
    ``Rule`` objects, which nobody changes after loading (``apply_custom_config`` overrides
    copies)."""
    paths = sorted(rules_dir.glob("*.yaml"))
    files = tuple((path, st.st_mtime_ns, st.st_size) for path, st in zip(paths, map(Path.stat, paths)))
    return list(_compiled_rules(files))


@lru_cache(maxsize=4)
def _compiled_rules(files: tuple[tuple[Path, int, int], ...]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for path, _mtime, _size in files:
        rules.extend(load_rule_file(path))
    check_unique(rules)
    return tuple(rules)


def check_unique(rules: list[Rule]) -> None:
    """Raise ``RuleError`` when two rules share an id or a pair refers to a missing rule."""
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    for rule in rules:
        if rule.pair and rule.pair["rule"] not in seen:
            raise RuleError(f"rule {rule.id}: pair refers to unknown rule {rule.pair['rule']!r}")


def rules_digest(rules: list[Rule]) -> str:
    """Hash of what the multi-pattern database depends on (cache key of the compiled database)."""
    blob = json.dumps([r.signature() for r in rules], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
