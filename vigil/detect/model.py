"""The public value types of the detection engine: likelihood and severity levels and ``Finding``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LIKELIHOODS: tuple[str, ...] = ("VERY_UNLIKELY", "UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY")
"""Google Cloud DLP's likelihood scale, weakest first. A level's rank is its index."""

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
"""How much harm a leak of the value does, least first."""


def likelihood_rank(level: str) -> int:
    """Rank (0..4) of a likelihood name; raises ``ValueError`` naming the valid levels."""
    try:
        return LIKELIHOODS.index(level.upper())
    except (ValueError, AttributeError):
        raise ValueError(f"unknown likelihood {level!r}; expected one of {', '.join(LIKELIHOODS)}") from None


def check_severity(level: str) -> str:
    """Return ``level`` if it is a severity name, else raise ``ValueError``."""
    if level not in SEVERITIES:
        raise ValueError(f"unknown severity {level!r}; expected one of {', '.join(SEVERITIES)}")
    return level


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected sensitive value.

    Holds no raw value: ``masked`` shows only a safe part of it, ``fingerprint`` is an HMAC of the
    normalised value under the installation key, and ``context`` is a snippet of the surrounding
    text with this and every other match masked. ``raw(text)`` gives the matched text back to an
    in-memory caller that still holds the scanned text.

    ``start``/``end`` are character offsets into the scanned text; ``line`` and ``column``
    (1-based) locate ``start`` in it. ``likelihood_reason`` says why the likelihood was set
    against the evidence (``known_example``: a published example value), else None.
    """

    infotype: str
    detector: str
    start: int
    end: int
    likelihood: str
    severity: str
    masked: str
    fingerprint: str
    context: str
    line: int = 0
    column: int = 0
    likelihood_reason: str | None = None

    def raw(self, text: str) -> str:
        """The matched value, cut from the text this finding was produced from."""
        return text[self.start:self.end]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (all of them safe to store)."""
        return {
            "infotype": self.infotype, "detector": self.detector, "start": self.start,
            "end": self.end, "likelihood": self.likelihood, "severity": self.severity,
            "masked": self.masked, "fingerprint": self.fingerprint, "context": self.context,
            "line": self.line, "column": self.column, "likelihood_reason": self.likelihood_reason,
        }
