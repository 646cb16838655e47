"""The config's own detectors (``[detection] rules``), group scope and session settings."""

from __future__ import annotations

import pytest

from vigil.config import ConfigError, load_config, parse_config
from vigil.scan.rules import load_rule_set, rules_version
from vigil.scope import ChatScope

RULES = """\
detectors:
  - id: acme-employee-id
    infotype: ACME_EMPLOYEE_ID
    pattern: '\\bEMP-\\d{6}\\b'
overrides:
  ipv4-address: {severity: medium}
"""


def test_rule_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "acme-rules.yaml").write_text(RULES)
    config = tmp_path / "vigil.toml"
    config.write_text('[detection]\nrules = ["rules/acme-rules.yaml"]\n')
    cfg = load_config(config)
    assert cfg.detection.rules == (str((tmp_path / "rules" / "acme-rules.yaml").resolve()),)
    # The absolute path survives overrides (which re-parse the settings without the file).
    assert cfg.with_overrides({"historical.days": 7}).detection.rules == cfg.detection.rules


def test_a_missing_or_invalid_rule_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        parse_config({"detection": {"rules": ["nope.yaml"]}}, base_dir=tmp_path)
    assert exc.value.key == "detection.rules[0]" and "not found" in str(exc.value)
    (tmp_path / "bad.yaml").write_text("detectors:\n  - id: broken\n    infotype: X\n    pattern: '(['\n")
    cfg = parse_config({"detection": {"rules": ["bad.yaml"]}}, base_dir=tmp_path)
    with pytest.raises(ConfigError) as exc:
        load_rule_set(cfg.detection.rules)
    assert exc.value.key == "detection.rules[0]" and "bad.yaml" in str(exc.value)
    (tmp_path / "a.yaml").write_text(RULES)
    (tmp_path / "b.yaml").write_text(RULES.split("overrides")[0])
    with pytest.raises(ConfigError) as exc:  # the same detector id in two files
        load_rule_set(parse_config({"detection": {"rules": ["a.yaml", "b.yaml"]}}, base_dir=tmp_path).detection.rules)
    assert "acme-employee-id" in str(exc.value)


def test_the_rules_version_follows_the_rules_not_their_formatting(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(RULES)
    first = load_rule_set([str(path)])
    assert first.custom["detectors"][0]["id"] == "acme-employee-id"
    path.write_text("# Acme's detectors\n" + RULES)
    assert load_rule_set([str(path)]).version == first.version
    path.write_text(RULES.replace("\\d{6}", "\\d{7}"))
    assert load_rule_set([str(path)]).version != first.version
    assert load_rule_set([]).version == rules_version(None) != first.version


def test_group_scope_settings():
    cfg = parse_config({"scope": {"chats": {"mode": "exclude", "groups": ["Finance", "rbac_group_01X"]}},
                        "sessions": {"local_lookback_days": 14}})
    assert cfg.scope.chats.groups == ("Finance", "rbac_group_01X") and cfg.scope.chats.uses_groups
    assert cfg.sessions.local_lookback_days == 14
    assert parse_config({}).sessions.local_lookback_days == 7 and parse_config({}).detection.rules == ()
    for doc, key in [({"scope": {"chats": {"mode": "regex", "email_regex": ".*", "groups": ["x"]}}}, "scope.chats.groups"),
                     ({"scope": {"chats": {"mode": "include", "groups": [""]}}}, "scope.chats.groups[0]"),
                     ({"sessions": {"local_lookback_days": 0}}, "sessions.local_lookback_days"),
                     ({"detection": {"rules": "acme.yaml"}}, "detection.rules")]:
        with pytest.raises(ConfigError) as exc:
            parse_config(doc)
        assert exc.value.key == key


def test_chat_scope_by_group():
    finance = [("rbac_group_1", "Finance")]
    legal = [("rbac_group_2", "Legal"), ("rbac_group_3", "Security Champions")]
    include = ChatScope("include", users=("ceo@corp.com",), groups=("finance", "RBAC_GROUP_3"))
    assert include.includes("ann@corp.com", finance) and include.includes("bo@corp.com", legal)
    assert include.includes("ceo@corp.com", ()) and not include.includes("cy@corp.com", ())
    assert not include.includes(None, [("rbac_group_2", "Legal")])
    exclude = ChatScope("exclude", groups=("Finance",))
    assert not exclude.includes("ann@corp.com", finance) and exclude.includes("bo@corp.com", legal)
    assert exclude.includes(None, ())
    with pytest.raises(ValueError):
        ChatScope("all", groups=("Finance",))
