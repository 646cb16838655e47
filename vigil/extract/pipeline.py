"""The extraction pipeline: size and scope checks, type detection, dispatch to the format's
extractor, and recursion into archive members and attachments under shared budgets."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from vigil.extract import archive, legacy, markup, odf, ooxml, pdf, text
from vigil.extract.context import Budget, BudgetExhausted, Context, Skipped
from vigil.extract.filetypes import SIGNATURE_FORMATS, FileTypes, extension_of, resolve_file_types
from vigil.extract.image import extract_image
from vigil.extract.mail import extract_eml, extract_msg_file
from vigil.extract.model import EXTRACTED, SKIPPED, Extraction, ExtractLimits, Skip
from vigil.extract.sniff import Detected, detect

Handler = Callable[[Context, bytes, str, str], None]


def _binary(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    raise Skipped("unsupported", "binary content of no supported format")


HANDLERS: dict[str, Handler] = {
    "text": text.extract_plain, "code": text.extract_plain, "md": text.extract_plain,
    "csv": text.extract_delimited, "tsv": text.extract_delimited, "json": text.extract_json,
    "ndjson": text.extract_ndjson, "yaml": text.extract_yaml, "ipynb": text.extract_ipynb,
    "xml": markup.extract_xml, "html": markup.extract_html,
    "eml": extract_eml, "msg": extract_msg_file,
    "rtf": legacy.extract_rtf, "doc": legacy.extract_doc, "ppt": legacy.extract_ppt,
    "ole": legacy.extract_ole, "ooxml_encrypted": legacy.extract_ooxml_encrypted,
    "pdf": pdf.extract_pdf,
    "docx": ooxml.extract_docx, "pptx": ooxml.extract_pptx,
    "xlsx": ooxml.extract_spreadsheet, "xls": legacy.extract_xls,
    "ods": odf.extract_ods, "odt": odf.extract_odt, "odp": odf.extract_odp,
    "zip": archive.extract_zip, "tar": archive.extract_tar, "7z": archive.extract_7z,
    "gz": archive.extract_compressed, "bz2": archive.extract_compressed,
    "xz": archive.extract_compressed,
    "image": extract_image, "binary": _binary,
}
ARCHIVE_FORMATS = frozenset({"zip", "tar", "7z", "gz", "bz2", "xz"})
# Formats detected by signature that are not themselves in the file-type list.
_SCOPE_ALIASES = {"ooxml_encrypted": ("docx", "xlsx", "pptx"), "ole": ("doc", "xls", "ppt", "msg")}

DEFAULT_LIMITS = ExtractLimits()


def in_scope(detected: Detected, name: str, types: FileTypes) -> bool:
    """Signature formats are in scope when their format is allowed; text and unknown binary
    content when the file's own extension is allowed."""
    if detected.fmt in _SCOPE_ALIASES:
        return any(types.allows_format(f) for f in _SCOPE_ALIASES[detected.fmt])
    if detected.fmt in SIGNATURE_FORMATS:
        return types.allows_format(detected.fmt)
    return types.allows_extension(extension_of(name))


def _run(ctx: Context, detected: Detected, data: bytes, name: str) -> None:
    if not data:
        if detected.name_type in SIGNATURE_FORMATS:
            raise Skipped("corrupt", "empty file")
        return  # an empty text file: extracted, nothing in it
    HANDLERS[detected.fmt](ctx, data, detected.fmt, name)


