"""The records extraction returns -- ``Segment``, ``Skip``, ``Extraction`` -- and its safety limits.

Locator grammar and field meanings: docs/contracts.md (section "Extraction").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vigil.extract.positions import Place, Positions, line_column

MIB = 1024 * 1024

#: Hard ceiling for one input: larger inputs are always skipped as ``too_large``.
HARD_MAX_INPUT_BYTES = 25 * MIB

EXTRACTED = "extracted"
SKIPPED = "skipped"

SKIP_REASONS = (
    "too_large",        # input or member bigger than max_input_bytes (25 MiB at most)
    "type_excluded",    # type not in the configured file-type list
    "encrypted",        # password-protected document, archive or member
    "corrupt",          # the bytes do not parse as the detected format
    "unsupported",      # no extractor for this content (binary, executables, ...)
    "limit_exceeded",   # depth, member count, expanded bytes, bomb ratio, entity expansion
    "ocr_unavailable",  # an image and no Tesseract binary on PATH
    "timeout",          # the per-file time budget ran out
)

_LINE_TAIL = re.compile(r"(^|#|/)line:(\d+)$")


@dataclass(frozen=True)
class Segment:
    """A piece of extracted text and where it was found.

    ``place(start, end)`` turns offsets into ``text`` (what detection scanned) into the match's
    locator, offsets, line and column in its object (see ``vigil.extract.positions``): for
    plain-text formats the segment is the whole decoded file; for markup the positions are the
    source's; for tables the cell's. ``locator_at(offset)`` is the locator alone.

    Without ``positions`` (container parts: pages, paragraphs, slides …) offsets, line and column
    are within ``text``; with ``lines`` (each ``\\n`` of text is a line break of the document)
    a ``line:N`` locator is moved down to the match's line.
    """

    locator: str
    text: str
    lines: bool = False
    positions: Any = field(default=None, compare=False, repr=False)

    def place(self, start: int, end: int) -> Place:
        """Where ``text[start:end]`` lies in the object."""
        if self.positions is not None:
            return self.positions.place(self.text, self.locator, start, end)
        line, column = line_column(self.text, start)
        locator = self.locator
        if self.lines:
            match = _LINE_TAIL.search(locator)
            if match:
                locator = locator[: match.start(2)] + str(int(match.group(2)) + line - 1)
        return Place(locator, start, end, line, column)

    def locator_at(self, offset: int) -> str:
        """Locator of the character at ``offset`` in ``text``."""
        return self.place(max(0, offset), max(0, offset) + 1).locator


@dataclass(frozen=True, slots=True)
class Skip:
    """An archive member, attachment or document part that was not extracted, and why."""

    locator: str
    reason: str
    detail: str = ""


@dataclass(slots=True)
class Extraction:
    """Result of ``extract()`` for one top-level object."""

    filename: str
    status: str                       # "extracted" | "skipped"
    reason: str | None                # one of SKIP_REASONS when skipped
    detected_type: str | None         # by content; e.g. "pdf", "docx", "zip", "json", "text"
    bytes_read: int
    duration_ms: float
    segments: list[Segment] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    detail: str = ""                  # human-readable cause of a skip
    name_type: str | None = None      # the type the filename suggests
    type_mismatch: str | None = None  # set when name and content disagree

    @property
    def segment_count(self) -> int:
        return len(self.segments)

    def text(self) -> str:
        """All segment texts joined by newlines (convenience for tests and debugging)."""
        return "\n".join(s.text for s in self.segments)


@dataclass(frozen=True)
class ExtractLimits:
    """Safety limits for one top-level object (defaults are safe; all are validated).

    - ``max_input_bytes``: inputs and archive members above this are ``too_large``
      (1 MiB to 25 MiB; above 25 MiB is always ``too_large``).
    - ``max_depth``: archive/attachment nesting levels opened (members deeper are skipped).
    - ``max_expanded_bytes``: total bytes decompressed from archives and document containers.
    - ``max_members``: archive members and attachments visited per top-level object.
    - ``max_ratio`` / ``ratio_floor_bytes``: a stream whose output exceeds ``ratio_floor_bytes``
      and whose output/input ratio exceeds ``max_ratio`` is a bomb (``limit_exceeded``).
    - ``time_budget_s``: wall time per top-level object, checked between units of work.
    - ``max_segments`` / ``max_text_chars``: output bounds that keep memory bounded.
    """

    max_input_bytes: int = HARD_MAX_INPUT_BYTES
    max_depth: int = 5
    max_expanded_bytes: int = 512 * MIB
    max_members: int = 5_000
    max_ratio: float = 250.0
    ratio_floor_bytes: int = 1 * MIB
    time_budget_s: float = 120.0
    max_segments: int = 1_000_000
    max_text_chars: int = 64_000_000

    def __post_init__(self) -> None:
        def check(name: str, low: float, high: float) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"ExtractLimits.{name} must be a number, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"ExtractLimits.{name}={value!r} is outside [{low}, {high}]")

        check("max_input_bytes", MIB, HARD_MAX_INPUT_BYTES)
        check("max_depth", 0, 32)
        check("max_expanded_bytes", MIB, 64 * 1024 * MIB)
        check("max_members", 1, 1_000_000)
        check("max_ratio", 2, 1_000_000)
        check("ratio_floor_bytes", 0, HARD_MAX_INPUT_BYTES)
        check("time_budget_s", 0.001, 3600)
        check("max_segments", 1, 100_000_000)
        check("max_text_chars", 1, 2_000_000_000)
        for name in ("max_input_bytes", "max_depth", "max_expanded_bytes", "max_members",
                     "ratio_floor_bytes", "max_segments", "max_text_chars"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"ExtractLimits.{name} must be an integer")
