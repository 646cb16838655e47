"""Claims: "inspect each object version once" within one attempt at inspecting a page.

A ``Claims`` object lives exactly as long as one call of ``inspect_page``: two chats of a page
that share a file download it once, and the page's rows then carry one verdict for it. It is
never kept on the session, so an attempt that fails leaves no mark behind: a retry of the page
claims (and inspects) everything again, as a run without the failure would. Across pages the
ledger, updated only after rows are durable, says what was inspected.
"""

from __future__ import annotations

import threading

from vigil.lake import Ledger


class Claims:
    """First-come claims on object versions the ledger has not settled (thread-safe)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._taken: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, kind: str, object_id: str, version: str | None) -> bool:
        """True for the first caller that wants to inspect an object version the ledger lacks."""
        if self.ledger.inspected(kind, object_id, version):
            return False
        key = (kind, object_id, version or "")
        with self._lock:
            if key in self._taken:
                return False
            self._taken.add(key)
            return True