def extract_member(ctx: Context, name: str, data: bytes, counted: bool = False) -> None:
    """Extract an archive member or attachment ``name`` found inside ``ctx``'s object.

    Its segments join the top-level result with ``name`` in their locator; a member that cannot
    be extracted becomes a ``Skip``. Only budget exhaustion propagates. ``counted``: the caller
    already counted it against ``max_members``.
    """
    where = ctx.member_path(name)
    limits = ctx.limits
    if not counted:
        ctx.count_member(where)
    if ctx.depth + 1 > limits.max_depth:
        ctx.skip(where, "limit_exceeded", f"nested deeper than {limits.max_depth} levels")
        return
    if len(data) > limits.max_input_bytes:
        ctx.skip(where, "too_large", f"{len(data)} bytes")
        return
    types = ctx.budget.file_types
    try:
        detected = detect(data, name, types)
    except Exception as exc:  # detection must never sink the parent
        ctx.skip(where, "corrupt", f"type detection failed: {type(exc).__name__}")
        return
    if not in_scope(detected, name, types):
        ctx.skip(where, "type_excluded", f"{detected.kind} is not in the file-type list")
        return
    digest = None
    if detected.fmt in ARCHIVE_FORMATS:
        if ctx.depth + 2 > limits.max_depth:  # its members would be too deep
            ctx.skip(where, "limit_exceeded", f"archive nested deeper than {limits.max_depth} levels")
            return
        digest = hashlib.sha256(data).digest()
        if digest in ctx.ancestors:
            ctx.skip(where, "limit_exceeded", "archive contains itself (quine)")
            return
    child = ctx.child(name, digest)
    previous = ctx.budget.current
    ctx.budget.current = where
    try:
        _run(child, detected, data, name)
    except Skipped as exc:
        ctx.skip(where, exc.reason, exc.detail)
    except BudgetExhausted:
        raise
    except RecursionError:
        ctx.skip(where, "limit_exceeded", "structure nested too deeply")
    except MemoryError:
        ctx.skip(where, "limit_exceeded", "out of memory")
    except Exception as exc:  # a library failing on hostile input must not sink the parent
        ctx.skip(where, "corrupt", f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        ctx.budget.current = previous


def extract(data: bytes, filename: str, mime: str | None = None,
            limits: ExtractLimits = DEFAULT_LIMITS, file_types=None) -> Extraction:
    """Extract the text of one object, with locators; never raises on bad content.

    ``file_types``: ``None`` for the default list, or an iterable of extensions (see
    ``vigil.extract.filetypes``). Raises ``TypeError``/``ValueError`` only for bad arguments.
    """
    started = time.perf_counter()
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if not isinstance(limits, ExtractLimits):
        raise TypeError("limits must be an ExtractLimits")
    filename = str(filename or "")
    types = resolve_file_types(file_types)
    budget = Budget(limits, types)

    def result(status, reason=None, detail="", detected=None, bytes_read=0):
        return Extraction(
            filename=filename, status=status, reason=reason, detail=detail,
            detected_type=detected.kind if detected else None,
            name_type=detected.name_type if detected else None,
            type_mismatch=detected.mismatch if detected else None,
            bytes_read=bytes_read, duration_ms=round((time.perf_counter() - started) * 1000, 3),
            segments=budget.segments, skips=budget.skips)

    if len(data) > limits.max_input_bytes:
        head = detect(data[:4096], filename, types, mime)
        return result(SKIPPED, "too_large", f"{len(data)} bytes > {limits.max_input_bytes}",
                      head)
    try:
        detected = detect(data, filename, types, mime)
    except Exception as exc:
        return result(SKIPPED, "corrupt", f"type detection failed: {type(exc).__name__}")
    if not in_scope(detected, filename, types):
        return result(SKIPPED, "type_excluded", f"{detected.kind} is not in the file-type list",
                      detected)
    # An archive's digest lets a member identical to it (a quine) be recognised.
    ancestors = (hashlib.sha256(data).digest(),) if detected.fmt in ARCHIVE_FORMATS else ()
    ctx = Context(budget, ancestors=ancestors)
    failure: tuple[str, str, str] | None = None  # (reason, detail, locator)
    try:
        _run(ctx, detected, data, filename)
    except Skipped as exc:
        failure = (exc.reason, exc.detail, "")
    except BudgetExhausted as exc:
        failure = (exc.reason, exc.detail, budget.current)
    except RecursionError:
        failure = ("limit_exceeded", "structure nested too deeply", budget.current)
    except MemoryError:
        failure = ("limit_exceeded", "out of memory", budget.current)
    except Exception as exc:  # never crash the caller on hostile input
        failure = ("corrupt", f"{type(exc).__name__}: {str(exc)[:200]}", budget.current)
    if failure is None:
        return result(EXTRACTED, detected=detected, bytes_read=len(data))
    reason, detail, locator = failure
    if not budget.segments and not budget.skips:
        return result(SKIPPED, reason, detail, detected, len(data))
    # Partial extraction: keep what was found and say where and why it stopped.
    budget.skips.append(Skip(locator, reason, detail))
    return result(EXTRACTED, detected=detected, bytes_read=len(data))
