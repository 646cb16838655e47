"""A bounded, ordered thread-pool map: I/O of the next items overlaps the work on this one."""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerPool:
    """Threads that run one item each; at most ``window`` items are in flight at a time.

    ``ordered`` yields results in input order, so a page's rows land in a stable order, and an
    exception in any item is raised to the caller (after the in-flight items finish). Each item
    runs in a copy of the caller's context variables, so a run's logging context (Prefect's flow
    and task run) reaches the log lines written on the worker threads.
    """

    def __init__(self, workers: int = 8, window: int | None = None):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.window = window or workers * 2
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vigil-scan")

    def ordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every item on the pool; yield the results in input order."""
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(self._executor.submit(contextvars.copy_context().run, fn, item))
                if len(pending) >= self.window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
            for fut in pending:
                if not fut.cancelled():
                    fut.exception()  # wait, so no worker outlives a failed page

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
