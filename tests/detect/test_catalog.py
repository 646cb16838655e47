"""The built-in catalogue: size, coverage, every rule's own examples, and the README table."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.detect import catalog
from vigil.detect.rules import RuleError, Rule, load_builtin_rules
from vigil.synth.values import PLANTED_INFOTYPES

RULES = load_builtin_rules()


def test_catalogue_has_at_least_60_detectors_with_examples():
    assert len(RULES) >= 60
    for rule in RULES:
        assert rule.examples.get("positive"), f"{rule.id} has no positive example"
        assert rule.examples.get("negative"), f"{rule.id} has no negative example"
        assert rule.description, f"{rule.id} has no description"


def test_every_planted_infotype_has_a_detector():
    covered = {r.infotype for r in RULES}
    assert set(PLANTED_INFOTYPES) <= covered, set(PLANTED_INFOTYPES) - covered



def test_data_files_read_the_same_with_libyaml_and_the_python_parser():
    """``load_data_yaml`` reads the shipped data files with libyaml when PyYAML has it; it must
    build exactly what PyYAML's own parser builds."""
    import yaml

    from vigil.yamldata import load_data_yaml

    root = Path(__file__).resolve().parents[2] / "vigil"
    files = sorted(root.glob("detect/rules/*.yaml")) + sorted(root.glob("detect/*.yaml")) + [
        root / "extract" / "filetypes.yaml"]
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_data_yaml(text) == yaml.safe_load(text), path.name
    assert yaml.__with_libyaml__  # the wheels have it; without it the speed-up is gone, not the answers

@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples(rule, hs_engine):
    for text in rule.examples["positive"]:
        found = hs_engine.scan(text)
        assert any(f.detector == rule.id and f.infotype == rule.infotype for f in found), (
            f"{rule.id} missed {text[:80]!r}: {[(f.detector, f.likelihood) for f in found]}")
    for text in rule.examples["negative"]:
        found = hs_engine.scan(text)
        assert not any(f.detector == rule.id for f in found), f"{rule.id} fired on {text[:80]!r}"


@pytest.mark.parametrize("rule", [r for r in RULES if r.anchor], ids=lambda r: r.id)
def test_anchor_ends_inside_every_positive_match(rule):
    """The window argument needs every match to contain the end of an anchor match."""
    import re
    anchor = re.compile(rule.anchor, re.ASCII | (re.I if rule.ignore_case else 0))
    for text in rule.examples["positive"]:
        for m in rule.regex.finditer(text):
            ends = [a.end() for a in anchor.finditer(text) if m.start() < a.end() <= m.end()]
            assert ends, f"{rule.id}: no anchor inside {m.group()[:60]!r}"
            if rule.anchor_reach:
                before, after = rule.anchor_reach
                assert any(e - m.start() <= before and m.end() - e <= after for e in ends)


def test_readme_table_is_up_to_date():
    readme = catalog.README.read_text(encoding="utf-8")
    assert readme == catalog.render_readme(readme), (
        "README detector table is stale: run python -m vigil.detect.catalog --update-readme")


def test_render_readme_only_touches_the_marked_section():
    text = "# T\n\nbefore\n<!-- detectors:start -->\nold\n<!-- detectors:end -->\nafter\n"
    out = catalog.render_readme(text, RULES[:2])
    assert out.startswith("# T\n\nbefore\n<!-- detectors:start -->\n")
    assert out.endswith("<!-- detectors:end -->\nafter\n")
    assert "old" not in out and f"`{RULES[0].id}`" in out
    with pytest.raises(ValueError):
        catalog.render_readme("no markers")


@pytest.mark.parametrize("bad, message", [
    ({"id": "x", "infotype": "X", "pattern": "a+"}, "bounded"),
    ({"id": "x", "infotype": "X", "pattern": "(a)"}, "non-capturing"),
    ({"id": "x", "infotype": "X", "pattern": "a", "validator": "nope"}, "unknown validator"),
    ({"id": "X y", "infotype": "X", "pattern": "a"}, "kebab"),
    ({"id": "x", "infotype": "X", "pattern": "a", "colour": 1}, "unknown keys"),
    ({"id": "x", "infotype": "X", "pattern": "a", "hotwords": ["ssn:"]}, "context word"),
])
def test_invalid_rules_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(RuleError, match=message):
        Rule.from_dict(bad)
