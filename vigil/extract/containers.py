"""Safe reading of ZIP-based document containers (OOXML, OpenDocument): metered part streams and
streaming XML parsing through defusedxml.

Every part is decompressed through ``MeteredPart``, which charges the expanded-bytes budget and
checks the compression ratio against the part's real compressed size as bytes come out, so a
document cannot smuggle a decompression bomb. XML is parsed with ``defusedxml.ElementTree``
``iterparse`` (entity declarations and external references refused) and elements are cleared as
they are consumed, so memory stays bounded by the largest paragraph, not the largest part.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from vigil.extract.context import READ_CHUNK, Context, Skipped
from vigil.extract.sniff import MAX_ZIP_ENTRIES_PARSED, zip_entry_count

ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
              RuntimeError)


def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """Open a ZIP container or raise ``Skipped`` (corrupt, or limit_exceeded for a central
    directory declaring more entries than vigil will ever parse)."""
    declared = zip_entry_count(data)
    if declared is not None and declared > MAX_ZIP_ENTRIES_PARSED:
        raise Skipped("limit_exceeded", f"{what} declares {declared} entries")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise Skipped("corrupt", f"{what}: {exc}") from None


class MeteredPart(io.RawIOBase):
    """A ZIP member opened for streaming, metered against the budgets as it decompresses."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: Context):
        super().__init__()
        if info.flag_bits & 0x1:
            raise Skipped("encrypted", f"part {info.filename} is encrypted")
        self._raw = zf.open(info)
        self._ctx = ctx
        self._compressed = info.compress_size
        self.total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(READ_CHUNK if size is None or size < 0 else min(size, READ_CHUNK))
        if chunk:
            self.total += len(chunk)
            self._ctx.check_ratio(self.total, self._compressed)
            self._ctx.charge_expanded(len(chunk))
            self._ctx.check_time()
        return chunk

    def readinto(self, b) -> int:
        chunk = self.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._raw.close()
        super().close()


def iterparse_part(zf: zipfile.ZipFile, name: str, ctx: Context,
                   events=("start", "end")) -> Iterator[tuple[str, object]]:
    """Stream ``(event, element)`` pairs of an XML part, mapping failures to ``Skipped``."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise Skipped("corrupt", f"missing part {name}") from None
    try:
        with MeteredPart(zf, info, ctx) as stream:
            yield from SafeET.iterparse(stream, events=events)
    except DefusedXmlException as exc:
        raise Skipped("limit_exceeded", f"{name}: XML entities/DTD refused "
                                        f"({type(exc).__name__})") from None
    except ParseError as exc:
        raise Skipped("corrupt", f"{name}: {exc}") from None
    except ZIP_ERRORS as exc:
        raise Skipped("corrupt", f"{name}: {exc}") from None


def parse_small_part(zf: zipfile.ZipFile, name: str, ctx: Context):
    """Parse a small XML part (relationships, manifests) into a tree; ``None`` if absent."""
    if name not in zf.NameToInfo:
        return None
    root = None
    for event, elem in iterparse_part(zf, name, ctx, events=("start",)):
        if root is None:
            root = elem
    # iterparse has built the whole (small) tree by now.
    return root


def verify_parts(zf: zipfile.ZipFile, ctx: Context) -> None:
    """Decompress every part once, discarding output, to check real sizes and ratios before a
    library that trusts the container (calamine) reads it."""
    for info in zf.infolist():
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise Skipped("encrypted", f"part {info.filename} is encrypted")
        try:
            with MeteredPart(zf, info, ctx) as stream:
                while stream.read(READ_CHUNK):
                    pass
        except ZIP_ERRORS as exc:
            raise Skipped("corrupt", f"{info.filename}: {exc}") from None
