"""The installation's fingerprint key: random, created once, kept in a private file.

Findings carry HMAC-SHA256 fingerprints under this key so the same value is recognisable across
scans without being stored. ``VIGIL_FINGERPRINT_KEY`` (hex, at least 32 hex digits) overrides the
file; otherwise the key lives in ``$VIGIL_HOME/fingerprint.key`` (default
``~/.config/vigil/fingerprint.key``, see ``vigil.paths``), created with mode 0600 on first use.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_BYTES = 32
ENV_KEY = "VIGIL_FINGERPRINT_KEY"


def default_key_path() -> Path:
    """Where the key file lives unless a path is given: ``$VIGIL_HOME/fingerprint.key``."""
    from vigil.paths import vigil_home  # noqa: PLC0415

    return vigil_home() / "fingerprint.key"


def load_fingerprint_key(path: Path | None = None) -> bytes:
    """Return the installation key: from ``VIGIL_FINGERPRINT_KEY``, else the key file (created
    with a fresh random key when missing). Raises ``ValueError`` for a malformed key, without
    echoing it."""
    env = os.environ.get(ENV_KEY)
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError:
            raise ValueError(f"{ENV_KEY} must be hex") from None
        if len(key) < 16:
            raise ValueError(f"{ENV_KEY} must hold at least 16 bytes (32 hex digits)")
        return key
    path = path or default_key_path()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return _create(path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"fingerprint key file {path} is not hex; remove it to create a new key") from None
    if len(key) < 16:
        raise ValueError(f"fingerprint key file {path} is too short; remove it to create a new key")
    return key


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return load_fingerprint_key(path) if path.exists() else key
