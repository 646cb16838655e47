"""OpenDocument text, spreadsheets and presentations (ODT, ODS, ODP).

``content.xml`` is streamed through ``defusedxml`` (see ``containers``) instead of odfpy, which
parses with ``xml.sax`` into a full DOM without entity guards; the streaming walk keeps memory
bounded and entity expansion off. Password-protected packages are recognised from the manifest's
``encryption-data`` and skipped as ``encrypted``.

Locators: ODT ``paragraph:N`` (text:p / text:h outside tables, document order, 1-based) and
``table:T/row:R/col:C``; ODS ``sheet:NAME!A1`` per cell; ODP ``slide:N`` and ``slide:N/notes``.
Tables and sheets are one segment each, rows as lines and cells separated by tabs (see
``vigil.extract.ooxml``).
"""

from __future__ import annotations

from vigil.extract.containers import iterparse_part, open_zip, parse_small_part
from vigil.extract.context import Context, Skipped
from vigil.extract.positions import TableBuilder

MAX_REPEAT = 64
"""A cell repeated with ``number-columns-repeated`` is written at most this many times."""

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
PRESENTATION = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
MANIFEST = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"


def element_text(elem) -> str:
    """Text of an ODF element, expanding ``text:s`` (spaces), ``text:tab`` and line breaks."""
    parts = [elem.text or ""]
    for child in elem:
        tag = child.tag
        if tag == TEXT + "s":
            parts.append(" " * int(child.get(TEXT + "c", "1") or 1))
        elif tag == TEXT + "tab":
            parts.append("\t")
        elif tag == TEXT + "line-break":
            parts.append("\n")
        elif tag in (TEXT + "p", TEXT + "h"):
            parts.append("\n" + element_text(child))
        else:
            parts.append(element_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _check_not_encrypted(zf, ctx: Context) -> None:
    manifest = parse_small_part(zf, "META-INF/manifest.xml", ctx)
    if manifest is not None and next(manifest.iter(MANIFEST + "encryption-data"), None) is not None:
        raise Skipped("encrypted", "OpenDocument package is password-protected")


def extract_odt(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with open_zip(data, "ODT") as zf:
        _check_not_encrypted(zf, ctx)
        paragraph_no = table_no = row = col = 0
        table_depth = 0
        cell: list[str] = []
        cells: list[tuple[str, str]] = []
        table: TableBuilder | None = None
        for event, elem in iterparse_part(zf, "content.xml", ctx):
            tag = elem.tag
            if event == "start":
                if tag == TABLE + "table":
                    table_depth += 1
                    if table_depth == 1:
                        table_no += 1
                        row = 0
                        table = TableBuilder()
                elif tag == TABLE + "table-row" and table_depth == 1:
                    row += 1
                    col = 0
                    cells = []
                elif tag in (TABLE + "table-cell", TABLE + "covered-table-cell") and table_depth == 1:
                    col += 1
                    cell = []
                continue
            if tag in (TEXT + "p", TEXT + "h"):
                if table_depth == 0:
                    paragraph_no += 1
                    ctx.add(f"paragraph:{paragraph_no}", element_text(elem))
                else:
                    cell.append(element_text(elem))
                elem.clear()
            elif tag in (TABLE + "table-cell", TABLE + "covered-table-cell") and table_depth == 1:
                cells.append(("\n".join(cell), ctx.locator(f"table:{table_no}/row:{row}/col:{col}")))
                repeat = int(elem.get(TABLE + "number-columns-repeated", "1") or 1)
                for _ in range(min(repeat, MAX_REPEAT) - 1):
                    cells.append(("", ""))
                col += repeat - 1
                elem.clear()
            elif tag == TABLE + "table-row" and table_depth == 1:
                if table is not None:
                    table.add_row(_trim_row(cells))
                row += int(elem.get(TABLE + "number-rows-repeated", "1") or 1) - 1
                elem.clear()
            elif tag == TABLE + "table":
                table_depth -= 1
                if table_depth == 0 and table is not None:
                    text, positions = table.build()
                    ctx.add(f"table:{table_no}/row:1/col:1", text, positions=positions)
                    table = None


def _trim_row(cells: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop the trailing empty cells of a row."""
    end = len(cells)
    while end and not cells[end - 1][0].strip():
        end -= 1
    return cells[:end]


def extract_odp(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with open_zip(data, "ODP") as zf:
        _check_not_encrypted(zf, ctx)
        slide_no = 0
        for event, elem in iterparse_part(zf, "content.xml", ctx, events=("end",)):
            if elem.tag != DRAW + "page":
                continue
            slide_no += 1
            slide_parts, note_parts = [], []
            for child in elem:
                target = note_parts if child.tag == PRESENTATION + "notes" else slide_parts
                for p in child.iter():
                    if p.tag in (TEXT + "p", TEXT + "h"):
                        target.append(element_text(p))
            ctx.add(f"slide:{slide_no}", "\n".join(slide_parts))
            ctx.add(f"slide:{slide_no}/notes", "\n".join(note_parts))
            elem.clear()


def extract_ods(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """ODS sheets, one table segment each, located ``sheet:NAME!A1`` per cell. Streamed here
    rather than read by calamine, which drops line breaks and tabs inside ODS cells."""
    from vigil.extract.ooxml import column_letters

    with open_zip(data, "ODS") as zf:
        _check_not_encrypted(zf, ctx)
        sheet = ""
        row = col = 0
        table_depth = 0
        cells: list[tuple[str, str]] = []
        table: TableBuilder | None = None
        blank_run = False
        for event, elem in iterparse_part(zf, "content.xml", ctx):
            tag = elem.tag
            if event == "start":
                if tag == TABLE + "table":
                    table_depth += 1
                    if table_depth == 1:
                        sheet = elem.get(TABLE + "name", "")
                        row = 0
                        table = TableBuilder()
                        blank_run = False
                elif tag == TABLE + "table-row" and table_depth == 1:
                    row += 1
                    col = 0
                    cells = []
                elif tag in (TABLE + "table-cell", TABLE + "covered-table-cell") and table_depth == 1:
                    col += 1
                continue
            if tag in (TABLE + "table-cell", TABLE + "covered-table-cell") and table_depth == 1:
                paragraphs = [element_text(p) for p in elem if p.tag in (TEXT + "p", TEXT + "h")]
                value = "\n".join(paragraphs)
                if not value.strip():
                    value = elem.get(OFFICE + "value") or elem.get(OFFICE + "date-value") or ""
                repeat = int(elem.get(TABLE + "number-columns-repeated", "1") or 1)
                for k in range(min(repeat, MAX_REPEAT)):
                    cells.append((value, ctx.locator(f"sheet:{sheet}!{column_letters(col - 1 + k)}{row}")))
                col += repeat - 1
                elem.clear()
            elif tag == TABLE + "table-row" and table_depth == 1:
                trimmed = _trim_row(cells)
                if trimmed or not blank_run:  # a run of empty rows is one empty line
                    if table is not None:
                        table.add_row(trimmed)
                blank_run = not trimmed
                row += int(elem.get(TABLE + "number-rows-repeated", "1") or 1) - 1
                elem.clear()
            elif tag == TABLE + "table":
                table_depth -= 1
                if table_depth == 0 and table is not None:
                    text, positions = table.build()
                    ctx.add(f"sheet:{sheet}!A1", text, positions=positions)
                    table = None
                elem.clear()
