"""Per-object extraction state: limits and budgets, output collection, locator prefixes, and
bounded reading of compressed streams (bomb detection on actual, not declared, sizes)."""

from __future__ import annotations

import bz2
import io
import lzma
import time
import zlib
from collections.abc import Callable, Iterator

from vigil.extract.model import ExtractLimits, Segment, Skip

READ_CHUNK = 1 << 20


class Skipped(Exception):
    """This object (or member) cannot be extracted; ``reason`` is one of ``SKIP_REASONS``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class BudgetExhausted(Exception):
    """A per-top-level budget ran out (time, members, expanded bytes, output); stops everything."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Budget:
    """State shared by a top-level object and everything nested in it."""

    def __init__(self, limits: ExtractLimits, file_types):
        self.limits = limits
        self.file_types = file_types
        self.deadline = time.monotonic() + limits.time_budget_s
        self.expanded = 0
        self.members = 0
        self.text_chars = 0
        self.segments: list[Segment] = []
        self.skips: list[Skip] = []
        self.current = ""  # locator prefix being worked on, for the budget-exhausted skip record


class Context:
    """Where extraction currently is: the member path prefix and the nesting depth."""

    def __init__(self, budget: Budget, prefix: str = "", depth: int = 0, ancestors=()):
        self.budget = budget
        self.limits = budget.limits
        self.prefix = prefix
        self.depth = depth
        self.ancestors = ancestors  # digests of enclosing containers (self-containing archives)

    # -- locators --------------------------------------------------------------------------
    def locator(self, position: str) -> str:
        return f"{self.prefix}#{position}" if self.prefix else position

    def member_path(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def child(self, name: str, digest: bytes | None = None) -> Context:
        ancestors = self.ancestors + ((digest,) if digest else ())
        return Context(self.budget, self.member_path(name), self.depth + 1, ancestors)

    # -- output ----------------------------------------------------------------------------
    def add(self, position: str, text: str, lines: bool = False, positions=None) -> None:  # noqa: ANN001
        """Record a segment (empty or whitespace-only text is dropped); ``lines``: the text's
        line breaks are the document's, so ``Segment.place`` can refine ``line:N``;
        ``positions``: how offsets in ``text`` map to the object (``vigil.extract.positions``)."""
        if not text or text.isspace():
            return
        budget = self.budget
        self.check_time()
        if len(budget.segments) >= self.limits.max_segments:
            raise BudgetExhausted("limit_exceeded", f"more than {self.limits.max_segments} segments")
        budget.text_chars += len(text)
        if budget.text_chars > self.limits.max_text_chars:
            raise BudgetExhausted("limit_exceeded",
                                  f"more than {self.limits.max_text_chars} characters of text")
        budget.segments.append(Segment(self.locator(position), text, lines, positions))

    def skip(self, locator: str, reason: str, detail: str = "") -> None:
        self.budget.skips.append(Skip(locator, reason, detail))

    # -- budgets ---------------------------------------------------------------------------
    def check_time(self) -> None:
        if time.monotonic() > self.budget.deadline:
            raise BudgetExhausted("timeout", f"time budget of {self.limits.time_budget_s}s spent")

    def remaining_seconds(self) -> float:
        return max(0.0, self.budget.deadline - time.monotonic())

    def count_member(self, locator: str) -> None:
        """Count one archive member or attachment (``locator``) against ``max_members``."""
        self.budget.members += 1
        self.budget.current = locator
        if self.budget.members > self.limits.max_members:
            raise BudgetExhausted("limit_exceeded", f"more than {self.limits.max_members} members")

    def charge_expanded(self, nbytes: int) -> None:
        self.budget.expanded += nbytes
        if self.budget.expanded > self.limits.max_expanded_bytes:
            raise BudgetExhausted("limit_exceeded",
                                  f"more than {self.limits.max_expanded_bytes} bytes decompressed")

    def check_ratio(self, produced: int, consumed: int) -> None:
        """Raise ``Skipped(limit_exceeded)`` when a stream expands like a decompression bomb."""
        limits = self.limits
        if produced > limits.ratio_floor_bytes and produced > limits.max_ratio * max(consumed, 1):
            raise Skipped("limit_exceeded",
                          f"compression ratio above {limits.max_ratio:g} "
                          f"({produced} bytes from {consumed})")

    # -- bounded reads ---------------------------------------------------------------------
    def read_stream(self, chunks: Iterator[bytes], compressed_size: int,
                    cap: int | None = None) -> bytes:
        """Collect decompressed ``chunks`` into bytes, enforcing the member size cap, the bomb
        ratio (against ``compressed_size``, the bytes really available) and the expanded budget."""
        cap = self.limits.max_input_bytes if cap is None else cap
        out = io.BytesIO()
        total = 0
        for chunk in chunks:
            total += len(chunk)
            self.check_ratio(total, compressed_size)
            if total > cap:
                raise Skipped("too_large", f"expands beyond {cap} bytes")
            self.charge_expanded(len(chunk))
            self.check_time()
            out.write(chunk)
        return out.getvalue()

    def drain(self, chunks: Iterator[bytes], compressed_size: int) -> int:
        """Decompress and discard ``chunks`` to verify their real size (OOXML parts that a library
        will read itself); returns the byte count."""
        total = 0
        for chunk in chunks:
            total += len(chunk)
            self.check_ratio(total, compressed_size)
            self.charge_expanded(len(chunk))
            self.check_time()
        return total


def stream_chunks(stream, size: int = READ_CHUNK) -> Iterator[bytes]:
    """Read a binary file object in chunks until EOF."""
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        yield chunk


def decompress_chunks(data: bytes, kind: str, progress: list[int] | None = None) -> Iterator[bytes]:
    """Stream-decompress a gzip, bzip2 or xz buffer (concatenated streams included), never
    producing more than ``READ_CHUNK`` bytes per step. ``progress[0]`` tracks input consumed.
    A truncated stream raises ``Skipped(corrupt)``."""
    factories: dict[str, Callable] = {
        "gz": lambda: zlib.decompressobj(31),
        "bz2": bz2.BZ2Decompressor,
        "xz": lzma.LZMADecompressor,
    }
    make = factories[kind]
    view = memoryview(data)
    pos = 0
    progress = progress if progress is not None else [0]
    decomp = make()
    pending = b""
    try:
        while True:
            if kind == "gz":
                if not pending and pos < len(view):
                    pending = bytes(view[pos:pos + READ_CHUNK])
                    pos += len(pending)
                out = decomp.decompress(pending, READ_CHUNK)
                pending = decomp.unconsumed_tail
                starved = not pending and pos >= len(view)
            else:
                feed = b""
                if decomp.needs_input:
                    feed = bytes(view[pos:pos + READ_CHUNK])
                    pos += len(feed)
                out = decomp.decompress(feed, max_length=READ_CHUNK)
                starved = decomp.needs_input and pos >= len(view)
            progress[0] = pos - len(pending)
            if out:
                yield out
            if decomp.eof:
                rest = bytes(decomp.unused_data) + pending + bytes(view[pos:])
                if not rest.strip(b"\x00"):
                    return
                # Another concatenated stream follows.
                view, pos, pending = memoryview(rest), 0, b""
                decomp = make()
                continue
            if starved and not out:
                raise Skipped("corrupt", f"{kind} stream is truncated")
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
        raise Skipped("corrupt", f"{kind} stream: {exc}") from None


class ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (for streaming tar parsing)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf and not self._eof:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                self._eof = True
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]  # a view: no copying of the rest
        return n
