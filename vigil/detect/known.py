"""Well-known public example values (``known_examples.yaml``), looked up per infoType.

A match whose normalised value is on the list is reported at ``VERY_UNLIKELY`` with the reason
``known_example`` (see ``Engine``): the Stripe test card, the IBAN printed in ISO 13616, the AWS
documentation key are nobody's data, but an auditor can still list them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

import yaml

from vigil.detect.rules import RuleError
from vigil.yamldata import load_data_yaml

KNOWN_EXAMPLES_FILE = Path(str(resources.files("vigil.detect") / "known_examples.yaml"))  # not next to a compiled file
REASON = "known_example"

_NON_DIGIT = re.compile(r"[^0-9]")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _jwt_body(value: str) -> str:
    head, _, rest = value.strip().partition(".")
    payload = rest.partition(".")[0]
    return f"{head}.{payload}"


_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "digits": lambda v: _NON_DIGIT.sub("", v),
    "alnum_upper": lambda v: _NON_ALNUM.sub("", v).upper(),
    "exact": lambda v: v.strip(),
    "jwt_body": _jwt_body,
    "unescape": lambda v: v.strip().replace("\\/", "/"),
}


class KnownExamples:
    """The list, compiled: ``matches(infotype, value)``."""

    def __init__(self, version: str, groups: dict[str, list[tuple[Callable[[str], str], frozenset[str],
                                                                      re.Pattern[str] | None]]]) -> None:
        self.version = version
        self._groups = groups

    @property
    def infotypes(self) -> frozenset[str]:
        return frozenset(self._groups)

    def matches(self, infotype: str, value: str) -> bool:
        """Whether ``value`` (of ``infotype``) is a listed example."""
        for norm, values, pattern in self._groups.get(infotype, ()):
            key = norm(value)
            if key in values or (pattern is not None and pattern.fullmatch(key)):
                return True
        return False

    @classmethod
    def from_data(cls, data: object, source: str = "known examples") -> "KnownExamples":
        """Build from the parsed YAML mapping; raise ``RuleError`` naming what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
            raise RuleError(f"{source}: expected a mapping with a 'groups' list")
        groups: dict[str, list] = {}
        for n, group in enumerate(data["groups"], start=1):
            if not isinstance(group, dict) or not group.get("infotypes"):
                raise RuleError(f"{source}: group {n} needs 'infotypes'")
            style = group.get("normalize", "exact")
            if style not in _NORMALIZERS:
                raise RuleError(f"{source}: group {n}: unknown normalize {style!r}; known: {sorted(_NORMALIZERS)}")
            norm = _NORMALIZERS[style]
            values = frozenset(norm(str(v)) for v in group.get("values") or ())
            try:
                pattern = (re.compile("|".join(f"(?:{p})" for p in group["patterns"]))
                           if group.get("patterns") else None)
            except re.error as exc:
                raise RuleError(f"{source}: group {n}: bad pattern: {exc}") from None
            if not values and pattern is None:
                raise RuleError(f"{source}: group {n} has neither values nor patterns")
            for infotype in group["infotypes"]:
                groups.setdefault(str(infotype), []).append((norm, values, pattern))
        return cls(str(data.get("version", "")), groups)


@lru_cache(maxsize=4)
def load_known_examples(path: Path = KNOWN_EXAMPLES_FILE) -> KnownExamples:
    """The built-in list (cached)."""
    try:
        data = load_data_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path.name}: invalid YAML: {exc}") from None
    return KnownExamples.from_data(data, path.name)
