"""Live progress of a running scan: a snapshot, listeners, and the terminal display of `vigil scan`.

A run (``vigil.scan.run.ScanRun``) calls ``notify(run)`` every few chats and after every page;
whoever subscribed gets a ``Snapshot``. ``vigil scan`` subscribes a ``TerminalProgress``: a live
line on a terminal, a plain log line every ``interval`` seconds otherwise. The Prefect flows keep
their progress artifact the same way (tasks/report.py). Snapshots hold counts only, no content.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

Listener = Callable[["Snapshot"], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands (counts only)."""

    run_type: str
    run_id: str
    percent: float
    items_done: int          # chats and projects inspected so far in this run
    objects_scanned: int     # objects whose rows have landed
    objects_skipped: int
    findings: int            # findings landed
    requests: int
    rate_limited: int
    elapsed: float
    rpm: float

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the request budget: the requests still needed (extrapolated from the
        share of the window walked so far) over the budget's rate."""
        if self.percent <= 0.5 or self.requests == 0:
            return None
        remaining = self.requests * (100.0 - self.percent) / self.percent
        return remaining / (self.rpm / 60.0) if self.rpm else None

    def line(self) -> str:
        eta = self.eta_seconds
        eta_text = f", ETA {_duration(eta)}" if eta is not None else ""
        return (f"{self.run_type} scan {self.percent:5.1f}% · {self.items_done} chats/projects · "
                f"{self.objects_scanned} objects scanned, {self.objects_skipped} skipped · "
                f"{self.findings} findings · {self.requests} requests, {self.rate_limited} × 429 · "
                f"{_duration(self.elapsed)} elapsed{eta_text}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def snapshot(run: Any) -> Snapshot:
    """The ``Snapshot`` of a ``ScanRun`` now."""
    summary = run.summary
    used = run.session.fetcher.counters()
    before = run.counters_before
    return Snapshot(summary.run_type, summary.run_id, summary.progress, run.items_done,
                    summary.counts["objects_scanned"], summary.objects_skipped, summary.counts["findings"],
                    used.requests - before.requests, used.rate_limited - before.rate_limited,
                    time.monotonic() - run.started_monotonic, run.settings.config.rate.rpm)


def notify(run: Any) -> None:
    """Send the run's snapshot to every subscribed listener."""
    with _lock:
        listeners = list(_listeners)
    if listeners:
        snap = snapshot(run)
        for listener in listeners:
            listener(snap)


@contextlib.contextmanager
def subscribed(listener: Listener) -> Iterator[None]:
    """Receive snapshots of the runs in this process while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


class TerminalProgress:
    """``vigil scan``'s display: a live status line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, interval: float = 15.0, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self._last_print = 0.0
        self._last: Snapshot | None = None
        self._status: Any = None

    def __call__(self, snap: Snapshot) -> None:
        self._last = snap
        if self.live:
            if self._status is None:
                from rich.console import Console  # noqa: PLC0415

                self._status = Console(file=self.stream, highlight=False).status("")
                self._status.start()
            self._status.update(snap.line(), spinner="dots")
            return
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            print(snap.line(), file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the live line (the final summary is printed by the caller)."""
        if self._status is not None:
            self._status.stop()
            self._status = None
