"""Custom detectors and per-detector overrides from configuration (YAML file, YAML text or dict).

Format (all sections optional)::

    detectors:
      - id: acme-employee-id          # regex detector: any rule key of the built-in catalogue
        infotype: ACME_EMPLOYEE_ID
        pattern: '\\bEMP-\\d{6}\\b'
        hotwords: [employee, staff]
      - id: acme-codenames            # keyword dictionary
        type: dictionary
        infotype: ACME_PROJECT
        words: [bluebird, nightjar]
      - id: acme-customers            # exact data match against hashed values
        type: exact_match
        infotype: ACME_CUSTOMER_NUMBER
        pattern: '\\b\\d{8}\\b'
        normalize: digits
        salt: "per-list salt"         # optional; hashes are sha256(salt + normalised value)
        hashes: [<64 hex chars>, ...]
    overrides:
      ipv4-address: {disabled: true}
      email-address: {min_likelihood: LIKELY, allowlist: ['.*@example\\.org']}

The configuration never needs raw customer values: exact-match lists hold SHA-256 hex digests.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from vigil.detect.masking import normalize
from vigil.detect.model import likelihood_rank
from vigil.detect.rules import Rule, RuleError, check_unique

_OVERRIDE_KEYS = {"disabled", "min_likelihood", "allowlist", "likelihood", "severity"}


def read_config(config: Any) -> dict[str, Any]:
    """Parse ``config`` (mapping, YAML path or YAML text) into a mapping."""
    if isinstance(config, dict):
        return config
    if isinstance(config, Path) or (isinstance(config, str) and "\n" not in config
                                    and config.endswith((".yaml", ".yml"))):
        path = Path(config)
        if not path.is_file():
            raise RuleError(f"custom rules file not found: {path}")
        config = path.read_text(encoding="utf-8")
    if isinstance(config, str):
        try:
            data = yaml.safe_load(config)
        except yaml.YAMLError as exc:
            raise RuleError(f"custom rules: invalid YAML: {exc}") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise RuleError("custom rules: expected a mapping with 'detectors' and/or 'overrides'")
        return data
    raise RuleError(f"custom rules: unsupported type {type(config).__name__}")


def edm_hash(value: str, normalize_style: str = "none", salt: str = "") -> str:
    """The digest an exact-match list stores for ``value``: sha256(salt + normalised value)."""
    return hashlib.sha256((salt + normalize(value, normalize_style)).encode("utf-8")).hexdigest()


def _custom_rule(spec: dict[str, Any]) -> Rule:
    spec = dict(spec)
    kind = spec.pop("type", "regex")
    rid = spec.get("id", "?")
    spec.setdefault("category", "custom")
    spec.setdefault("mask", "last3")
    if kind == "regex":
        return Rule.from_dict(spec, source="custom rules")
    if kind == "dictionary":
        words = spec.pop("words", None)
        if not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise RuleError(f"custom rule {rid}: a dictionary needs a non-empty 'words' list")
        alternation = "|".join(re.escape(w.strip()) for w in sorted(set(words), key=len, reverse=True))
        spec["pattern"] = rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])"
        spec.setdefault("ignore_case", True)
        spec.setdefault("normalize", "lower")
        return Rule.from_dict(spec, source="custom rules")
    if kind == "exact_match":
        hashes = spec.pop("hashes", None)
        salt = str(spec.pop("salt", ""))
        if not hashes or not all(isinstance(h, str) and re.fullmatch(r"[0-9a-fA-F]{64}", h) for h in hashes):
            raise RuleError(f"custom rule {rid}: exact_match needs 'hashes' as SHA-256 hex digests")
        digests = frozenset(h.lower() for h in hashes)
        rule = Rule.from_dict(spec, source="custom rules")
        style = rule.normalize
        rule.extra_validator = lambda value: edm_hash(value, style, salt) in digests
        return rule
    raise RuleError(f"custom rule {rid}: unknown type {kind!r}; expected regex, dictionary or exact_match")


def apply_custom_config(rules: list[Rule], config: Any) -> list[Rule]:
    """Built-in ``rules`` with the config's overrides applied and its detectors appended."""
    data = read_config(config)
    unknown = set(data) - {"detectors", "overrides"}
    if unknown:
        raise RuleError(f"custom rules: unknown sections {sorted(unknown)}")
    by_id = {r.id: r for r in rules}
    disabled: set[str] = set()
    for rid, override in (data.get("overrides") or {}).items():
        if rid not in by_id:
            raise RuleError(f"override for unknown detector {rid!r}")
        if not isinstance(override, dict) or set(override) - _OVERRIDE_KEYS:
            raise RuleError(f"override {rid}: allowed keys are {sorted(_OVERRIDE_KEYS)}")
        rule = by_id[rid] = copy.copy(by_id[rid])  # the built-in rules are shared: change a copy
        if override.get("disabled"):
            disabled.add(rid)
        if "min_likelihood" in override:
            rule.min_likelihood = likelihood_rank(str(override["min_likelihood"]))
        if "likelihood" in override:
            rule.likelihood = likelihood_rank(str(override["likelihood"]))
        if "severity" in override:
            rule.severity = str(override["severity"])
        if override.get("allowlist"):
            patterns = list(rule.allowlist) + [str(a) for a in override["allowlist"]]
            rule.allowlist = tuple(patterns)
            rule.allowlist_regex = re.compile("|".join(f"(?:{a})" for a in patterns))
    out = [by_id[r.id] for r in rules if r.id not in disabled]
    for spec in data.get("detectors") or []:
        if not isinstance(spec, dict):
            raise RuleError("custom rules: each detector must be a mapping")
        out.append(_custom_rule(spec))
    check_unique(out)
    return out
