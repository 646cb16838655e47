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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from vigil.detect.masking import MASKS, NORMALIZERS
from vigil.detect.model import SEVERITIES, likelihood_rank
from vigil.detect.validators import VALIDATORS

try:  # Python 3.11+
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older interpreters
    import sre_parse as _sre_parse  # type: ignore[no-redef]

RULES_DIR = Path(__file__).with_name("rules")
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
}


class RuleError(ValueError):
    """A rule definition is invalid; the message names the rule and the problem."""


def word_pattern(word: str) -> str:
    """Regex (without boundaries) for one context word; a space also matches ``_`` or ``-``."""
    return re.escape(word.strip()).replace(r"\ ", r"[\s_-]{1,2}")


def _words_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    words = [w for w in words if w]
    if not words:
        return None
    # A space in a context word also matches "_" or "-" so identifiers count (social_insurance).
    alternation = "|".join(re.escape(w).replace(r"\ ", r"[\s_-]{1,2}")
                           for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])(?:{alternation})(?![A-Za-z])", re.I)


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
    """One detector. Build with ``Rule.from_dict``; fields mirror the YAML keys."""

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
    examples: dict[str, list[str]] = field(default_factory=dict)
    # Compiled/derived (not YAML):
    regex: re.Pattern[str] = field(init=False, repr=False)
    max_span: int = field(init=False)
    hotword_regex: re.Pattern[str] | None = field(init=False, repr=False)
    anti_context_regex: re.Pattern[str] | None = field(init=False, repr=False)
    allowlist_regex: re.Pattern[str] | None = field(init=False, repr=False)
    hotword_width: int = field(init=False, default=0, repr=False)
    anti_context_width: int = field(init=False, default=0, repr=False)
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
                id=rule_id, infotype=infotype, pattern=str(data["pattern"]),
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
                examples={k: list(v or []) for k, v in (data.get("examples") or {}).items()},
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RuleError):
                raise
            raise RuleError(f"rule {rule_id}: {exc}") from None
        rule._compile()
        return rule

    def _compile(self) -> None:
        rid = self.id
        if self.category not in CATEGORIES:
            raise RuleError(f"rule {rid}: category must be one of {CATEGORIES}")
        if self.severity not in SEVERITIES:
            raise RuleError(f"rule {rid}: severity must be one of {SEVERITIES}")
        if self.validator is not None and self.validator not in VALIDATORS:
            raise RuleError(f"rule {rid}: unknown validator {self.validator!r}; known: {sorted(VALIDATORS)}")
        if self.mask not in MASKS:
            raise RuleError(f"rule {rid}: unknown mask {self.mask!r}; known: {sorted(MASKS)}")
        if self.normalize not in NORMALIZERS:
            raise RuleError(f"rule {rid}: unknown normalize {self.normalize!r}; known: {sorted(NORMALIZERS)}")
        flags = re.ASCII | (re.I if self.ignore_case else 0)
        try:
            self.regex = re.compile(self.pattern, flags)
        except re.error as exc:
            raise RuleError(f"rule {rid}: bad pattern: {exc}") from None
        if self.regex.groups and "value" not in self.regex.groupindex:
            raise RuleError(f"rule {rid}: use non-capturing groups (?:...) except the one "
                            "named (?P<value>...)")
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
        for word in (*self.hotwords, *self.anti_context):
            word = str(word).strip()
            if not word.isascii() or not word[-1:].isalnum():
                raise RuleError(f"rule {rid}: context word {word!r} must be ASCII and end with a "
                                "letter or digit")
        self.hotword_regex = _words_regex(self.hotwords)
        self.anti_context_regex = _words_regex(self.anti_context)
        # Longest context word (chars): how far before a window a word may start.
        self.hotword_width = width(self.hotword_regex.pattern) if self.hotword_regex else 0
        self.anti_context_width = width(self.anti_context_regex.pattern) if self.anti_context_regex else 0
        try:
            self.allowlist_regex = (re.compile("|".join(f"(?:{a})" for a in self.allowlist))
                                    if self.allowlist else None)
        except re.error as exc:
            raise RuleError(f"rule {rid}: bad allowlist regex: {exc}") from None
        if self.pair is not None:
            if not isinstance(self.pair, dict) or "rule" not in self.pair:
                raise RuleError(f"rule {rid}: pair must be a mapping with 'rule' (and 'window')")

    @property
    def context_required(self) -> bool:
        """Whether a match without a context word stays below POSSIBLE. Such rules are only
        searched near their context words (like keyword-required identifiers in Macie)."""
        return (self.hotword_regex is not None and not self.pair
                and self.likelihood + self.missing_hotword < POSSIBLE)

    @property
    def hs_pattern(self) -> str:
        """What Hyperscan scans for (in prefilter mode): the anchor, or the pattern itself.

        Prefilter mode ignores lookarounds, so a leading ``(?<![X])`` would leave Hyperscan
        reporting every suffix of a long run; it becomes ``(?:^|[^X])`` instead, which matches a
        superset with the same end offsets."""
        if self.anchor is not None:
            return self.anchor
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


def width(pattern: str, flags: int = 0) -> int:
    """Longest possible match of ``pattern`` in characters (MAXREPEAT when unbounded)."""
    return int(_sre_parse.parse(pattern, flags).getwidth()[1])


_LEADING_LOOKBEHIND = re.compile(r"^\(\?<!\[([^\]\\]+)\]\)")


def _consuming_lookbehind(pattern: str) -> str:
    m = _LEADING_LOOKBEHIND.match(pattern)
    if not m:
        return pattern
    return f"(?:^|[^{m.group(1)}])" + pattern[m.end():]


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
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path.name}: invalid YAML: {exc}") from None
    if not isinstance(data, list):
        raise RuleError(f"{path.name}: expected a list of rules")
    return [Rule.from_dict(item, source=path.name) for item in data]


def load_builtin_rules(rules_dir: Path = RULES_DIR) -> list[Rule]:
    """The built-in catalogue, in file then definition order; ids must be unique."""
    rules: list[Rule] = []
    for path in sorted(rules_dir.glob("*.yaml")):
        rules.extend(load_rule_file(path))
    check_unique(rules)
    return rules


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
