"""``--since`` values: a relative age (``30d``, ``12h``, ``2w``, ``90m``) or an ISO date/time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """The UTC instant ``value`` designates, or None for an empty value.

    ``30d`` means 30 days before ``now``; ``2026-11-01`` means that day's midnight UTC; a full
    ISO timestamp without a zone is taken as UTC. Raises ``ValueError`` naming the accepted forms.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"since: expected an age such as 30d, 12h, 2w or 90m, or an ISO date "
                         f"such as 2026-11-01; got {text[:40]!r}") from None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
