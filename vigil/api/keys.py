"""The Compliance API key, held in a type that never shows its secret."""

from __future__ import annotations

import os

ENV_VAR = "ANTHROPIC_COMPLIANCE_API_KEY"

# Known key prefixes (SPEC §2.2); the masked form keeps the prefix so an operator can tell a
# Compliance Access Key from an Admin key without seeing the secret.
_KNOWN_PREFIXES = ("sk-ant-api01-", "sk-ant-admin01-", "sk-ant-api03-")


class ApiKey:
    """A secret API key. ``str``/``repr``/``format`` show only a masked form.

    The raw value is reachable only through :meth:`reveal`, which the client calls when it sets
    the ``x-api-key`` header. Instances cannot be pickled, so the key cannot leak into a cache,
    a Prefect result or a spawned process by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, ApiKey):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("ApiKey needs a str")
        value = value.strip()
        if not value:
            raise ValueError("the API key is empty")
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("the API key contains whitespace or control characters")
        object.__setattr__(self, "_value", value)

    @classmethod
    def from_env(cls, name: str = ENV_VAR) -> "ApiKey | None":
        """The key in environment variable ``name``, or None when it is unset or blank."""
        raw = os.environ.get(name, "")
        return cls(raw) if raw.strip() else None

    def reveal(self) -> str:
        """The raw secret. Call it only to build the ``x-api-key`` header."""
        return self._value

    @property
    def masked(self) -> str:
        """Prefix plus the last four characters, e.g. ``sk-ant-api01-…Q9xA``."""
        value = self._value
        prefix = next((p for p in _KNOWN_PREFIXES if value.startswith(p)), "")
        if len(value) - len(prefix) <= 8:  # too short to show any tail safely
            return f"{prefix}…"
        return f"{prefix}…{value[-4:]}"

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ApiKey({self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("ApiKey", self._value))

    def __setattr__(self, name, value):  # immutable
        raise AttributeError("ApiKey is immutable")

    def __reduce__(self):
        raise TypeError("ApiKey cannot be pickled")
