"""Text formats: plain text, source code, Markdown, logs, CSV/TSV, JSON/NDJSON, YAML, notebooks.

Libraries: charset-normalizer for encodings (pure Python, maintained, the detector requests and
pip use) after a fast strict UTF-8 attempt; the stdlib ``json`` (C accelerated) to tell JSON
from text. YAML is never composed (aliases cannot expand).

Plain-text formats (text, code, Markdown, logs, CSV/TSV, JSON, NDJSON, YAML) give one segment:
the whole decoded file, unchanged, so a finding's offsets are offsets into the file and a
column header or a JSON key far from a value is still in the text the engine reads. Its
positions (``vigil.extract.positions``) refine the locator per match: ``line:N`` (the match's
line), ``json:$.path`` (JSON), ``line:N/json:$.path`` (NDJSON). Notebooks give ``cell:N`` per
cell.
"""

from __future__ import annotations

import codecs
import json

import charset_normalizer

from vigil.extract.context import Context, Skipped
from vigil.extract.positions import JsonText, WholeText
from vigil.extract.sniff import looks_binary

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding: BOM, then strict UTF-8, then charset detection.

    Raises ``Skipped(unsupported)`` for binary content. Undecodable bytes are replaced, so
    invalid UTF-8 still yields the readable rest.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if looks_binary(data):
        raise Skipped("unsupported", "binary content")
    best = charset_normalizer.from_bytes(data[:262_144]).best()
    encoding = best.encoding if best is not None else "utf-8"
    return data.decode(encoding, errors="replace")


def extract_plain(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """The whole decoded file as one segment located ``line:N`` per match."""
    add_text(ctx, decode_text(data))


def add_text(ctx: Context, text: str) -> None:
    """Emit a whole text (a file, a member) as one segment with line positions."""
    ctx.add("line:1", text, lines=True, positions=WholeText())


def extract_delimited(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """CSV/TSV: the decoded file as it is (the engine reads its header as context), located at
    the line of the match."""
    ctx.add("line:1", decode_text(data), lines=True, positions=WholeText())


def extract_json(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """JSON: the decoded file as it is, located by the JSON path of the value holding a match.
    JSON Lines saved as ``.json`` is read as NDJSON; text that is no JSON is read as text."""
    text = decode_text(data)
    try:
        json.loads(text)
    except RecursionError:
        pass  # too deep for the parser, not for the raw text: still located by path
    except ValueError:
        if text.lstrip().startswith("{") and "\n{" in text:
            ctx.add("line:1", text, lines=True, positions=JsonText(ndjson=True))
            return
        add_text(ctx, text)
        return
    ctx.add("json:$", text, positions=JsonText())


def extract_ndjson(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """NDJSON / JSON Lines: the decoded file, located ``line:N/json:$.path``."""
    ctx.add("line:1", decode_text(data), lines=True, positions=JsonText(ndjson=True))


def extract_yaml(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """YAML: the decoded file as it is (never composed, so aliases cannot expand), ``line:N``."""
    add_text(ctx, decode_text(data))


def extract_ipynb(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """Jupyter notebook: each cell's source and text outputs as ``cell:N`` (1-based)."""
    try:
        notebook = json.loads(decode_text(data))
    except (ValueError, RecursionError):
        raise Skipped("corrupt", "notebook is not valid JSON") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        # nbformat 3 keeps cells under worksheets.
        sheets = notebook.get("worksheets", []) if isinstance(notebook, dict) else []
        cells = [c for ws in sheets if isinstance(ws, dict) for c in ws.get("cells", [])]
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        parts = [_joined(cell.get("source", cell.get("input", "")))]
        for output in cell.get("outputs", []) or []:
            if not isinstance(output, dict):
                continue
            parts.append(_joined(output.get("text", "")))
            data_ = output.get("data", {})
            if isinstance(data_, dict):
                for mime in ("text/plain", "text/markdown", "application/json", "text/html"):
                    value = data_.get(mime)
                    if isinstance(value, (list, str)):
                        parts.append(_joined(value))
                    elif value is not None:
                        parts.append(json.dumps(value, ensure_ascii=False))
            if output.get("traceback"):
                parts.append(_joined(output["traceback"]))
        ctx.add(f"cell:{number}", "\n".join(p for p in parts if p))


def _joined(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""
