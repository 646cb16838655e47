"""The ``[alerts]`` section of the config file: destinations, groups and policies.

Parsed by ``vigil.config.parse_config`` through ``parse_alerts``; every error is a
``ConfigError`` naming the key at fault, e.g. ``alerts.policies[2].infotypes[0]: unknown
infotype 'AWS_KEY'``. Secrets never live here: Slack, Teams, custom-webhook and e-mail
destinations name a Prefect block; the signed webhook and Splunk HEC read their secret from
``env:VARIABLE`` or ``prefect-secret:BLOCK``. That a named block exists is checked when the
destinations are resolved (``tasks.alert_blocks.resolve_senders``), before anything is sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.config import _Table
    from vigil.incidents.policy import IncidentPolicy

DEFAULT_MAX_PER_MESSAGE = 50
MAX_PER_MESSAGE_RANGE = (1, 1000)
MIN_PER_OBJECT_RANGE = (1, 100_000)
DEFAULT_SOURCETYPE = "vigil:incident"

BLOCK_TYPES = {  # destination type -> the Prefect block class that holds its secret
    "slack": "SlackWebhook",
    "teams": "MicrosoftTeamsWebhook",
    "custom_webhook": "CustomWebhookNotificationBlock",
    "email": "EmailServerCredentials",
}
DESTINATION_TYPES = (*BLOCK_TYPES, "webhook", "splunk_hec")
_TYPE_KEYS = {
    "slack": {"block"}, "teams": {"block"}, "custom_webhook": {"block"},
    "email": {"block", "sender", "recipients"},
    "webhook": {"url", "secret_source"},
    "splunk_hec": {"url", "token_source", "index", "sourcetype"},
}
_COMMON_KEYS = {"type", "max_per_message"}
_SECRET_KEYS = {"secret", "token", "password", "api_key", "key", "webhook_url", "hec_token"}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_BLOCK_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,254}$")
SECRET_SOURCE_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|prefect-secret:[a-z0-9][a-z0-9-]*)$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://[^/\s]+")
RESERVED_POLICY = "all"


@dataclass(frozen=True)
class DestinationSettings:
    """One destination. Which fields apply depends on ``type`` (see docs/alerts.md)."""

    type: str
    block: str | None = None
    url: str | None = None
    secret_source: str | None = None
    token_source: str | None = None
    index: str | None = None
    sourcetype: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    max_per_message: int | None = None


@dataclass(frozen=True)
class PolicySettings:
    """An alert policy: what it matches and where its new incidents go."""

    name: str
    destinations: tuple[str, ...]
    infotypes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_severity: str | None = None
    min_likelihood: str | None = None
    min_per_object: int = 1
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertsSettings:
    """The whole ``[alerts]`` section; the default has no policy (incidents, no alerts)."""

    max_per_message: int = DEFAULT_MAX_PER_MESSAGE
    custom_infotypes: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    destinations: Mapping[str, DestinationSettings] = field(default_factory=dict)
    policies: tuple[PolicySettings, ...] = ()

    def incident_policies(self) -> list["IncidentPolicy"]:
        """The policies as incident policies (groups expanded into their members)."""
        from vigil.incidents.policy import IncidentPolicy, Match  # noqa: PLC0415

        result = []
        for p in self.policies:
            users = list(p.users)
            for g in p.groups:
                users.extend(self.groups[g])
            result.append(IncidentPolicy(p.name, Match(
                infotypes=p.infotypes, categories=p.categories, min_severity=p.min_severity,
                min_likelihood=p.min_likelihood, min_per_object=p.min_per_object,
                users=tuple(sorted({u.lower() for u in users})), projects=p.projects)))
        return result

    def routes(self) -> dict[str, tuple[str, ...]]:
        """Policy name -> its destinations."""
        return {p.name: p.destinations for p in self.policies}

    def batch_size(self, destination: str) -> int:
        """How many alerts one message to ``destination`` may carry."""
        return self.destinations[destination].max_per_message or self.max_per_message


def parse_alerts(t: "_Table") -> AlertsSettings:
    """Validate the ``[alerts]`` table (a ``vigil.config._Table``) into ``AlertsSettings``."""
    from vigil.config import ConfigError  # noqa: PLC0415 - vigil.config imports this module lazily

    max_per_message = t.integer("max_per_message", DEFAULT_MAX_PER_MESSAGE, *MAX_PER_MESSAGE_RANGE)
    custom = tuple(t.string_list("custom_infotypes", ()))
    groups = _groups(t.table("groups"), ConfigError)
    destinations = _destinations(t.table("destinations"), ConfigError)
    policies = _policies(t, groups, destinations, custom, ConfigError)
    t.finish()
    return AlertsSettings(max_per_message=max_per_message, custom_infotypes=custom, groups=groups,
                          destinations=destinations, policies=policies)


def _groups(t: "_Table", error) -> dict[str, tuple[str, ...]]:
    groups = {}
    for name in list(t.data):
        if not _NAME_RE.match(str(name)):
            raise error(t.key(str(name)), "group names use lowercase letters, digits, '.', '_' or '-'")
        members = t.string_list(name, ())
        for i, member in enumerate(members):
            if not _EMAIL_RE.match(member):
                raise error(f"{t.key(name)}[{i}]", "expected an e-mail address")
        if not members:
            raise error(t.key(name), "a group needs at least one e-mail address")
        groups[name] = tuple(m.lower() for m in members)
    t.finish()
    return groups


def _destinations(t: "_Table", error) -> dict[str, DestinationSettings]:
    result = {}
    for name in list(t.data):
        if not _NAME_RE.match(str(name)):
            raise error(t.key(str(name)), "destination names use lowercase letters, digits, '.', '_' or '-'")
        result[name] = _destination(t.table(name), error)
    t.finish()
    return result


def _destination(d: "_Table", error) -> DestinationSettings:
    for name in d.data:
        if str(name).lower() in _SECRET_KEYS:
            raise error(d.key(str(name)), "secrets must not be stored in a config file; name a Prefect "
                        "block (block = ...) or a secret source (secret_source / token_source = "
                        "'env:VARIABLE' or 'prefect-secret:BLOCK')")
    kind = d.choice("type", "", DESTINATION_TYPES) if d.data.get("type") is not None else None
    if kind is None:
        raise error(d.key("type"), f"required; expected one of {'|'.join(DESTINATION_TYPES)}")
    allowed = _TYPE_KEYS[kind] | _COMMON_KEYS
    for name, value in d.data.items():
        if name not in allowed and value not in (None, [], ()):
            raise error(d.key(str(name)), f"not a setting of a '{kind}' destination "
                        f"(expected {', '.join(sorted(allowed))})")
        d.consumed.add(name)
    values: dict[str, Any] = {"type": kind}
    values["max_per_message"] = d.integer("max_per_message", None, *MAX_PER_MESSAGE_RANGE)
    if "block" in _TYPE_KEYS[kind]:
        block = d.string("block", None)
        if not block:
            raise error(d.key("block"), f"required: the name of a Prefect {BLOCK_TYPES[kind]} block")
        if not _BLOCK_RE.match(block):
            raise error(d.key("block"), "Prefect block names use lowercase letters, digits and '-'")
        values["block"] = block
    if "url" in _TYPE_KEYS[kind]:
        url = d.string("url", None)
        if not url or not _URL_RE.match(url):
            raise error(d.key("url"), "required: an http(s) URL")
        values["url"] = url
    for key in ("secret_source", "token_source"):
        if key in _TYPE_KEYS[kind]:
            source = d.string(key, None)
            if not source or not SECRET_SOURCE_RE.match(source):
                raise error(d.key(key), "required: 'env:VARIABLE' or 'prefect-secret:BLOCK_NAME'")
            values[key] = source
    if kind == "splunk_hec":
        values["index"] = d.string("index", None) or None
        values["sourcetype"] = d.string("sourcetype", None) or DEFAULT_SOURCETYPE
    if kind == "email":
        sender = d.string("sender", None)
        if not sender or not _EMAIL_RE.match(sender):
            raise error(d.key("sender"), "required: the From e-mail address")
        recipients = d.string_list("recipients", ())
        if not recipients:
            raise error(d.key("recipients"), "required: at least one e-mail address")
        for i, r in enumerate(recipients):
            if not _EMAIL_RE.match(r):
                raise error(f"{d.key('recipients')}[{i}]", "expected an e-mail address")
        values.update(sender=sender, recipients=tuple(recipients))
    return DestinationSettings(**values)


def _policies(t: "_Table", groups, destinations, custom_infotypes, error) -> tuple[PolicySettings, ...]:
    from vigil.config import _Table  # noqa: PLC0415
    from vigil.detect.model import LIKELIHOODS, SEVERITIES  # noqa: PLC0415

    raw = t._get("policies")  # noqa: SLF001 - a list of tables, which _Table has no accessor for
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise error(t.key("policies"), "expected a list of tables ([[alerts.policies]])")
    seen: set[str] = set()
    policies = []
    for i, item in enumerate(raw):
        p = _Table(item, f"{t.key('policies')}[{i}]")
        name = p.string("name", None)
        if not name:
            raise error(p.key("name"), "required")
        if not _NAME_RE.match(name):
            raise error(p.key("name"), "policy names use lowercase letters, digits, '.', '_' or '-'")
        if name == RESERVED_POLICY:
            raise error(p.key("name"), f"'{RESERVED_POLICY}' is the built-in policy of every finding")
        if name in seen:
            raise error(p.key("name"), f"a policy named '{name}' is already defined")
        seen.add(name)
        dests = p.string_list("destinations", ())
        if not dests:
            raise error(p.key("destinations"), "name at least one destination of [alerts.destinations]")
        for j, dname in enumerate(dests):
            if dname not in destinations:
                raise error(f"{p.key('destinations')}[{j}]", f"unknown destination '{dname}' "
                            f"(defined: {', '.join(sorted(destinations)) or 'none'})")
        infotypes = p.string_list("infotypes", ())
        if infotypes:
            known = known_infotypes() | set(custom_infotypes)
            for j, it in enumerate(infotypes):
                if it not in known:
                    raise error(f"{p.key('infotypes')}[{j}]", f"unknown infotype '{it}' (built-in "
                                "infotypes are listed by `python -m vigil.detect.catalog`; add custom "
                                "ones to alerts.custom_infotypes)")
        categories = p.string_list("categories", ())
        for j, c in enumerate(categories):
            if c not in known_categories():
                raise error(f"{p.key('categories')}[{j}]",
                            f"unknown category; expected one of {', '.join(sorted(known_categories()))}")
        min_severity = p.string("min_severity", None)
        if min_severity is not None and min_severity not in SEVERITIES:
            raise error(p.key("min_severity"), f"expected one of {'|'.join(SEVERITIES)}")
        min_likelihood = p.string("min_likelihood", None)
        if min_likelihood is not None and min_likelihood not in LIKELIHOODS:
            raise error(p.key("min_likelihood"), f"expected one of {'|'.join(LIKELIHOODS)}")
        min_per_object = p.integer("min_per_object", 1, *MIN_PER_OBJECT_RANGE)
        users = p.string_list("users", ())
        for j, u in enumerate(users):
            if not _EMAIL_RE.match(u):
                raise error(f"{p.key('users')}[{j}]", "expected an e-mail address")
        pgroups = p.string_list("groups", ())
        for j, g in enumerate(pgroups):
            if g not in groups:
                raise error(f"{p.key('groups')}[{j}]", f"unknown group '{g}' (define it under [alerts.groups])")
        projects = p.string_list("projects", ())
        p.finish()
        policies.append(PolicySettings(
            name=name, destinations=tuple(dests), infotypes=tuple(infotypes),
            categories=tuple(categories), min_severity=min_severity, min_likelihood=min_likelihood,
            min_per_object=min_per_object, users=tuple(users), groups=tuple(pgroups),
            projects=tuple(projects)))
    return tuple(policies)


@functools.lru_cache(maxsize=1)
def known_infotypes() -> frozenset[str]:
    """Infotypes of the built-in detectors."""
    from vigil.detect.rules import load_builtin_rules  # noqa: PLC0415

    return frozenset(r.infotype for r in load_builtin_rules())


@functools.lru_cache(maxsize=1)
def known_categories() -> frozenset[str]:
    """Finding categories: the detectors' plus ``national_id`` (docs/schema.md, ``findings.category``)."""
    from vigil.detect.rules import CATEGORIES  # noqa: PLC0415

    return frozenset(CATEGORIES) | {"national_id"}
