"""Text formats: plain text, source code, Markdown, logs, CSV/TSV, JSON/NDJSON, YAML, notebooks.

Libraries: charset-normalizer for encodings (pure Python, maintained, the detector requests and
pip use) after a fast strict UTF-8 attempt; the stdlib ``csv`` and ``json`` (C accelerated);
PyYAML's libyaml-backed ``CSafeLoader`` *composer* for YAML, walking nodes so aliases are
visited once (no "billion laughs" expansion) and every scalar keeps its line number.

Locators: ``line:N`` for text-like formats (a segment is a paragraph of up to 64 lines, N its
first line), ``line:N`` per CSV/TSV record, ``json:$.path`` per JSON leaf, ``line:N/json:$.path``
for NDJSON, ``line:N`` per YAML scalar, ``cell:N`` per notebook cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re

import charset_normalizer
import yaml

from vigil.extract.context import Context, Skipped
from vigil.extract.sniff import looks_binary

PARAGRAPH_MAX_LINES = 64
PARAGRAPH_MAX_CHARS = 16_384
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

csv.field_size_limit(64 * 1024 * 1024)  # the default (128 KiB) rejects long but legitimate cells


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


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


def add_paragraphs(ctx: Context, text: str, first_line: int = 1) -> None:
    """Emit ``text`` as blank-line-separated paragraphs (capped in lines and characters),
    each located at its first line."""
    start = None
    buf: list[str] = []
    size = 0
    line_no = first_line - 1
    for line_no, line in enumerate(normalise_newlines(text).split("\n"), start=first_line):
        if not line.strip():
            if buf:
                ctx.add(f"line:{start}", "\n".join(buf), lines=True)
                buf, size = [], 0
            continue
        if buf and (len(buf) >= PARAGRAPH_MAX_LINES or size + len(line) > PARAGRAPH_MAX_CHARS):
            ctx.add(f"line:{start}", "\n".join(buf), lines=True)
            buf, size = [], 0
        if not buf:
            start = line_no
        buf.append(line)
        size += len(line) + 1
    if buf:
        ctx.add(f"line:{start}", "\n".join(buf), lines=True)


def extract_plain(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    add_paragraphs(ctx, decode_text(data))


def extract_delimited(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """CSV/TSV: one segment per record (cells joined by tabs) at the record's first line."""
    text = normalise_newlines(decode_text(data))
    delimiter = "\t" if fmt == "tsv" else _guess_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for record in reader:
            ctx.add(f"line:{line}", "\t".join(record), lines=True)
            line = reader.line_num + 1
    except csv.Error:
        # Malformed quoting: keep what was read, read the rest as plain text from there on.
        rest = "\n".join(text.split("\n")[line - 1:])
        add_paragraphs(ctx, rest, first_line=line)


def _guess_delimiter(header: str) -> str:
    """Comma unless the header line has none and another common delimiter instead."""
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def json_path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENT.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def add_json(ctx: Context, value, prefix: str = "") -> None:
    """Emit every string and number leaf of a decoded JSON value as ``json:$.path``, with the
    nearest object key in front of the value (``key: value``) for context."""
    stack = [(value, "$", None)]
    count = 0
    while stack:
        node, path, key = stack.pop()
        if isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                stack.append((v, json_path(path, str(k)), str(k)))
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                stack.append((node[i], json_path(path, i), key))
        elif isinstance(node, bool) or node is None:
            continue
        else:
            text = node if isinstance(node, str) else json.dumps(node)
            ctx.add(f"{prefix}json:{path}", f"{key}: {text}" if key else text)
        count += 1
        if count % 4096 == 0:
            ctx.check_time()


def extract_json(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    text = decode_text(data)
    try:
        value = json.loads(text)
    except RecursionError:
        raise Skipped("limit_exceeded", "JSON nested too deeply") from None
    except ValueError:
        if text.lstrip().startswith("{") and "\n{" in text:
            extract_ndjson(ctx, data, "ndjson", name)  # JSON Lines saved as .json
            return
        add_paragraphs(ctx, text)  # not JSON after all: keep the text
        return
    add_json(ctx, value)


def extract_ndjson(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    text = normalise_newlines(decode_text(data))
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            ctx.add(f"line:{line_no}", line, lines=True)
            continue
        add_json(ctx, value, prefix=f"line:{line_no}/")


def extract_yaml(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """YAML scalars at their line; invalid YAML falls back to plain-text paragraphs."""
    text = decode_text(data)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.compose_all(text, Loader=loader))
    except (yaml.YAMLError, RecursionError):
        add_paragraphs(ctx, text)
        return
    seen: set[int] = set()
    for root in documents:
        stack = [(root, None)]
        while stack:
            node, key = stack.pop()
            if node is None or id(node) in seen:
                continue  # an alias repeats a node already visited
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for k, v in reversed(node.value):
                    stack.append((v, k.value if isinstance(k, yaml.ScalarNode) else None))
                    if isinstance(k, yaml.ScalarNode):
                        stack.append((k, None))
            elif isinstance(node, yaml.SequenceNode):
                for item in reversed(node.value):
                    stack.append((item, key))
            elif isinstance(node, yaml.ScalarNode):
                value = node.value
                if value in ("", "~", "null", "true", "false"):
                    continue
                ctx.add(f"line:{node.start_mark.line + 1}", f"{key}: {value}" if key else value)


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
