"""The simulator's Activity Feed: an append-mostly log kept sorted by ``(created_at, id)``.

Activities are stored compactly and rendered to JSON only when served. Queries walk the sorted
log from the cursor in the requested direction, so a page costs the records it skips and
returns, never a scan of the whole feed.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Activity:
    """One feed record. ``actor`` is ``("user", user_index)`` or ``("api", key_id, ip, ua)``;
    ``org`` is ``None`` for org-less events (Compliance API calls, sign-ins)."""

    __slots__ = ("id", "t", "type", "actor", "org", "fields")

    def __init__(self, id: str, t: float, type: str, actor: tuple, org: str | None, fields: dict[str, Any]):
        self.id, self.t, self.type, self.actor, self.org, self.fields = id, t, type, actor, org, fields

    @property
    def key(self) -> tuple[float, str]:
        return (self.t, self.id)


def _key(a: Activity) -> tuple[float, str]:
    return (a.t, a.id)


@dataclass
class Page:
    items: list[Activity]
    has_more: bool


class ActivityLog:
    """Thread-safe sorted activity store."""

    def __init__(self) -> None:
        self._items: list[Activity] = []
        self._by_id: dict[str, Activity] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def extend_unsorted(self, items: list[Activity]) -> None:
        """Bulk load (generation time); sorts once."""
        with self._lock:
            self._items.extend(items)
            self._items.sort(key=_key)
            for a in items:
                self._by_id[a.id] = a

    def add(self, a: Activity) -> None:
        with self._lock:
            if not self._items or _key(self._items[-1]) <= _key(a):
                self._items.append(a)
            else:
                bisect.insort(self._items, a, key=_key)
            self._by_id[a.id] = a

    def get(self, activity_id: str) -> Activity | None:
        return self._by_id.get(activity_id)

    def all(self) -> list[Activity]:
        with self._lock:
            return list(self._items)

    def query(self, *, order: str, limit: int, after: Activity | None, before: Activity | None,
              t_min: float | None, t_min_incl: bool, t_max: float | None, t_max_incl: bool,
              match: Callable[[Activity], bool]) -> Page:
        """One page in ``order`` ("desc" newest first, or "asc"), starting after/before a cursor."""
        with self._lock:
            items = self._items
            lo = 0
            hi = len(items)
            if t_min is not None:
                lo = (bisect.bisect_left if t_min_incl else bisect.bisect_right)(items, t_min, key=lambda a: a.t)
            if t_max is not None:
                hi = (bisect.bisect_right if t_max_incl else bisect.bisect_left)(items, t_max, key=lambda a: a.t)
            # Walk "forward" means towards older records for desc, newer for asc.
            forward = before is None
            if after is not None or before is not None:
                cur = after or before
                left = bisect.bisect_left(items, _key(cur), key=_key)
                right = bisect.bisect_right(items, _key(cur), key=_key)
                towards_older = (order == "desc") == forward
                if towards_older:
                    start, stop, step = min(left, hi) - 1, lo - 1, -1
                else:
                    start, stop, step = max(right, lo), hi, 1
            else:
                if order == "desc":
                    start, stop, step = hi - 1, lo - 1, -1
                else:
                    start, stop, step = lo, hi, 1
            out: list[Activity] = []
            has_more = False
            for i in range(start, stop, step):
                a = items[i]
                if match(a):
                    if len(out) == limit:
                        has_more = True
                        break
                    out.append(a)
        if not forward:
            out.reverse()
        return Page(out, has_more)
