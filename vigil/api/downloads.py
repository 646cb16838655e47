"""Streamed downloads: a size cap, ``Content-MD5`` verification and file names from
``Content-Disposition``."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
import email.utils
from email.message import Message

import httpx

CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Download:
    """The bytes of one content endpoint and what its headers said about them.

    ``too_large``: the body exceeded the cap; ``content`` is then empty, ``md5`` None and
    ``size`` the number of bytes read before stopping (or the announced length).
    ``md5``: lowercase hex MD5 of ``content``. ``md5_verified``: True when a ``Content-MD5``
    header was present and matched, None when the server sent none.
    ``truncated``: the server aborted the stream mid-body again on a retry (how the API signals
    oversized encoded code-artifact content); ``content`` holds the bytes that arrived, ``md5``
    is None and nothing vouches for them.
    """

    content: bytes
    filename: str | None
    mime_type: str | None
    md5: str | None
    size: int
    too_large: bool = False
    md5_verified: bool | None = None
    request_id: str | None = None
    truncated: bool = False

    def text(self, encoding: str = "utf-8") -> str:
        """The content decoded as text (invalid bytes replaced)."""
        return self.content.decode(encoding, errors="replace")

    def __repr__(self) -> str:  # never dump file bytes into logs
        return (f"Download(filename={self.filename!r}, mime_type={self.mime_type!r}, size={self.size}, "
                f"md5={self.md5!r}, too_large={self.too_large}, md5_verified={self.md5_verified}, "
                f"truncated={self.truncated})")


def filename_from_disposition(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header.

    Handles the RFC 5987/2231 extended form (``filename*=utf-8''na%C3%AFve.txt``) and the plain
    ``filename="..."`` form; the extended form wins when both are present. Directory parts are
    dropped so a name can never point outside where a caller stores it.
    """
    if not value:
        return None
    msg = Message()
    msg["content-disposition"] = value
    params = msg.get_params(header="content-disposition") or []
    names = [v for k, v in params[1:] if k.lower() == "filename"]
    # RFC 6266: the extended (RFC 5987, tuple-decoded) form wins over a plain ``filename``.
    extended = [v for v in names if isinstance(v, tuple)]
    chosen = (extended or names or [None])[0]
    if chosen is None:
        return None
    name = email.utils.collapse_rfc2231_value(chosen, errors="replace")
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or None


def mime_from_content_type(value: str | None) -> str | None:
    """``type/subtype`` of a ``Content-Type`` header (parameters dropped), or None."""
    if not value:
        return None
    msg = Message()
    msg["content-type"] = value
    return msg.get_content_type()


def md5_header_hex(value: str | None) -> str | None:
    """Lowercase hex of a base64 ``Content-MD5`` header (RFC 1864); None if absent or malformed."""
    if not value:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 16 else None


@dataclass
class StreamResult:
    """What :func:`read_capped` read from a response body. ``cut`` holds the transport error
    when the body ended early (the bytes before it are in ``content``)."""

    content: bytes
    md5: str | None
    size: int
    too_large: bool
    cut: httpx.TransportError | None = None


def read_capped(response: httpx.Response, max_bytes: int, on_bytes=None) -> StreamResult:
    """Read ``response`` up to ``max_bytes``; past it stop reading and report ``too_large``.

    Never holds more than ``max_bytes`` of body. ``on_bytes(n)`` is called per chunk read. A
    body cut off mid-stream is returned as read so far, with the error in ``cut``.
    """
    announced = response.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > max_bytes:
        return StreamResult(b"", None, int(announced), True)
    buf = bytearray()
    digest = hashlib.md5()
    total = 0
    try:
        for chunk in response.iter_bytes(CHUNK_SIZE):
            total += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
            if total > max_bytes:
                return StreamResult(b"", None, total, True)
            buf += chunk
            digest.update(chunk)
    except httpx.TransportError as exc:
        return StreamResult(bytes(buf), None, total, False, exc)
    return StreamResult(bytes(buf), digest.hexdigest(), total, False)
