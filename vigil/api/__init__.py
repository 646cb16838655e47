"""Client of Anthropic's Compliance API: key handling, typed models, pagers, retries,
rate limiting, streamed downloads and scope diagnostics. Prefect-free."""

from vigil.api.client import DEFAULT_BASE_URL, DEFAULT_RPM, ClientStats, ComplianceClient
from vigil.api.downloads import Download
from vigil.api.errors import (ApiError, AuthenticationError, ConflictError, ContentIntegrityError,
                              CursorExpiredError, InvalidRequestError, LocalSessionsUnavailableError,
                              NotFoundError, PermissionDeniedError, RateLimitedError, ResponseFormatError,
                              RetentionEvaluationError, ServerError, SessionPendingError, TransportError)
from vigil.api.keys import ENV_VAR, ApiKey
from vigil.api.pagination import Page, Pager
from vigil.api.ratelimit import RateLimiter

__all__ = [
    "ApiError", "ApiKey", "AuthenticationError", "ClientStats", "ComplianceClient", "ConflictError",
    "ContentIntegrityError", "CursorExpiredError", "DEFAULT_BASE_URL", "DEFAULT_RPM", "Download", "ENV_VAR",
    "InvalidRequestError", "LocalSessionsUnavailableError", "NotFoundError", "Page", "Pager",
    "PermissionDeniedError", "RateLimitedError", "RateLimiter", "ResponseFormatError", "RetentionEvaluationError",
    "ServerError", "SessionPendingError", "TransportError",
]
