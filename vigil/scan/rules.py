"""The rule set every scan runs: the built-in catalogue plus the organization's own rule files.

``[detection] rules = ["acme-rules.yaml", ...]`` names YAML files in the format
``vigil inspect --rules`` accepts (``detectors`` and ``overrides``; docs/detection.md). Several
files are merged into one configuration: their detectors are appended in file order (ids must be
unique across files) and their overrides applied (a later file's override of a detector
replaces an earlier one's).

The *rules version* is a hash of the built-in rule files and the merged custom configuration.
Each ``scan_runs`` row records it, so a finding can be traced to the rules that produced it
(``findings.scan_run_id`` → ``scan_runs.rules_version``), and a run whose version differs from
the previous run's says so in its summary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.config import ConfigError

CONFIG_KEY = "detection.rules"


@dataclass(frozen=True)
class RuleSet:
    """The custom configuration to give ``Engine.load`` (None: built-in rules only) and its version."""

    custom: dict[str, Any] | None
    version: str
    files: tuple[str, ...] = ()


def load_rule_set(paths: Iterable[str]) -> RuleSet:
    """Read and merge the custom rule files, check them against the built-in catalogue, and
    compute the rules version. Raises ``ConfigError`` (naming ``detection.rules[i]``) for a file
    that cannot be read or holds an invalid rule."""
    from vigil.detect.custom import apply_custom_config, read_config  # noqa: PLC0415 - heavy imports
    from vigil.detect.rules import RuleError, load_builtin_rules  # noqa: PLC0415

    paths = tuple(paths)
    merged: dict[str, Any] = {"detectors": [], "overrides": {}}
    for i, path in enumerate(paths):
        where = f"{CONFIG_KEY}[{i}]"
        try:
            data = read_config(Path(path))
        except RuleError as exc:
            raise ConfigError(where, str(exc)) from None
        unknown = set(data) - {"detectors", "overrides"}
        if unknown:
            raise ConfigError(where, f"{Path(path).name}: unknown sections {sorted(unknown)} "
                              "(expected detectors, overrides)")
        detectors = data.get("detectors") or []
        overrides = data.get("overrides") or {}
        if not isinstance(detectors, list) or not isinstance(overrides, dict):
            raise ConfigError(where, f"{Path(path).name}: 'detectors' must be a list and 'overrides' a mapping")
        merged["detectors"].extend(detectors)
        merged["overrides"].update(overrides)
        try:  # each file on its own first, so an error names the file that holds it
            apply_custom_config(load_builtin_rules(), data)
        except RuleError as exc:
            raise ConfigError(where, f"{Path(path).name}: {exc}") from None
    custom = merged if paths else None
    if custom is not None:
        try:
            apply_custom_config(load_builtin_rules(), custom)
        except RuleError as exc:  # e.g. the same detector id in two files
            raise ConfigError(CONFIG_KEY, str(exc)) from None
    return RuleSet(custom, rules_version(custom), paths)


def rules_version(custom: dict[str, Any] | None) -> str:
    """``sha256`` (first 16 hex characters) of the built-in rule files and the custom
    configuration. Comments and formatting of custom files do not change it; their content does."""
    from vigil.detect.rules import RULES_DIR  # noqa: PLC0415

    digest = hashlib.sha256()
    for path in sorted(RULES_DIR.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(b"custom\0" + json.dumps(custom, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]
