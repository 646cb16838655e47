"""Where export lines go: standard output, a local file or any fsspec URL (``s3://…``).

Lines are staged in a local temporary file and published in one step: locally by an atomic
rename, on object stores by a single upload (an object appears only once complete). A reader
tailing the destination therefore never sees half a file, and an export that fails midway
publishes nothing. A name ending in ``.gz`` is gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
from typing import IO, Any

import numpy as np
import pyarrow as pa

from vigil.lake.storage import LakeStorage

STDOUT = "-"


class ExportDestinationError(OSError):
    """The destination cannot be written (the message names it, never a credential)."""


class LineSink:
    """Collects lines for one destination; ``publish()`` makes them visible, ``discard()`` drops them."""

    def __init__(self, target: str, storage_options: dict[str, Any] | None = None):
        self.target = target
        self.storage_options = dict(storage_options or {})
        fd, self._staged = tempfile.mkstemp(prefix="vigil-export-", suffix=".jsonl")
        raw = os.fdopen(fd, "wb")
        self._raw = raw
        self._out: IO[bytes] = (gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
                                if target.endswith(".gz") else raw)
        self.lines = 0
        self.bytes = 0

    def write_arrow_lines(self, lines: "pa.Array") -> int:
        """Append an Arrow string array whose values each end with a newline, without turning
        them into Python strings (the array's data buffer is written as it is)."""
        if lines.null_count:
            lines = lines.drop_null()
        if pa.types.is_string(lines.type) or pa.types.is_large_string(lines.type):
            width = np.int32 if pa.types.is_string(lines.type) else np.int64
            offsets = np.frombuffer(lines.buffers()[1], dtype=width)[lines.offset:lines.offset + len(lines) + 1]
            data = memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]] if len(lines) else b""
        else:  # another string layout (e.g. a string view): go through Python
            data = "".join(lines.to_pylist()).encode("utf-8")
        self._out.write(data)
        self.lines += len(lines)
        self.bytes += len(data)
        return len(lines)

    def publish(self) -> str:
        """Make the staged lines visible at the target; returns where they went."""
        self._close()
        try:
            if self.target == STDOUT:
                try:
                    with open(self._staged, "rb") as f:
                        shutil.copyfileobj(f, sys.stdout.buffer)
                    sys.stdout.flush()
                except BrokenPipeError:  # the reader (e.g. `head`) stopped reading: not an error
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return STDOUT
            storage = LakeStorage(self.target, self.storage_options)
            with open(self._staged, "rb") as staged:
                storage.write_atomic(storage.root, lambda f: shutil.copyfileobj(staged, f))
            return storage.url(storage.root)
        except OSError as exc:
            raise ExportDestinationError(f"cannot write {self.target}: {type(exc).__name__}: {exc}") from None
        finally:
            self.discard()

    def discard(self) -> None:
        """Drop the staged lines."""
        self._close()
        if os.path.exists(self._staged):
            os.unlink(self._staged)

    def _close(self) -> None:
        if not self._raw.closed:
            self._out.close()
            if self._out is not self._raw:
                self._raw.close()

    def __enter__(self) -> "LineSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def join_url(base: str, *parts: str) -> str:
    """``base`` (a folder or URL prefix) joined with path ``parts`` by ``/``."""
    return "/".join([base.rstrip("/"), *parts])
