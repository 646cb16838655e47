"""Legacy binary Office (DOC, PPT) best effort, RTF, and OLE containers in general.

- DOC: olefile opens the compound file; the ``WordDocument`` stream is scanned for runs of
  UTF-16LE and 8-bit text (Word 97-2003 stores body text in those two encodings). This skips the
  piece table, so order can differ from the rendered document and formatting codes may leak in;
  it is a best-effort reader, reported as such in docs/extraction.md.
- PPT: olefile, then the ``PowerPoint Document`` record stream is walked for TextCharsAtom
  (UTF-16LE) and TextBytesAtom (8-bit) records, which hold all slide and notes text.
- XLS goes through python-calamine (``ooxml.extract_spreadsheet``) after a scan of the workbook
  globals for a FILEPASS record (password protection), which calamine does not report as such.
- Encrypted OOXML (an OLE file with ``EncryptionInfo``/``EncryptedPackage``), confirmed with
  msoffcrypto-tool, is skipped as ``encrypted``; password-protected DOC/PPT likewise.
- RTF: striprtf (small, maintained, pure Python) turns RTF into text; paragraphs are the
  blank-line-separated blocks of that text.

Locators: DOC and PPT ``text`` (one segment per text run block), RTF ``paragraph:N``.
"""

from __future__ import annotations

import io
import re

import olefile

from vigil.extract.context import Context, Skipped

_UTF16_RUN = re.compile(rb"(?:[\x09\x0a\x0d\x20-\x7e\xa0-\xff]\x00){6,}")
_BYTE_RUN = re.compile(rb"[\x09\x0a\x0d\x20-\x7e\xa0-\xff]{8,}")
_TEXT_CHARS_ATOM = 0x0FA0
_TEXT_BYTES_ATOM = 0x0FA8


def _open_ole(data: bytes, what: str) -> olefile.OleFileIO:
    try:
        return olefile.OleFileIO(data)
    except Exception as exc:  # olefile raises OSError and assorted parse errors
        raise Skipped("corrupt", f"{what}: {exc}") from None


def _read_stream(ole: olefile.OleFileIO, name: str, ctx: Context) -> bytes:
    try:
        size = ole.get_size(name)
        if size > ctx.limits.max_input_bytes:
            raise Skipped("too_large", f"stream {name} declares {size} bytes")
        return ole.openstream(name).read()
    except Skipped:
        raise
    except Exception as exc:
        raise Skipped("corrupt", f"stream {name}: {exc}") from None


def extract_ooxml_encrypted(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    import msoffcrypto

    try:
        encrypted = msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
    except Exception:
        encrypted = True  # EncryptionInfo + EncryptedPackage streams are the definition
    if encrypted:
        raise Skipped("encrypted", "password-protected Office document")
    raise Skipped("unsupported", "OLE package without content streams")


def extract_ole(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    _open_ole(data, "OLE").close()
    raise Skipped("unsupported", "OLE compound file of an unknown kind")


def extract_doc(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    ole = _open_ole(data, "DOC")
    try:
        stream = _read_stream(ole, "WordDocument", ctx)
    finally:
        ole.close()
    if len(stream) > 0x0C and stream[0x0B] & 0x01:  # FIB fEncrypted
        raise Skipped("encrypted", "password-protected DOC")
    _add_runs(ctx, stream)


def _add_runs(ctx: Context, raw: bytes) -> None:
    pieces = []
    for match in _UTF16_RUN.finditer(raw):
        text = match.group().decode("utf-16-le", errors="ignore")
        if sum(ch.isalnum() for ch in text) >= 4:
            pieces.append((match.start(), text))
    for match in _BYTE_RUN.finditer(raw):
        text = match.group().decode("cp1252", errors="replace")
        if sum(ch.isalnum() for ch in text) >= 6:
            pieces.append((match.start(), text))
    pieces.sort()
    text = "\n".join(t.replace("\r", "\n") for _, t in pieces)
    ctx.add("text", text)


def extract_ppt(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    ole = _open_ole(data, "PPT")
    try:
        if ole.exists("EncryptedSummary"):
            raise Skipped("encrypted", "password-protected PPT")
        stream = _read_stream(ole, "PowerPoint Document", ctx)
    finally:
        ole.close()
    texts = []
    pos = 0
    end = len(stream)
    while pos + 8 <= end:
        ver_inst = int.from_bytes(stream[pos:pos + 2], "little")
        rec_type = int.from_bytes(stream[pos + 2:pos + 4], "little")
        rec_len = int.from_bytes(stream[pos + 4:pos + 8], "little")
        body = pos + 8
        if ver_inst & 0x000F == 0x000F:  # container: walk into it
            pos = body
            continue
        if rec_type == _TEXT_CHARS_ATOM:
            texts.append(stream[body:body + rec_len].decode("utf-16-le", errors="replace"))
        elif rec_type == _TEXT_BYTES_ATOM:
            texts.append(stream[body:body + rec_len].decode("cp1252", errors="replace"))
        pos = body + rec_len
        if len(texts) % 1024 == 0:
            ctx.check_time()
    ctx.add("text", "\n".join(t.replace("\r", "\n").replace("\x0b", "\n") for t in texts))


def extract_xls(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """XLS: a FILEPASS record in the workbook globals means a password; else calamine reads it."""
    from vigil.extract.ooxml import extract_spreadsheet

    ole = _open_ole(data, "XLS")
    try:
        stream_name = "Workbook" if ole.exists("Workbook") else "Book"
        head = ole.openstream(stream_name).read(min(ole.get_size(stream_name), 1 << 20))
    except Exception as exc:
        raise Skipped("corrupt", f"XLS workbook stream: {exc}") from None
    finally:
        ole.close()
    pos = 0
    while pos + 4 <= len(head):
        kind = int.from_bytes(head[pos:pos + 2], "little")
        length = int.from_bytes(head[pos + 2:pos + 4], "little")
        if kind == 0x002F:  # FILEPASS
            raise Skipped("encrypted", "password-protected XLS")
        if kind == 0x000A:  # EOF of the globals substream
            break
        pos += 4 + length
    extract_spreadsheet(ctx, data, fmt, name)


def extract_rtf(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    from striprtf.striprtf import rtf_to_text

    try:
        text = rtf_to_text(data.decode("latin-1"), errors="replace")
    except Exception as exc:  # striprtf is regex based; failures mean unparseable input
        raise Skipped("corrupt", f"RTF: {type(exc).__name__}: {exc}") from None
    number = 0
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        if block.strip():
            number += 1
            ctx.add(f"paragraph:{number}", block.strip("\n"))
