"""E-mail: EML (RFC 5322/MIME) with the stdlib ``email`` package, Outlook MSG with extract-msg.

The stdlib parser is the reference MIME implementation and tolerates broken messages (defects
are recorded, not raised). extract-msg is the maintained reader for Outlook's OLE-based MSG
format (built on olefile); it is only asked for properties and attachment bytes, never to save
anything to disk.

Locators: ``header:NAME`` per header, ``body`` per text body (HTML bodies reduced to text), and
attachments as members ``attachments/NAME`` extracted through the same pipeline
(``attachments/report.pdf#page:2``). Nested messages recurse the same way.

A plain single-part message (text/plain, no transfer encoding, no encoded words) is one segment:
the whole decoded file, so offsets, line and column are the file's; the locator of a match is
still the header or the body holding it (``vigil.extract.positions.Regions``).
"""

from __future__ import annotations

import email
import email.header
import email.policy
from email.message import Message

import re

from vigil.extract.context import Context, Skipped
from vigil.extract.markup import extract_html
from vigil.extract.positions import Regions
from vigil.extract.text import decode_text

_SKIPPED_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version",
                              "content-disposition", "x-ms-has-attach"})


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
    used.add(candidate)
    return candidate


def _safe_name(name: str | None, fallback: str) -> str:
    name = (name or "").replace("\\", "/").split("/")[-1].strip() or fallback
    return name.replace("#", "_")


def extract_eml(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    from vigil.extract.pipeline import extract_member

    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.keys() and not message.get_payload():
        raise Skipped("corrupt", "no e-mail headers or body")
    if _add_plain_message(ctx, message, data):
        return
    for key, value in message.items():
        if key.lower() not in _SKIPPED_HEADERS:
            ctx.add(f"header:{key}", _header_text(value))
    used: set[str] = set()
    for number, part in enumerate(_leaf_parts(message), start=1):
        ctx.check_time()
        content_type = part.get_content_type()
        filename = part.get_filename()
        is_attachment = filename or part.get_content_disposition() == "attachment"
        if content_type == "message/rfc822":
            inner = part.get_payload()
            payload = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            extract_member(ctx, f"attachments/{_unique(_safe_name(filename, 'message.eml'), used)}",
                           payload)
            continue
        payload = part.get_payload(decode=True) or b""
        if not is_attachment and content_type in ("text/plain", "text/html", "text/enriched"):
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload.decode(charset, errors="replace")
            except LookupError:
                text = payload.decode("utf-8", errors="replace")
            if content_type == "text/html":
                _add_html_body(ctx, text)
            else:
                ctx.add("body", text.replace("\r\n", "\n"))
            continue
        member = _unique(_safe_name(filename, f"part-{number}"), used)
        extract_member(ctx, f"attachments/{member}", payload)


_HEADER_START = re.compile(r"^([!-9;-~]+):", re.M)
_BODY_BREAK = re.compile(r"\r?\n\r?\n")


def _add_plain_message(ctx: Context, message: Message, data: bytes) -> bool:
    """A single-part plain-text message without transfer or header encoding: the decoded file as
    one segment, located per header and body. False when the message needs decoding."""
    if message.is_multipart() or message.get_content_type() != "text/plain":
        return False
    encoding = (message.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    charset = (message.get_content_charset() or "us-ascii").lower()
    if encoding not in ("7bit", "8bit") or charset not in ("us-ascii", "ascii", "utf-8", "utf8"):
        return False
    try:
        text = decode_text(data)
    except Skipped:
        return False
    if "=?" in text[:_header_end(text)]:
        return False
    split = _BODY_BREAK.search(text)
    head_end = split.start() if split else len(text)
    regions = [(m.start(), ctx.locator(f"header:{m.group(1)}"))
               for m in _HEADER_START.finditer(text, 0, head_end)]
    if not regions or regions[0][0] != 0:
        return False
    if split:
        regions.append((split.end(), ctx.locator("body")))
    ctx.add(f"header:{_HEADER_START.match(text).group(1)}", text, positions=Regions(regions))
    return True


def _header_end(text: str) -> int:
    split = _BODY_BREAK.search(text)
    return split.start() if split else len(text)


def _leaf_parts(message: Message):
    """Non-multipart parts, not descending into attached messages (they are members)."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        if part.get_content_type() == "message/rfc822" and part is not message:
            yield part
        elif part.is_multipart():
            payload = part.get_payload()
            stack[0:0] = payload if isinstance(payload, list) else []
        else:
            yield part


def _header_text(value) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except Exception:  # malformed encoded words: keep the raw value
        return str(value)


def _add_html_body(ctx: Context, html: str) -> None:
    """Reduce an HTML body to text and attributes; its segments are located at ``body``."""
    from vigil.extract.context import Budget

    scratch = Context(Budget(ctx.limits, ctx.budget.file_types))
    scratch.budget.deadline = ctx.budget.deadline
    extract_html(scratch, html.encode("utf-8"), "html", "body.html")
    for segment in scratch.budget.segments:
        ctx.add("body", segment.text)


def extract_msg_file(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    import extract_msg

    from vigil.extract.pipeline import extract_member

    try:
        msg = extract_msg.openMsg(data, delayAttachments=False)
    except Exception as exc:  # extract-msg raises many error types on damaged input
        text = str(exc).lower()
        if "encrypt" in text or "password" in text:
            raise Skipped("encrypted", f"MSG: {exc}") from None
        raise Skipped("corrupt", f"MSG: {type(exc).__name__}: {exc}") from None
    try:
        for label, value in (("From", msg.sender), ("To", msg.to), ("Cc", msg.cc),
                             ("Bcc", getattr(msg, "bcc", None)), ("Subject", msg.subject),
                             ("Date", getattr(msg, "date", None))):
            if value:
                ctx.add(f"header:{label}", str(value))
        body = msg.body
        if body:
            ctx.add("body", str(body).replace("\r\n", "\n"))
        elif getattr(msg, "htmlBody", None):
            raw = msg.htmlBody
            _add_html_body(ctx, raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)
        used: set[str] = set()
        for number, attachment in enumerate(getattr(msg, "attachments", []) or [], start=1):
            ctx.check_time()
            filename = getattr(attachment, "longFilename", None) or \
                getattr(attachment, "shortFilename", None)
            payload = getattr(attachment, "data", None)
            member = f"attachments/{_unique(_safe_name(filename, f'part-{number}'), used)}"
            if hasattr(payload, "exportBytes"):  # an embedded MSG
                payload = payload.exportBytes()
            if isinstance(payload, bytes):
                extract_member(ctx, member, payload)
            else:
                ctx.skip(ctx.member_path(member), "unsupported", "attachment without bytes")
    finally:
        msg.close()
