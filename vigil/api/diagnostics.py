"""Connection diagnostics: is the organization reachable with this key, and which scopes hold?

One cheap call per scope (SPEC §2.3):
* ``read:compliance_activities`` — ``GET /activities?limit=1``
* ``read:compliance_org_data``   — ``GET /organizations`` (confirms the org id is listed)
* ``read:compliance_user_data``  — ``GET /organizations/{org}/users?limit=1`` (404 = org not
  visible to this key)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from vigil.api.client import ComplianceClient
from vigil.api.errors import (ApiError, AuthenticationError, NotFoundError, PermissionDeniedError,
                              RateLimitedError, ServerError, TransportError)

SCOPE_ACTIVITIES = "read:compliance_activities"
SCOPE_USER_DATA = "read:compliance_user_data"
SCOPE_ORG_DATA = "read:compliance_org_data"
SCOPES = (SCOPE_ACTIVITIES, SCOPE_USER_DATA, SCOPE_ORG_DATA)

OK = "OK"
MISSING = "MISSING"
AUTH_FAILED = "AUTH FAILED"
NOT_FOUND = "NOT FOUND"
ERROR = "ERROR"


class ExitCode(IntEnum):
    """Exit codes of ``vigil connect`` (documented in docs/client.md)."""

    OK = 0
    AUTH_FAILED = 2
    SCOPE_MISSING = 3
    ORG_NOT_FOUND = 4
    NETWORK_OR_SERVER = 5
    KEY_MISSING = 6


@dataclass
class ScopeCheck:
    """The result of testing one scope."""

    scope: str
    status: str                       # OK, MISSING, AUTH FAILED, NOT FOUND, ERROR
    detail: str
    endpoint: str
    request_id: str | None = None
    http_status: int | None = None


@dataclass
class ConnectionReport:
    """Per-scope results plus what they mean together."""

    org_id: str
    base_url: str
    checks: list[ScopeCheck] = field(default_factory=list)
    org_listed: bool | None = None    # None when the org-data scope could not be tested
    requests: int = 0

    @property
    def missing_scopes(self) -> list[str]:
        return [c.scope for c in self.checks if c.status == MISSING]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status == OK for c in self.checks)

    @property
    def exit_code(self) -> ExitCode:
        """2 authentication failed > 4 org not found > 3 scope missing > 5 network/server > 0."""
        statuses = {c.status for c in self.checks}
        if AUTH_FAILED in statuses:
            return ExitCode.AUTH_FAILED
        if NOT_FOUND in statuses:
            return ExitCode.ORG_NOT_FOUND
        if MISSING in statuses:
            return ExitCode.SCOPE_MISSING
        if ERROR in statuses or not self.checks:
            return ExitCode.NETWORK_OR_SERVER
        return ExitCode.OK

    @property
    def summary(self) -> str:
        code = self.exit_code
        if code == ExitCode.OK:
            return "Connected: the organization is reachable and all three scopes hold."
        if code == ExitCode.AUTH_FAILED:
            return "Authentication failed: the API rejected the key (invalid, revoked or not a Compliance key)."
        if code == ExitCode.ORG_NOT_FOUND:
            return f"Organization {self.org_id} was not found or is not visible to this key."
        if code == ExitCode.SCOPE_MISSING:
            return "The key lacks scope(s): " + ", ".join(self.missing_scopes)
        return "Could not complete the checks: network or server error (see details)."


def _failure(scope: str, endpoint: str, exc: ApiError) -> ScopeCheck:
    rid = exc.request_id
    if isinstance(exc, AuthenticationError):
        return ScopeCheck(scope, AUTH_FAILED, "authentication failed (HTTP 401): the key was rejected",
                          endpoint, rid, exc.status)
    if isinstance(exc, PermissionDeniedError):
        needed = ", ".join(exc.missing_scopes) or scope
        return ScopeCheck(scope, MISSING, f"missing scope {needed} (HTTP 403)", endpoint, rid, exc.status)
    if isinstance(exc, NotFoundError):
        return ScopeCheck(scope, NOT_FOUND, f"organization not found or not visible (HTTP 404): {exc.message}",
                          endpoint, rid, exc.status)
    if isinstance(exc, (ServerError, RateLimitedError)):
        return ScopeCheck(scope, ERROR, f"server error (HTTP {exc.status}): {exc.message}", endpoint, rid, exc.status)
    if isinstance(exc, TransportError):
        return ScopeCheck(scope, ERROR, f"network error: {exc.message}", endpoint, rid, exc.status)
    return ScopeCheck(scope, ERROR, f"unexpected error (HTTP {exc.status}): {exc.message}", endpoint, rid, exc.status)


def check_activities(client: ComplianceClient) -> ScopeCheck:
    """``read:compliance_activities`` via one Activity Feed page of one record."""
    endpoint = "GET /v1/compliance/activities?limit=1"
    try:
        page = next(client.activities(limit=1).pages())
    except ApiError as exc:
        return _failure(SCOPE_ACTIVITIES, endpoint, exc)
    return ScopeCheck(SCOPE_ACTIVITIES, OK, "Activity Feed readable", endpoint, page.request_id, 200)


def check_org_data(client: ComplianceClient) -> tuple[ScopeCheck, bool | None]:
    """``read:compliance_org_data`` via the organizations list; also whether the org is in it."""
    endpoint = "GET /v1/compliance/organizations"
    request_id = None
    try:
        for page in client.organizations(limit=1000).pages():
            request_id = page.request_id
            if any(org.uuid == client.org_id for org in page.records):
                return ScopeCheck(SCOPE_ORG_DATA, OK, "organization listed", endpoint, request_id, 200), True
    except ApiError as exc:
        return _failure(SCOPE_ORG_DATA, endpoint, exc), None
    return (ScopeCheck(SCOPE_ORG_DATA, NOT_FOUND,
                       f"organization {client.org_id} is not among the organizations this key sees",
                       endpoint, request_id, 200), False)


def check_user_data(client: ComplianceClient) -> ScopeCheck:
    """``read:compliance_user_data`` via one page of one organization member."""
    endpoint = f"GET /v1/compliance/organizations/{client.org_id}/users?limit=1"
    try:
        page = next(client.org_users(limit=1).pages())
    except ApiError as exc:
        return _failure(SCOPE_USER_DATA, endpoint, exc)
    return ScopeCheck(SCOPE_USER_DATA, OK, "organization members readable", endpoint, page.request_id, 200)


def check_connection(client: ComplianceClient) -> ConnectionReport:
    """Run the three scope checks (three requests when nothing is retried)."""
    before = client.stats().requests
    report = ConnectionReport(org_id=client.org_id, base_url=client.base_url)
    report.checks.append(check_activities(client))
    users = check_user_data(client)
    report.checks.append(users)
    org_check, listed = check_org_data(client)
    if listed is False and users.status == OK:
        # The list holds linked organizations only; a parent organization is reachable (its
        # members were readable) without being listed.
        org_check = ScopeCheck(SCOPE_ORG_DATA, OK, "organizations readable; this organization is not among the "
                               "linked ones (a parent organization?)", org_check.endpoint, org_check.request_id, 200)
    report.checks.append(org_check)
    report.org_listed = listed
    report.requests = client.stats().requests - before
    return report
