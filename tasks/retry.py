"""Retry conditions: retry what can heal (transient API errors, I/O), fail fast on the rest."""

from __future__ import annotations

from typing import Any

from vigil.api.errors import ApiError

# Task-level delays for API steps. Each attempt already includes the client's own retries
# (about a minute of backoff), so four more attempts ride out an outage of several minutes.
OUTAGE_RETRY_DELAYS = [10, 20, 40, 80]


def transient_error(task: Any, task_run: Any, state: Any) -> bool:
    """True when the task failed on an API error the server may not repeat (429, 5xx, network),
    or on storage I/O."""
    try:
        state.result()
    except ApiError as exc:
        return bool(exc.retryable)
    except OSError:
        return True
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
