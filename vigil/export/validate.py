"""Validate OCSF events against the published schema, offline.

The schema is OCSF's own export (``schema.ocsf.io/<version>/export/schema``) as shipped inside
the pinned ``ocsf-json-schema`` package, which turns a class into a JSON Schema (draft 2020-12:
required attributes, types, enums, the OCSF type patterns, ``additionalProperties: false``);
``jsonschema`` checks events against it. Nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from vigil.export.ocsf import OCSF_VERSION


class OcsfValidationError(ValueError):
    """An event does not validate; the message lists the failing attributes (no values)."""


@dataclass
class ValidationReport:
    """Outcome of checking many events: how many, how many failed, and the first problems."""

    checked: int = 0
    failed: int = 0
    by_class: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and self.failed == 0


@lru_cache(maxsize=4)
def _schema_source(version: str) -> Any:
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema  # noqa: PLC0415

    return OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))


@lru_cache(maxsize=32)
def class_validator(class_uid: int, version: str = OCSF_VERSION, profiles: tuple[str, ...] = ()) -> Any:
    """A ``jsonschema`` validator for one OCSF class (cached)."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415

    source = _schema_source(version)
    schema = source.get_class_schema(source.lookup_class_name_from_uid(class_uid), list(profiles))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def event_errors(event: dict[str, Any], version: str = OCSF_VERSION) -> list[str]:
    """Why ``event`` is not a valid OCSF event of its ``class_uid`` (empty when it is).

    Messages name the attribute path and the rule, never the attribute's value.
    """
    class_uid = event.get("class_uid")
    if not isinstance(class_uid, int):
        return ["class_uid: missing or not an integer"]
    try:
        validator = class_validator(class_uid, version, tuple(event.get("metadata", {}).get("profiles") or ()))
    except ValueError:
        return [f"class_uid: {class_uid} is not a class of OCSF {version}"]
    problems = []
    for err in sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path) or "(event)"
        problems.append(f"{path}: fails '{err.validator}' ({_rule(err)})")
    return problems


def _rule(err: Any) -> str:
    """The schema rule an error broke, without echoing the instance value."""
    if err.validator == "required":
        return f"required {err.validator_value}"
    if err.validator == "additionalProperties":
        return "unknown attribute(s): " + ", ".join(sorted(set(err.instance) - set(err.schema.get("properties", {}))))
    if err.validator in ("enum", "const", "type", "pattern", "maxLength", "minimum", "maximum"):
        return f"{err.validator} {json.dumps(err.validator_value)[:120]}"
    return str(err.validator)


def check_event(event: dict[str, Any], version: str = OCSF_VERSION) -> None:
    """Raise ``OcsfValidationError`` unless ``event`` validates."""
    problems = event_errors(event, version)
    if problems:
        raise OcsfValidationError("; ".join(problems))


def check_lines(lines: Iterable[str | bytes], limit: int | None = None,
                version: str = OCSF_VERSION, max_problems: int = 20) -> ValidationReport:
    """Validate JSON lines (an export file); stops after ``limit`` events when given."""
    report = ValidationReport()
    for number, line in enumerate(_nonblank(lines), start=1):
        if limit is not None and report.checked >= limit:
            break
        report.checked += 1
        try:
            event = json.loads(line)
        except ValueError:
            report.failed += 1
            _note(report, f"line {number}: not JSON", max_problems)
            continue
        if isinstance(event, dict) and isinstance(event.get("class_uid"), int):
            report.by_class[event["class_uid"]] = report.by_class.get(event["class_uid"], 0) + 1
        problems = event_errors(event, version) if isinstance(event, dict) else ["not a JSON object"]
        if problems:
            report.failed += 1
            for p in problems:
                _note(report, f"line {number}: {p}", max_problems)
    return report


def _nonblank(lines: Iterable[str | bytes]) -> Iterator[str | bytes]:
    for line in lines:
        if line.strip():
            yield line


def _note(report: ValidationReport, problem: str, max_problems: int) -> None:
    if len(report.problems) < max_problems:
        report.problems.append(problem)
