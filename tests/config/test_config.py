"""Configuration: loading TOML/YAML, validation errors that name the key, defaults, overrides."""

import textwrap
from pathlib import Path

import pytest

from vigil.config import (
    DEFAULT_KEY_SOURCE,
    Config,
    ConfigError,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parents[2]

TOML = """
[connector]
org_id = "org_01abc"
base_url = "http://127.0.0.1:8000/"
key_source = "prefect-secret:anthropic-compliance-key"

[scope.chats]
mode = "exclude"
users = ["CEO@Example.com"]

[scope.projects]
mode = "regex"
name_regex = "finance.*"

[forward]
enabled = false

[historical]
days = 7

[inspection]
max_file_mb = 2.5

[evidence]
target = "s3://evidence-bucket/vigil"

[lake]
root = "/tmp/lake"
compact_threshold = 8

[rate]
rpm = 120
"""

YAML = """
connector:
  org_id: org_01abc
  base_url: http://127.0.0.1:8000/
  key_source: prefect-secret:anthropic-compliance-key
scope:
  chats: {mode: exclude, users: [CEO@Example.com]}
  projects: {mode: regex, name_regex: "finance.*"}
forward: {enabled: false}
historical: {days: 7}
inspection: {max_file_mb: 2.5}
evidence: {target: "s3://evidence-bucket/vigil"}
lake: {root: /tmp/lake, compact_threshold: 8}
rate: {rpm: 120}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_toml_and_yaml_give_the_same_config(tmp_path):
    a = load_config(write(tmp_path, "vigil.toml", TOML))
    b = load_config(write(tmp_path, "vigil.yaml", YAML))
    assert a == b
    assert a.connector.org_id == "org_01abc" and a.connector.base_url == "http://127.0.0.1:8000"
    assert a.scope.chats.mode == "exclude" and not a.scope.chats.includes("ceo@example.com")
    assert a.scope.projects.includes("p1", "Finance Q3") and not a.scope.projects.includes("p2", "HR")
    assert a.forward.enabled is False and a.historical.days == 7
    assert a.inspection.max_file_bytes == int(2.5 * 1024 * 1024)
    assert a.evidence.enabled and a.evidence.target == "s3://evidence-bucket/vigil"
    assert a.lake.root == "/tmp/lake" and a.lake.compact_threshold == 8 and a.rate.rpm == 120


def test_defaults():
    cfg = parse_config({})
    assert cfg == Config()
    assert cfg.connector.key_source == DEFAULT_KEY_SOURCE
    assert cfg.scope.chats.mode == "all" and cfg.scope.projects.mode == "all"
    assert cfg.forward.enabled and cfg.historical.days == 30
    assert cfg.inspection.max_file_mb == 25 and cfg.inspection.file_types is None
    assert cfg.evidence.target == "none" and not cfg.evidence.enabled
    assert cfg.lake.root == "data" and cfg.lake.compact_threshold == 32 and cfg.rate.rpm == 540


def test_the_example_file_at_the_repo_root_is_valid():
    cfg = load_config(REPO / "vigil.example.toml")
    assert cfg.connector.key_source == DEFAULT_KEY_SOURCE
    assert cfg.rate.rpm == 540


@pytest.mark.parametrize(
    ("doc", "key", "problem"),
    [
        ({"scope": {"chats": {"mode": "some"}}}, "scope.chats.mode", "expected one of all|include|exclude|regex"),
        ({"scope": {"projects": {"mode": 3}}}, "scope.projects.mode", "expected a string"),
        ({"scope": {"chats": {"mode": "include"}}}, "scope.chats.users", "needs at least one"),
        ({"scope": {"chats": {"mode": "include", "users": ["bob"]}}}, "scope.chats.users[0]", "e-mail"),
        ({"scope": {"chats": {"mode": "regex"}}}, "scope.chats.email_regex", "needs email_regex"),
        ({"scope": {"chats": {"mode": "regex", "email_regex": "(["}}}, "scope.chats.email_regex", "invalid regular expression"),
        ({"scope": {"projects": {"mode": "exclude"}}}, "scope.projects.names", "needs project names or ids"),
        ({"scope": {"projects": {"mode": "include", "ids": "p1"}}}, "scope.projects.ids", "expected a list"),
        ({"scope": {"chat": {}}}, "scope.chat", "unknown setting"),
        ({"forward": {"enabled": "yes"}}, "forward.enabled", "expected true or false"),
        ({"historical": {"days": 0}}, "historical.days", "from 1 to 3650"),
        ({"historical": {"days": 1.5}}, "historical.days", "expected an integer"),
        ({"inspection": {"max_file_mb": 26}}, "inspection.max_file_mb", "from 1 to 25"),
        ({"inspection": {"max_file_mb": 0.5}}, "inspection.max_file_mb", "from 1 to 25"),
        ({"inspection": {"file_types": "pdf"}}, "inspection.file_types", "expected a list"),
        ({"inspection": {"file_types": ["pdf", ""]}}, "inspection.file_types[1]", "non-empty"),
        ({"evidence": {"target": "nosuchproto://b/p"}}, "evidence.target", "unknown storage protocol"),
        ({"evidence": {"target": ""}}, "evidence.target", "expected 'none'"),
        ({"lake": {"root": 5}}, "lake.root", "expected a string"),
        ({"lake": {"compact_threshold": -1}}, "lake.compact_threshold", "from 0"),
        ({"lake": {"storage_options": {"secret": "x"}}}, "lake.storage_options.secret", "credentials"),
        ({"rate": {"rpm": 0}}, "rate.rpm", "from 1"),
        ({"rate": 540}, "rate", "expected a table"),
        ({"connector": {"base_url": "ftp://x"}}, "connector.base_url", "http(s) URL"),
        ({"connector": {"key_source": "vault:abc"}}, "connector.key_source", "'env:VARIABLE' or 'prefect-secret:BLOCK_NAME'"),
        ({"connecter": {}}, "connecter", "unknown setting"),
    ],
)
def test_validation_errors_name_the_bad_key(doc, key, problem):
    with pytest.raises(ConfigError) as exc:
        parse_config(doc)
    assert exc.value.key == key
    assert str(exc.value).startswith(f"{key}: ")
    assert problem in str(exc.value)


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"connector": {"api_key": "sk-ant-api01-SECRETSECRET"}}, "connector.api_key"),
        ({"connector": {"key": "abc"}}, "connector.key"),
        ({"connector": {"key_source": "sk-ant-api01-SECRETSECRET"}}, "connector.key_source"),
        ({"lake": {"root": "data-sk-ant-api01-SECRETSECRET"}}, "lake.root"),
        ({"scope": {"chats": {"mode": "include", "users": ["a@b.c", "sk-ant-admin01-SECRETSECRET"]}}},
         "scope.chats.users[1]"),
    ],
)
def test_a_literal_key_is_refused_without_echoing_it(doc, key):
    with pytest.raises(ConfigError) as exc:
        parse_config(doc)
    assert exc.value.key == key
    assert "SECRET" not in str(exc.value) and "abc" not in str(exc.value)
    assert "must not be stored" in str(exc.value) or "looks like an API key" in str(exc.value)


def test_file_level_errors(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "bad.toml", "[lake\nroot = 1"))
    with pytest.raises(ConfigError, match=r"not valid YAML \(line \d+\)"):
        load_config(write(tmp_path, "bad.yaml", "lake:\n  root: [unclosed\n"))
    with pytest.raises(ConfigError, match="must end in"):
        load_config(write(tmp_path, "vigil.ini", "x=1"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="<root>: expected a table"):
        load_config(write(tmp_path, "list.yaml", "- 1\n- 2\n"))
    assert load_config(write(tmp_path, "empty.yaml", "")) == Config()


def test_overrides_are_validated_and_round_trip():
    cfg = parse_config({"scope": {"chats": {"mode": "regex", "email_regex": ".*@corp\\.com"}}})
    assert parse_config(cfg.to_dict()) == cfg
    short = cfg.with_overrides({"historical.days": 3, "lake.root": "s3://b/p"})
    assert short.historical.days == 3 and short.lake.root == "s3://b/p" and short.scope == cfg.scope
    with pytest.raises(ConfigError, match=r"^inspection\.max_file_mb: "):
        cfg.with_overrides({"inspection.max_file_mb": 100})


def test_file_types_default_to_the_extraction_list_and_are_checked_against_it():
    from vigil.extract.filetypes import default_file_types as extraction_list

    known = extraction_list()
    assert set(Config().inspection.effective_file_types()) == set(known.extensions)
    assert "pdf" in known.extensions
    cfg = parse_config({"inspection": {"file_types": [".PDF", "docx"]}})
    assert cfg.inspection.file_types == ("pdf", "docx")
    assert cfg.inspection.effective_file_types() == ("pdf", "docx")
    with pytest.raises(ConfigError) as exc:
        parse_config({"inspection": {"file_types": ["pdf", "exe-not-a-type"]}})
    assert exc.value.key == "inspection.file_types[1]" and "unknown file type" in str(exc.value)
