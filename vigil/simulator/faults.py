"""Fault injection: a fraction of responses replaced by 429/500/503/529 (and, on local-session
endpoints, their own transient 503), added latency, dropped connections and truncated bodies. Draws come from one seeded generator, so a run is repeatable."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields


@dataclass
class Faults:
    """Fractions are per authenticated, in-budget request (0..1). ``p500_final`` 500s carry
    ``x-should-retry: false``. ``latency_ms`` is added to every request."""

    p429: float = 0.0
    p500: float = 0.0
    p500_final: float = 0.0
    p503: float = 0.0
    p529: float = 0.0
    p_drop: float = 0.0
    p_truncate: float = 0.0
    p_local_503: float = 0.0  # local-session endpoints only: the transient "index unavailable" 503
    latency_ms: float = 0.0
    seed: int | None = 0
    _rng: random.Random = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()
        self._rng = random.Random(self.seed)

    def validate(self) -> None:
        for name in ("p429", "p500", "p500_final", "p503", "p529", "p_drop", "p_truncate", "p_local_503"):
            v = getattr(self, name)
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {v}")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        total = self.p429 + self.p500 + self.p500_final + self.p503 + self.p529 + self.p_drop + self.p_truncate
        if total > 1.0:
            raise ValueError(f"fault fractions add up to {total:.3f} > 1")

    @property
    def active(self) -> bool:
        """True when the request pipeline has to draw (p_local_503 is drawn by the local-session
        handlers themselves)."""
        return any((self.p429, self.p500, self.p500_final, self.p503, self.p529, self.p_drop, self.p_truncate,
                    self.latency_ms))

    def chance(self, p: float) -> bool:
        """One draw from the fault generator: True with probability ``p``."""
        with self._lock:
            return self._rng.random() < p

    def draw(self) -> str | None:
        """The fault for one request: "429", "500", "500_final", "503", "529", "drop",
        "truncate" or None."""
        with self._lock:
            r = self._rng.random()
        for name, p in (("429", self.p429), ("500", self.p500), ("500_final", self.p500_final),
                        ("503", self.p503), ("529", self.p529), ("drop", self.p_drop),
                        ("truncate", self.p_truncate)):
            if r < p:
                return name
            r -= p
        return None

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    @classmethod
    def from_dict(cls, data: dict) -> "Faults":
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


