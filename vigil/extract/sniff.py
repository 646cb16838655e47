"""Type detection by content (magic bytes and container layout), with the filename as a hint.

Binary formats are recognised by signature: the filename never overrides them. Text content is
read as the format its extension names (JSON, CSV, ...) when the content agrees; otherwise it is
sniffed (XML, HTML, JSON, e-mail) or treated as plain text. Mismatches are reported.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

import olefile

from vigil.extract.filetypes import FileTypes, extension_of

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
    (b"GIF89a", "gif"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"BM", "bmp"),
)
_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_MAIL_HEADER = re.compile(
    rb"^(?:return-path|received|from|to|subject|date|message-id|mime-version|delivered-to|"
    rb"x-[a-z0-9-]+|dkim-signature|reply-to|cc):[ \t]", re.IGNORECASE)
_TEXT_FAMILY = {"text", "code", "md", "csv", "tsv", "yaml"}


@dataclass(frozen=True)
class Detected:
    """What a blob is: ``fmt`` picks the extractor; ``kind`` is the reported detected type."""

    fmt: str
    kind: str
    name_type: str | None
    mismatch: str | None


def detect(data: bytes, filename: str, types: FileTypes, mime: str | None = None) -> Detected:
    """Detect the format of ``data``; ``filename`` (and ``mime``) only refine text formats."""
    ext = extension_of(filename)
    name_type = types.format_of.get(ext)
    fmt, kind = _by_signature(data)
    if fmt is None:
        fmt = kind = _text_format(data, name_type, mime)
    mismatch = None
    if name_type and name_type != fmt and not (name_type in _TEXT_FAMILY and fmt in _TEXT_FAMILY):
        mismatch = f"name says {name_type}, content is {kind}"
    return Detected(fmt, kind, name_type, mismatch)


def _by_signature(data: bytes) -> tuple[str | None, str | None]:
    head = data[:1024]
    if head.startswith(b"%PDF") or b"%PDF-" in head:
        return "pdf", "pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        kind = _zip_kind(data)
        return kind, kind
    if head.startswith(_OLE_MAGIC):
        kind = ole_kind(data)
        return kind, kind
    if head.startswith(b"{\\rtf"):
        return "rtf", "rtf"
    if head.startswith(b"\x1f\x8b"):
        return "gz", "gz"
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "bz2", "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz", "xz"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z", "7z"
    if data[257:262] == b"ustar":
        return "tar", "tar"
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return "image", kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    return None, None


def zip_entry_count(data: bytes) -> int | None:
    """Entries the ZIP end-of-central-directory record declares (ZIP64 aware), read before any
    parser builds one object per entry; ``None`` when no record is found."""
    tail_start = max(0, len(data) - 65_557)
    pos = data.rfind(b"PK\x05\x06", tail_start)
    if pos < 0 or pos + 22 > len(data):
        return None
    count = int.from_bytes(data[pos + 10:pos + 12], "little")
    if count == 0xFFFF:
        z64 = data.rfind(b"PK\x06\x06", max(0, pos - 4096), pos)
        if z64 >= 0 and z64 + 40 <= len(data):
            count = int.from_bytes(data[z64 + 32:z64 + 40], "little")
    return count


MAX_ZIP_ENTRIES_PARSED = 100_000


def _zip_kind(data: bytes) -> str:
    """OOXML and OpenDocument are ZIP containers; tell them apart by their members."""
    if (zip_entry_count(data) or 0) > MAX_ZIP_ENTRIES_PARSED:
        return "zip"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.NameToInfo  # every entry, however many
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = zf.read(info).decode("ascii", "replace").strip()
                    if mimetype in _ODF_MIMETYPES:
                        return _ODF_MIMETYPES[mimetype]
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "ppt/presentation.xml" in names:
                return "pptx"
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        pass  # the zip extractor reports it as corrupt (or encrypted)
    return "zip"


def ole_kind(data: bytes) -> str:
    """Legacy Office, Outlook MSG, or an encrypted OOXML package, by their OLE stream names."""
    try:
        ole = olefile.OleFileIO(data)
    except Exception:  # olefile raises a variety of errors on garbage
        return "ole"
    try:
        streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
    finally:
        ole.close()
    if "EncryptionInfo" in streams and "EncryptedPackage" in streams:
        return "ooxml_encrypted"
    if "WordDocument" in streams:
        return "doc"
    if "Workbook" in streams or "Book" in streams:
        return "xls"
    if "PowerPoint Document" in streams:
        return "ppt"
    if any(name.startswith("__substg1.0_") for name in streams):
        return "msg"
    return "ole"


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the head mean binary, unless it carries a UTF-16/32 byte-order mark."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        return False
    return b"\x00" in head


def _text_format(data: bytes, name_type: str | None, mime: str | None) -> str:
    if looks_binary(data):
        return "binary"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = head[:512].lower()
    if name_type in ("json", "ipynb") and head[:1] in (b"{", b"["):
        return name_type
    if name_type == "ndjson" and head[:1] == b"{":
        return "ndjson"
    if name_type == "xml" and head[:1] == b"<":
        return "html" if b"<html" in lowered else "xml"
    if name_type == "html" and head[:1] == b"<":
        return "html"
    if name_type == "eml" and _MAIL_HEADER.match(head):
        return "eml"
    if name_type in _TEXT_FAMILY:
        return name_type
    # No usable hint: sniff.
    if lowered.startswith(b"<!doctype html") or b"<html" in lowered:
        return "html"
    if lowered.startswith(b"<?xml") or (lowered.startswith(b"<") and mime and "xml" in mime):
        return "xml"
    if head[:1] in (b"{", b"[") and (mime is None or "json" in mime or name_type is None):
        return "json"
    if _MAIL_HEADER.match(head) and re.search(rb"\r?\n\r?\n", data[:65536]):
        return "eml"
    return "text"  # includes names that promised structure (.json, .xml) the content lacks
