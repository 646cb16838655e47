"""Office Open XML (DOCX, PPTX, XLSX) and legacy Excel (XLS).

- DOCX and PPTX: their XML parts are streamed through ``defusedxml`` (see ``containers``) rather
  than python-docx/python-pptx, which build a full lxml tree of each part: streaming keeps memory
  bounded for a 25 MB document and keeps entity expansion off (a billion-laughs part is refused).
- XLSX and XLS: python-calamine (Rust ``calamine``), the fastest maintained spreadsheet reader
  for Python, one library for both formats; it returns cached cell values. XLSX parts are first
  decompressed once through the metered reader, since calamine trusts the container's sizes.
  (ODS is streamed in ``odf``: calamine drops line breaks and tabs inside ODS cells.)

Locators: DOCX ``paragraph:N`` (every paragraph outside tables, in document order, 1-based) and
``table:T/row:R/col:C`` (top-level tables; nested tables are folded into their cell), plus
``part:header1``, ``part:footer1``, ``part:footnotes``, ``part:endnotes``, ``part:comments``;
PPTX ``slide:N`` and ``slide:N/notes``; spreadsheets ``sheet:NAME!A1`` per cell.

Tables (DOCX tables, every sheet) are one segment each: rows as lines, cells separated by tabs,
so the detection engine reads a column's header as context for every cell below it; each
match is located at its cell (``vigil.extract.positions.Cells``).
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re

import python_calamine

from vigil.extract.containers import iterparse_part, open_zip, parse_small_part, verify_parts
from vigil.extract.context import Context, Skipped
from vigil.extract.positions import TableBuilder

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DOCX_EXTRA_PART = re.compile(r"^word/(header\d*|footer\d*|footnotes|endnotes|comments)\.xml$")


# -- DOCX ---------------------------------------------------------------------------------------

def _docx_paragraph_text(p) -> str:
    parts = []
    for el in p.iter():
        tag = el.tag
        if tag == W + "t" or tag == W + "delText":
            parts.append(el.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
    return "".join(parts)


def extract_docx(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with open_zip(data, "DOCX") as zf:
        _docx_body(ctx, zf)
        for part in sorted(n for n in zf.namelist() if _DOCX_EXTRA_PART.match(n)):
            texts = [_docx_paragraph_text(elem) for event, elem in
                     iterparse_part(zf, part, ctx, events=("end",)) if elem.tag == W + "p"]
            ctx.add(f"part:{_DOCX_EXTRA_PART.match(part).group(1)}", "\n".join(texts))


def _docx_body(ctx: Context, zf) -> None:
    paragraph_no = table_no = row = col = 0
    table_depth = 0
    cell: list[str] = []
    cells: list[tuple[str, str]] = []
    table: TableBuilder | None = None
    depth = 0
    body = None
    body_depth = -1
    for event, elem in iterparse_part(zf, "word/document.xml", ctx):
        tag = elem.tag
        if event == "start":
            depth += 1
            if tag == W + "body":
                body, body_depth = elem, depth
            elif tag == W + "tbl":
                table_depth += 1
                if table_depth == 1:
                    table_no += 1
                    row = 0
                    table = TableBuilder()
            elif tag == W + "tr" and table_depth == 1:
                row += 1
                col = 0
                cells = []
            elif tag == W + "tc" and table_depth == 1:
                col += 1
                cell = []
            continue
        depth -= 1
        if tag == W + "p":
            text = _docx_paragraph_text(elem)
            if table_depth == 0:
                paragraph_no += 1
                ctx.add(f"paragraph:{paragraph_no}", text)
            else:
                cell.append(text)
        elif tag == W + "tc" and table_depth == 1:
            cells.append(("\n".join(cell), ctx.locator(f"table:{table_no}/row:{row}/col:{col}")))
        elif tag == W + "tr" and table_depth == 1 and table is not None:
            table.add_row(cells)
        elif tag == W + "tbl":
            table_depth -= 1
            if table_depth == 0 and table is not None:
                text, positions = table.build()
                ctx.add(f"table:{table_no}/row:1/col:1", text, positions=positions)
                table = None
        if body is not None and depth == body_depth:
            body.clear()  # a top-level block is done: drop it


# -- PPTX ---------------------------------------------------------------------------------------

def _rels(zf, part: str, ctx: Context) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, resolved part name) for ``part``."""
    folder, base = posixpath.split(part)
    root = parse_small_part(zf, posixpath.join(folder, "_rels", base + ".rels"), ctx)
    rels = {}
    if root is None:
        return rels
    for rel in root.iter(PKG_REL):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        resolved = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(folder, target))
        rels[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return rels


def _drawing_text(zf, part: str, ctx: Context) -> str:
    paragraphs = []
    for event, elem in iterparse_part(zf, part, ctx, events=("end",)):
        if elem.tag == A + "p":
            parts = []
            for el in elem.iter():
                if el.tag == A + "t":
                    parts.append(el.text or "")
                elif el.tag == A + "br":
                    parts.append("\n")
            paragraphs.append("".join(parts))
            elem.clear()
    return "\n".join(paragraphs)


def extract_pptx(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with open_zip(data, "PPTX") as zf:
        presentation = parse_small_part(zf, "ppt/presentation.xml", ctx)
        if presentation is None:
            raise Skipped("corrupt", "PPTX without ppt/presentation.xml")
        rels = _rels(zf, "ppt/presentation.xml", ctx)
        slide_ids = [el.get(R_ID) for el in presentation.iter(P + "sldId")]
        for number, rel_id in enumerate(slide_ids, start=1):
            ctx.check_time()
            if rel_id not in rels or rels[rel_id][1] not in zf.NameToInfo:
                ctx.skip(ctx.locator(f"slide:{number}"), "corrupt", "slide part missing")
                continue
            slide_part = rels[rel_id][1]
            ctx.add(f"slide:{number}", _drawing_text(zf, slide_part, ctx))
            for rel_type, target in _rels(zf, slide_part, ctx).values():
                if rel_type.endswith("/notesSlide") and target in zf.NameToInfo:
                    ctx.add(f"slide:{number}/notes", _drawing_text(zf, target, ctx))


# -- spreadsheets (XLSX, XLS) --------------------------------------------------------------

def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell_text(value) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e17 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def extract_spreadsheet(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    if fmt == "xlsx":
        with open_zip(data, fmt.upper()) as zf:
            verify_parts(zf, ctx)
    try:
        workbook = python_calamine.CalamineWorkbook.from_object(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise Skipped("encrypted", "spreadsheet needs a password") from None
    except Exception as exc:  # calamine raises CalamineError/XmlError/ZipError and plain errors
        raise Skipped("corrupt", f"{fmt}: {type(exc).__name__}: {exc}") from None
    try:
        for sheet_name in workbook.sheet_names:
            ctx.check_time()
            try:
                sheet = workbook.get_sheet_by_name(sheet_name)
            except Exception as exc:  # chart sheets and damaged sheets
                ctx.skip(ctx.locator(f"sheet:{sheet_name}"), "unsupported", str(exc)[:200])
                continue
            first_row, first_col = sheet.start or (0, 0)
            table = TableBuilder()
            for r, values in enumerate(sheet.iter_rows(), start=first_row + 1):
                table.add_row([(_cell_text(value), ctx.locator(f"sheet:{sheet_name}!{column_letters(c)}{r}"))
                               for c, value in enumerate(values, start=first_col)])
                if r % 4096 == 0:
                    ctx.check_time()
            text, positions = table.build()
            ctx.add(f"sheet:{sheet_name}!A1", text, positions=positions)
    finally:
        workbook.close()
