"""E-mail: EML (RFC 5322/MIME) with the stdlib ``email`` package, Outlook MSG with extract-msg.

The stdlib parser is the reference MIME implementation and tolerates broken messages (defects
are recorded, not raised). extract-msg is the maintained reader for Outlook's OLE-based MSG
format (built on olefile); it is only asked for properties and attachment bytes, never to save
anything to disk.

Locators: ``header:NAME`` per header, ``body`` per text body (HTML bodies reduced to text), and
attachments as members ``attachments/NAME`` extracted through the same pipeline
(``attachments/report.pdf#page:2``). Nested messages recurse the same way.
"""

from __future__ import annotations

import email
import email.header
import email.policy
from email.message import Message

from vigil.extract.context import Context, Skipped
from vigil.extract.markup import extract_html

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
