"""Deterministic identifiers and timestamp formatting for the simulator.

IDs follow the documented shapes (prefix + ``01`` + 22 base58 characters) and are derived by
hashing the org seed with the object's position, so the same seed always yields the same IDs
whatever order objects are generated or requested in.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _digest(seed: int, parts: tuple) -> bytes:
    key = "|".join(map(str, (seed,) + parts)).encode()
    return hashlib.blake2b(key, digest_size=22).digest()


def make_id(prefix: str, seed: int, *parts: object) -> str:
    """``prefix`` + ``01`` + 22 base58 characters derived from ``(seed, *parts)``."""
    return prefix + "01" + "".join([_B58[b % 58] for b in _digest(seed, parts)])


def make_uuid(seed: int, *parts: object) -> str:
    """A version-4-shaped UUID derived from ``(seed, *parts)``."""
    return str(uuid.UUID(bytes=_digest(seed, parts)[:16], version=4))


def sub_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed for a ``random.Random`` dedicated to one object."""
    return int.from_bytes(_digest(seed, parts)[:8], "big")


def ts_z(t: float) -> str:
    """RFC 3339 UTC with ``Z`` and whole seconds, as chat/project objects show."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro_z(t: float) -> str:
    """RFC 3339 UTC with six-digit microseconds and ``Z`` (activities, users)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_offset(t: float) -> str:
    """ISO 8601 with microseconds and ``+00:00`` (organizations list)."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def ts_naive(t: float) -> str:
    """Offset-less ISO 8601 with microseconds (roles, groups, group members)."""
    return datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def squeeze_into(first: float, last: float, lo: float, hi: float, window: float):
    """A map placing a natural timeline ``[first, last]`` (which may run past ``hi``) in order
    into at most ``window`` seconds ending at ``hi`` and after ``lo``: live content that is new
    *now* never carries a timestamp after now. Results are whole microseconds."""
    span = last - first
    start = max(lo, hi - min(span, window))
    scale = (hi - start) / span if span > 0 else 0.0

    def place(x: float) -> float:
        x = start + (min(max(x, first), last) - first) * scale if span > 0 else hi
        return min(hi, round(x * 1_000_000) / 1_000_000)
    return place
