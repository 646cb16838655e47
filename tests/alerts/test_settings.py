"""The [alerts] config section: refused with the key at fault, never echoing a secret."""

from __future__ import annotations

import pytest

from vigil.config import ConfigError, load_config, parse_config

SLACK = {"type": "slack", "block": "sec-slack"}


def _alerts(**alerts):
    return parse_config({"alerts": alerts})


@pytest.mark.parametrize("alerts, key, problem", [
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"]},
                                                   {"name": "b", "destinations": ["s"]},
                                                   {"name": "c", "destinations": ["s"], "infotypes": ["AWS_CREDENTIALS", "AWS_KEY"]}]},
     "alerts.policies[2].infotypes[1]", "unknown infotype 'AWS_KEY'"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "min_per_object": 0}]},
     "alerts.policies[0].min_per_object", "expected an integer from 1"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "min_per_object": "5"}]},
     "alerts.policies[0].min_per_object", "expected an integer"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "min_severity": "severe"}]},
     "alerts.policies[0].min_severity", "expected one of low|medium|high|critical"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "min_likelihood": "likely"}]},
     "alerts.policies[0].min_likelihood", "expected one of VERY_UNLIKELY"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s", "pager"]}]},
     "alerts.policies[0].destinations[1]", "unknown destination 'pager'"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "groups": ["fin"]}]},
     "alerts.policies[0].groups[0]", "unknown group 'fin'"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "all", "destinations": ["s"]}]},
     "alerts.policies[0].name", "built-in"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "categories": ["secret"]}]},
     "alerts.policies[0].categories[0]", "unknown category"),
    ({"destinations": {"s": SLACK}, "policies": [{"name": "a", "destinations": ["s"], "severity": "high"}]},
     "alerts.policies[0].severity", "unknown setting"),
    ({"destinations": {"s": {"type": "slack"}}}, "alerts.destinations.s.block", "required"),
    ({"destinations": {"s": {"type": "pagerduty", "block": "x"}}}, "alerts.destinations.s.type", "expected one of"),
    ({"destinations": {"s": {"type": "slack", "block": "x", "url": "https://hooks.slack.com/services/T/B/C"}}},
     "alerts.destinations.s.url", "not a setting of a 'slack' destination"),
    ({"destinations": {"h": {"type": "webhook", "url": "https://x.example.com", "secret": "hunter2"}}},
     "alerts.destinations.h.secret", "must not be stored"),
    ({"destinations": {"h": {"type": "webhook", "url": "https://x.example.com", "secret_source": "hunter2"}}},
     "alerts.destinations.h.secret_source", "'env:VARIABLE' or 'prefect-secret:BLOCK_NAME'"),
    ({"destinations": {"h": {"type": "splunk_hec", "url": "splunk:8088", "token_source": "env:T"}}},
     "alerts.destinations.h.url", "http(s) URL"),
    ({"destinations": {"m": {"type": "email", "block": "smtp", "sender": "v@example.com", "recipients": ["soc"]}}},
     "alerts.destinations.m.recipients[0]", "e-mail address"),
    ({"max_per_message": 0}, "alerts.max_per_message", "expected an integer from 1 to 1000"),
])
def test_errors_name_the_key(alerts, key, problem):
    with pytest.raises(ConfigError) as err:
        _alerts(**alerts)
    assert err.value.key == key and problem in err.value.problem
    assert "hunter2" not in str(err.value)


def test_a_full_section_loads_from_toml_and_round_trips(tmp_path):
    path = tmp_path / "vigil.toml"
    path.write_text("""
[alerts]
max_per_message = 30

[alerts.groups]
finance = ["Ana@example.com", "bo@example.com"]

[alerts.destinations.secops-slack]
type = "slack"
block = "secops-slack"

[alerts.destinations.splunk]
type = "splunk_hec"
url = "https://splunk.example.com:8088"
token_source = "prefect-secret:splunk-hec-token"
index = "dlp"

[[alerts.policies]]
name = "cloud-keys"
categories = ["credential"]
min_severity = "high"
destinations = ["secops-slack", "splunk"]

[[alerts.policies]]
name = "bulk-ssn"
infotypes = ["US_SOCIAL_SECURITY_NUMBER"]
min_per_object = 5
groups = ["finance"]
projects = ["Payroll"]
destinations = ["splunk"]
""")
    cfg = load_config(path)
    assert [p.name for p in cfg.alerts.policies] == ["cloud-keys", "bulk-ssn"]
    assert cfg.alerts.destinations["splunk"].sourcetype == "vigil:incident"
    assert cfg.alerts.batch_size("splunk") == 30
    bulk = cfg.alerts.incident_policies()[1]
    assert bulk.match.users == ("ana@example.com", "bo@example.com") and bulk.match.min_per_object == 5
    assert cfg.with_overrides({"historical.days": 7}).alerts == cfg.alerts
