"""Where vigil keeps its own files, and the environment variables that move them.

| variable | meaning | default |
|---|---|---|
| ``VIGIL_HOME`` | vigil's own folder: saved connectors, the fingerprint key, the per-org request budgets | ``$XDG_CONFIG_HOME/vigil``, else ``~/.config/vigil`` |
| ``VIGIL_CACHE_DIR`` | compiled detection databases (safe to delete) | ``$XDG_CACHE_HOME/vigil``, else ``~/.cache/vigil`` |
| ``VIGIL_FINGERPRINT_KEY`` | the fingerprint key itself, in hex (overrides the key file) | unset |
| ``VIGIL_PROJECT_DIR`` | the repository checkout a Prefect worker runs the flows from (``prefect.yaml``) | set when deploying |

docs/configuration.md has the full table, with the variables of the CLI and the tests.
"""

from __future__ import annotations

import os
from pathlib import Path


def vigil_home() -> Path:
    """vigil's own folder: ``$VIGIL_HOME``, else ``$XDG_CONFIG_HOME/vigil``, else ``~/.config/vigil``."""
    if os.environ.get("VIGIL_HOME"):
        return Path(os.environ["VIGIL_HOME"])
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "vigil"
