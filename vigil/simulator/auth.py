"""API keys, scopes and the per-organization rate limiter of the simulator (SPEC §2, §4.4)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vigil.simulator.ids import make_id

SCOPES = ("read:compliance_activities", "read:compliance_user_data", "read:compliance_org_data",
          "delete:compliance_user_data")
READ_SCOPES = SCOPES[:3]
COMPLIANCE_PREFIX = "sk-ant-api01-"
ADMIN_PREFIX = "sk-ant-admin01-"
CLAUDE_API_PREFIX = "sk-ant-api03-"  # a Claude API key: never accepted by the Compliance API


@dataclass
class ApiKey:
    """A key the simulated tenant accepts. Admin keys carry only ``read:compliance_activities``."""

    secret: str = field(repr=False)
    scopes: tuple[str, ...]
    name: str = "key"
    created_at: float = 0.0  # 0: the simulator dates it a day before the org's history ends
    created_by_id: str | None = None
    is_active: bool = True  # inactive keys are listed in the settings but rejected (401)
    expires_at: float | None = None

    @property
    def kind(self) -> str:
        return "admin" if self.secret.startswith(ADMIN_PREFIX) else "compliance"

    @property
    def id(self) -> str:
        return make_id("apikey_", 0, hashlib.sha256(self.secret.encode()).hexdigest())

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, scopes={self.scopes!r})"


def parse_key_spec(spec: str) -> ApiKey:
    """``VALUE:scope,scope`` (CLI ``--key``). Unknown scopes and unusable prefixes are errors."""
    secret, sep, scopes = spec.partition(":")
    if not sep or not secret:
        raise ValueError("a key is given as VALUE:scope,scope")
    if not secret.startswith((COMPLIANCE_PREFIX, ADMIN_PREFIX)):
        raise ValueError(f"key values start with {COMPLIANCE_PREFIX} (Compliance Access Key) or {ADMIN_PREFIX} (Admin key)")
    listed = tuple(s.strip() for s in scopes.split(",") if s.strip())
    bad = [s for s in listed if s not in SCOPES]
    if bad:
        raise ValueError(f"unknown scope(s) {', '.join(bad)}; known: {', '.join(SCOPES)}")
    return make_key(secret, listed)


def make_key(secret: str, scopes: Iterable[str], name: str = "key") -> ApiKey:
    scopes = tuple(scopes)
    if secret.startswith(ADMIN_PREFIX):
        scopes = ("read:compliance_activities",)
    return ApiKey(secret, scopes, name)


def default_key(seed: int) -> ApiKey:
    """The full-read-scope key the CLI creates when none is given; deterministic per seed."""
    token = hashlib.sha256(f"vigil-simulator-{seed}".encode()).hexdigest()
    return make_key(f"{COMPLIANCE_PREFIX}{token[:48]}-{token[48:60]}AA", READ_SCOPES, "default")


def retired_key(org) -> ApiKey:
    """The tenant's old, deactivated export key: listed in the settings (``is_active: false``),
    rejected by the API. Its secret is derived from the seed and printed nowhere."""
    token = hashlib.sha256(f"vigil-simulator-retired-{org.seed}".encode()).hexdigest()
    key = make_key(f"{COMPLIANCE_PREFIX}{token[:48]}-{token[48:60]}AA",
                   ("read:compliance_activities", "read:compliance_user_data"), "Legacy SIEM export")
    key.created_at, key.created_by_id, key.is_active = org.now - 150 * 86400, org.users[0].id, False
    return key


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey]):
        self._keys = {k.secret: k for k in keys}

    def lookup(self, secret: str | None) -> ApiKey | None:
        """The key for a header value; Claude API keys (``sk-ant-api03-``), unknown values and
        deactivated keys fail."""
        if not secret or secret.startswith(CLAUDE_API_PREFIX):
            return None
        key = self._keys.get(secret)
        return key if key is not None and key.is_active else None

    def add(self, key: ApiKey) -> None:
        """Register a key (a Compliance Access Key created while the simulator runs)."""
        if key.secret in self._keys:
            raise ValueError("a key with this secret exists already")
        self._keys[key.secret] = key

    def get(self, key_id: str) -> ApiKey | None:
        return next((k for k in self._keys.values() if k.id == key_id), None)

    def all(self) -> list[ApiKey]:
        return list(self._keys.values())


class RateLimiter:
    """One fixed one-minute window shared by every key of the tenant."""

    def __init__(self, rpm: int, clock: Callable[[], float] = time.time):
        if rpm < 1:
            raise ValueError("rpm must be at least 1")
        self.rpm = rpm
        self.clock = clock
        self._window = -1
        self._used = 0
        self._lock = threading.Lock()

    def acquire(self) -> tuple[bool, int, float, int]:
        """Take one unit. Returns ``(allowed, remaining, reset_epoch, retry_after_seconds)``."""
        now = self.clock()
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._used = window, 0
            reset = (window + 1) * 60.0
            if self._used >= self.rpm:
                return False, 0, reset, max(1, math.ceil(reset - now))
            self._used += 1
            return True, self.rpm - self._used, reset, 0

    def peek(self) -> tuple[int, float]:
        now = self.clock()
        window = int(now // 60)
        with self._lock:
            used = self._used if window == self._window else 0
        return self.rpm - used, (window + 1) * 60.0
