"""Inspect one object: text or bytes in, findings and its ledger verdict out.

Bad input never raises here: an object that cannot be extracted is recorded as skipped with the
extractor's reason, so a corrupt upload costs one ledger row and nothing else.
"""

from __future__ import annotations

import bisect
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.scan.rows import Context, ObjectRef, finding_row

log = logging.getLogger(__name__)

MAX_INSPECTION_BYTES_CEILING = 25 * 1024 * 1024  # above this an object is never downloaded
_NEWLINE = re.compile("\n")


@dataclass
class Verdict:
    """The outcome of inspecting one object."""

    status: str  # "scanned" | "skipped"
    reason: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    bytes: int | None = None
    detected_type: str | None = None
    duration_ms: int | None = None
    evidence_uri: str | None = None

    @property
    def findings_count(self) -> int:
        return len(self.findings)


class Inspector:
    """Runs extraction and detection with the scan's limits.

    ``engine`` is a loaded ``vigil.detect.Engine``; ``extract`` is ``vigil.extract.extract``
    (injected so this module stays light to import); ``evidence`` is a
    ``vigil.evidence.EvidenceStore`` or None. The engine runs one scan at a time, so a session
    calls ``segments``/``content`` from one thread only (see ``vigil.scan.work``).
    """

    def __init__(self, engine: Any, extract: Any, *, max_file_bytes: int,
                 file_types: Any = None, limits: Any = None, evidence: Any = None,
                 rules_version: str | None = None):
        if not 0 < max_file_bytes <= MAX_INSPECTION_BYTES_CEILING:
            raise ValueError("max_file_bytes must be between 1 byte and 25 MB")
        self.engine = engine
        self._extract = extract
        self.max_file_bytes = max_file_bytes
        self.file_types = file_types
        self.limits = limits
        self.evidence = evidence
        self.rules_version = rules_version  # recorded on each scan_runs row (vigil.scan.rules)
        self._categories = {r.id: r.category for r in getattr(engine, "rules", ())}

    def category(self, detector: str) -> str | None:
        """The category of a detector's rule (credential, pii, financial, health, ...)."""
        return self._categories.get(detector)

    def too_large(self, size: int | None) -> bool:
        """True when metadata already says the object is over the inspection cap."""
        return size is not None and size > self.max_file_bytes

    def segments(self, ref: ObjectRef, ctx: Context, segments: Iterable[tuple[str, str]],
                 run_id: str, scanned_at: datetime) -> Verdict:
        """Detect in text segments that are already separated (messages, instructions)."""
        start = time.perf_counter()
        found: list[dict[str, Any]] = []
        size = 0
        for locator, text in segments:
            size += len(text.encode("utf-8"))
            for hit in self.engine.scan(text):
                found.append(finding_row(ref, ctx, locator, hit, run_id, scanned_at,
                                         self.category(hit.detector)))
        return Verdict("scanned", None, found, size, "text",
                       int((time.perf_counter() - start) * 1000))

    def document(self, ref: ObjectRef, ctx: Context, text: str, run_id: str,
                 scanned_at: datetime) -> Verdict:
        """Detect in a text read whole, as served (a hosted site's source: scripts, comments and
        markup included); a finding's locator is ``line:N``, the 1-based line where it starts,
        and its offsets are in the whole text."""
        start = time.perf_counter()
        newlines = [m.start() for m in _NEWLINE.finditer(text)]
        found = [finding_row(ref, ctx, f"line:{bisect.bisect_left(newlines, hit.start) + 1}", hit, run_id,
                             scanned_at, self.category(hit.detector))
                 for hit in self.engine.scan(text)]
        return Verdict("scanned", None, found, len(text.encode("utf-8")), "text",
                       int((time.perf_counter() - start) * 1000))

    def content(self, ref: ObjectRef, ctx: Context, data: bytes, run_id: str,
                scanned_at: datetime) -> Verdict:
        """Extract and detect in a downloaded object; unreadable content becomes a skip."""
        if len(data) > self.max_file_bytes:
            return Verdict("skipped", "too_large", bytes=len(data))
        start = time.perf_counter()
        kwargs: dict[str, Any] = {"mime": ref.mime}
        if self.limits is not None:
            kwargs["limits"] = self.limits
        if self.file_types is not None:
            kwargs["file_types"] = self.file_types
        try:
            result = self._extract(data, ref.name or ref.object_id, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the extractor's contract is to not raise; be safe
            log.warning("extraction failed for %s %s: %s", ref.kind, ref.object_id, type(exc).__name__)
            return Verdict("skipped", "corrupt", bytes=len(data))
        duration = int((time.perf_counter() - start) * 1000)
        if result.status != "extracted":
            return Verdict("skipped", result.reason or "unsupported", bytes=len(data),
                           detected_type=result.detected_type, duration_ms=duration)
        found: list[dict[str, Any]] = []
        for seg in result.segments:
            for hit in self.engine.scan(seg.text):
                locator = seg.locator_at(hit.start) if hasattr(seg, "locator_at") else seg.locator
                found.append(finding_row(ref, ctx, locator, hit, run_id, scanned_at,
                                         self.category(hit.detector)))
        verdict = Verdict("scanned", None, found, len(data), result.detected_type,
                          int((time.perf_counter() - start) * 1000))
        if found and self.evidence is not None:
            verdict.evidence_uri = self.evidence.capture(ref.kind, ref.object_id, ref.version, ref.name, data)
        return verdict
