"""HMAC-SHA256 signatures of the generic webhook (the receiver's side is ``verify``).

Headers: ``X-Vigil-Timestamp`` (Unix seconds), ``X-Vigil-Signature: v1=<hex>`` where the hex is
HMAC-SHA256(secret, ``"<timestamp>." + body``), and ``Idempotency-Key``. Binding the timestamp
lets a receiver refuse replays older than its tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    digest = hmac.new(secret, str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def sign(secret: bytes, body: bytes, key: str, now: float | None = None) -> dict[str, str]:
    """Headers to send with ``body``."""
    ts = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(secret, ts, body),
            IDEMPOTENCY_HEADER: key, "Content-Type": "application/json"}


def verify(secret: bytes, body: bytes, timestamp: str | None, header: str | None,
           tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` at ``timestamp`` and the timestamp is recent."""
    if not timestamp or not header:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)
