"""Retry conditions: retry what can heal (transient API errors, I/O), fail fast on the rest."""

from __future__ import annotations

from typing import Any

from vigil.api.errors import ApiError


def transient_api_error(task: Any, task_run: Any, state: Any) -> bool:
    """True when the task failed on an API error the server may not repeat (429, 5xx, network)."""
    try:
        state.result()
    except ApiError as exc:
        return bool(exc.retryable)
    except Exception:  # noqa: BLE001 - bugs and bad input: do not retry
        return False
    return False


def io_error(task: Any, task_run: Any, state: Any) -> bool:
    """True when the task failed on storage I/O (a disk or object store hiccup)."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False
