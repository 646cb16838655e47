"""Incident policies: which findings an incident counts, compiled to a DuckDB predicate.

An incident is one leaked value (``fingerprint``) under one policy. The built-in policy ``all``
counts every finding; each alert policy of the configuration (``[[alerts.policies]]``) adds its
own incidents, counting only the findings it matches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from vigil.detect.model import LIKELIHOODS, SEVERITIES
from vigil.lake.views import sql_literal

ALL_POLICY = "all"


@dataclass(frozen=True)
class Match:
    """What a policy matches. Empty tuples and ``None`` match anything.

    ``min_per_object``: the finding's object (message, file, document) must hold at least this
    many distinct values (fingerprints) matching the other conditions, e.g. 5 SSNs in one file.
    ``users`` are e-mail addresses (groups already expanded), compared case-insensitively;
    ``projects`` are project ids or names (names case-insensitively).
    """

    infotypes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_severity: str | None = None
    min_likelihood: str | None = None
    min_per_object: int = 1
    users: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()

    def predicate(self) -> str:
        """SQL boolean over the rollup's finding columns (``sev`` and ``lik`` are ranks 1..n)."""
        parts = []
        if self.infotypes:
            parts.append(f"infotype IN ({_list(self.infotypes)})")
        if self.categories:
            parts.append(f"category IN ({_list(self.categories)})")
        if self.min_severity:
            parts.append(f"sev >= {SEVERITIES.index(self.min_severity) + 1}")
        if self.min_likelihood:
            parts.append(f"lik >= {LIKELIHOODS.index(self.min_likelihood) + 1}")
        if self.users:
            parts.append(f"lower(user_email) IN ({_list(u.lower() for u in self.users)})")
        if self.projects:
            parts.append(f"(project_id IN ({_list(self.projects)}) "
                         f"OR lower(project_name) IN ({_list(p.lower() for p in self.projects)}))")
        return " AND ".join(parts) or "TRUE"


@dataclass(frozen=True)
class IncidentPolicy:
    """A named policy: its match conditions (incidents are computed per policy)."""

    name: str
    match: Match = Match()

    def digest(self) -> str:
        """Changes whenever what the policy counts changes (then incidents are recomputed)."""
        text = json.dumps({"name": self.name, **asdict(self.match)}, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def with_builtin(policies: list[IncidentPolicy] | tuple[IncidentPolicy, ...]) -> list[IncidentPolicy]:
    """``all`` first, then the configured policies."""
    return [IncidentPolicy(ALL_POLICY)] + [p for p in policies if p.name != ALL_POLICY]


def policies_digest(policies: list[IncidentPolicy]) -> str:
    """One digest for a whole policy set."""
    return hashlib.sha256("|".join(p.digest() for p in policies).encode()).hexdigest()[:16]


def _list(values) -> str:
    return ", ".join(sql_literal(v) for v in values)
