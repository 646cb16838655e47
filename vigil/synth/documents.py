"""Synthetic documents of every format vigil extracts, with text planted at known locators.

``render(fmt, blocks)`` builds one file in memory and says, for each block, the locator at which
``vigil.extract.extract()`` returns a segment whose text contains that block (locator grammar:
docs/contracts.md). The simulator uses it to attach realistic files to chats and projects; the
extraction tests use it as their fixture generator, so no binary fixture is checked in.

Hostile variants for the simulator and the tests: ``encrypted`` (password-protected ZIP, 7z, PDF,
OOXML), ``corrupt`` (truncated or garbled bytes) and ``oversized`` (a generator of chunks that
never holds the whole file).

Block rules: no carriage returns or NUL characters; PDF blocks need Latin-1 text (or glyphs of
DejaVu Sans Mono when installed) and no tabs. Anything else -- quotes, commas, tabs, newlines,
blank lines, non-ASCII -- is escaped per format.

``locators[i]`` is where block ``i`` starts. In line-based formats extraction cuts text into
paragraphs at blank lines, so a block holding blank lines spans several segments; for planted
values use ``Rendered.locate(i, value)``, the exact locator of ``value`` inside block ``i`` -- the
same one ``Segment.locator_at`` gives for a finding on that value.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import os
import random
import re
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape as html_escape
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

__all__ = [
    "FORMATS",
    "CODE_FORMATS",
    "ENCRYPTABLE_FORMATS",
    "OVERSIZED_FORMATS",
    "Rendered",
    "render",
    "encrypted",
    "corrupt",
    "oversized",
    "join_locator",
]

CODE_FORMATS = ("py", "js", "ts", "go", "java", "rb", "sh", "c", "rs", "sql")

FORMATS = (
    "txt", "log", "md", "csv", "tsv", "json", "ndjson", "yaml", "xml", "html", "rtf", "pdf",
    "docx", "xlsx", "pptx", "odt", "ods", "odp", "eml", "ipynb",
    "zip", "tar", "tar.gz", "tgz", "tar.bz2", "tar.xz", "gz", "bz2", "xz", "7z",
) + CODE_FORMATS

ENCRYPTABLE_FORMATS = ("zip", "7z", "pdf", "docx", "xlsx", "pptx")
OVERSIZED_FORMATS = ("txt", "log", "csv", "ndjson", "zip", "gz")

MIME_TYPES = {
    "txt": "text/plain", "log": "text/plain", "md": "text/markdown", "csv": "text/csv",
    "tsv": "text/tab-separated-values", "json": "application/json",
    "ndjson": "application/x-ndjson", "yaml": "application/yaml", "xml": "application/xml",
    "html": "text/html", "rtf": "application/rtf", "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "eml": "message/rfc822", "ipynb": "application/x-ipynb+json", "zip": "application/zip",
    "tar": "application/x-tar", "tar.gz": "application/gzip", "tgz": "application/gzip",
    "tar.bz2": "application/x-bzip2", "tar.xz": "application/x-xz", "gz": "application/gzip",
    "bz2": "application/x-bzip2", "xz": "application/x-xz", "7z": "application/x-7z-compressed",
    "py": "text/x-python", "js": "text/javascript", "ts": "text/x-typescript",
    "go": "text/x-go", "java": "text/x-java", "rb": "text/x-ruby", "sh": "text/x-shellscript",
    "c": "text/x-c", "rs": "text/x-rust", "sql": "application/sql",
}


_LINE_TAIL = re.compile(r"(^|#|/)line:(\d+)$")
_PARAGRAPH_TAIL = re.compile(r"(^|#|/)paragraph:(\d+)$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
#: Formats whose extracted segments keep the file's line breaks (``line:N`` refines by line).
LINE_EXACT_FORMATS = frozenset({"txt", "log", "md", "csv", "tsv", *CODE_FORMATS})


@dataclass
class Rendered:
    """One generated file: its bytes, name, MIME type and where each planted block lands."""

    data: bytes
    filename: str
    mime: str
    locators: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list, repr=False)
    # Per block: "lines" (line:N counts lines; "lines+K": the block starts K lines below the
    # locator's line), "paragraphs" (RTF blank-line paragraphs) or "" (the locator is exact).
    refine: list[str] = field(default_factory=list, repr=False)

    def locate(self, index: int, value: str) -> str:
        """Exact locator of ``value`` (which must occur in block ``index``): the block's locator,
        moved down by the lines (or RTF paragraphs) that precede ``value`` inside the block."""
        block = self.blocks[index]
        pos = block.find(value)
        if pos < 0:
            raise ValueError(f"value does not occur in block {index}")
        locator = self.locators[index]
        kind = self.refine[index] if index < len(self.refine) else ""
        if kind.startswith("lines") and (match := _LINE_TAIL.search(locator)):
            # "lines+K": the block starts K lines below its segment's first line.
            offset = int(kind[6:] or 0)
            line = int(match.group(2)) + offset + block.count("\n", 0, pos)
            return locator[: match.start(2)] + str(line)
        if kind == "paragraphs" and (match := _PARAGRAPH_TAIL.search(locator)):
            parts = _BLANK_LINE.split(block[:pos])
            before = sum(1 for p in parts if p.strip())
            shift = before - 1 if parts[-1].strip() else before
            return locator[: match.start(2)] + str(int(match.group(2)) + max(0, shift))
        return locator


def join_locator(member: str, inner: str) -> str:
    """Locator of ``inner`` (a locator inside ``member``) as seen from the enclosing archive."""
    return f"{member}/{inner}" if "#" in inner else f"{member}#{inner}"


def render(fmt: str, blocks: list[str], filename: str | None = None) -> Rendered:
    """Build a ``fmt`` file holding every block; ``locators[i]`` is where ``blocks[i]`` lands.

    ``fmt`` is one of ``FORMATS``. Raises ``ValueError`` for an unknown format or a block the
    format cannot carry faithfully (see the module docstring).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown document format {fmt!r}; expected one of {', '.join(FORMATS)}")
    blocks = [str(b) for b in blocks]
    for b in blocks:
        if "\r" in b or "\x00" in b:
            raise ValueError("blocks must not contain carriage returns or NUL characters")
    name = filename or (f"notes.txt.{fmt}" if fmt in _SINGLE_STREAM else f"document.{fmt}")
    if fmt in _SINGLE_STREAM:
        out = _render_single_stream(fmt, blocks, name)
    elif fmt in CODE_FORMATS:
        out = _render_code(blocks, fmt)
    else:
        out = _RENDERERS[fmt](blocks)
    data, locators = out[0], out[1]
    if len(out) == 3:  # containers say, per block, how their member's locator refines
        refine = out[2]
    else:
        kind = "lines" if fmt in LINE_EXACT_FORMATS else "paragraphs" if fmt == "rtf" else ""
        refine = [kind] * len(blocks)
    return Rendered(data=data, filename=name, mime=MIME_TYPES[fmt], locators=locators,
                    blocks=blocks, refine=refine)


# -- text formats -------------------------------------------------------------------------------

def _line_paragraphs(header: list[str], blocks: list[str]) -> tuple[bytes, list[str]]:
    """Header lines, then each block as its own blank-line-separated paragraph."""
    lines = list(header) + [""]
    locators = []
    for b in blocks:
        locators.append(f"line:{len(lines) + 1}")
        lines.extend(b.split("\n"))
        lines.append("")
    return "\n".join(lines).encode("utf-8"), locators


def _render_txt(blocks):
    return _line_paragraphs(["Meeting notes", "Shared with the team, do not forward."], blocks)


def _render_log(blocks):
    return _line_paragraphs(["2026-01-05T10:00:00Z INFO service started"], blocks)


def _render_md(blocks):
    return _line_paragraphs(["# Runbook", "", "Steps recorded during the incident."], blocks)


_CODE_STYLE = {
    # (comment prefix, assignment template with a raw multi-line string literal)
    "py": ("#", 'value_{i} = """{b}"""'),
    "js": ("//", "const value{i} = `{b}`;"),
    "ts": ("//", "const value{i}: string = `{b}`;"),
    "go": ("//", "var value{i} = `{b}`"),
    "java": ("//", 'String value{i} = """\n{b}""";'),
    "rb": ("#", "VALUE_{i} = <<~'EOS'\n{b}\nEOS"),
    "sh": ("#", "VALUE_{i}=$(cat <<'EOS'\n{b}\nEOS\n)"),
    "c": ("//", "/* value {i}\n{b}\n*/"),
    "rs": ("//", 'const VALUE_{i}: &str = r#"{b}"#;'),
    "sql": ("--", "INSERT INTO notes VALUES ({i}, $${b}$$);"),
}


def _render_code(blocks, fmt):
    comment, template = _CODE_STYLE[fmt]
    lines = [f"{comment} generated configuration module", ""]
    locators, refine = [], []
    opener_lines = template.split("{b}")[0].count("\n")  # lines before the block starts
    for i, b in enumerate(blocks):
        snippet = template.format(i=i, b=b).split("\n")
        # The snippet opens a paragraph, so its first line is the segment's locator.
        locators.append(f"line:{len(lines) + 1}")
        refine.append(f"lines+{opener_lines}" if opener_lines else "lines")
        lines.extend(snippet)
        lines.append("")
    return "\n".join(lines).encode("utf-8"), locators, refine


def _render_delimited(blocks, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "owner", "note"])
    locators = []
    line = 2
    for i, b in enumerate(blocks):
        locators.append(f"line:{line}")
        start = buf.tell()
        writer.writerow([i + 1, f"user{i + 1}", b])
        line += buf.getvalue()[start:].count("\n")
    return buf.getvalue().encode("utf-8"), locators


def _render_csv(blocks):
    return _render_delimited(blocks, ",")


def _render_tsv(blocks):
    return _render_delimited(blocks, "\t")


def _render_json(blocks):
    doc = {"title": "export", "items": [{"id": i + 1, "note": b} for i, b in enumerate(blocks)]}
    locators = [f"json:$.items[{i}].note" for i in range(len(blocks))]
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"), locators


def _render_ndjson(blocks):
    lines = [json.dumps({"id": i + 1, "event": "note", "note": b}, ensure_ascii=False)
             for i, b in enumerate(blocks)]
    locators = [f"line:{i + 1}/json:$.note" for i in range(len(blocks))]
    return ("\n".join(lines) + "\n").encode("utf-8"), locators


def _render_yaml(blocks):
    lines = ["# service configuration", "service: billing", "notes:"]
    locators = []
    for b in blocks:
        locators.append(f"line:{len(lines) + 1}")
        # A JSON string is a valid YAML double-quoted scalar and keeps the block on one line.
        lines.append(f"  - {json.dumps(b, ensure_ascii=False)}")
    return ("\n".join(lines) + "\n").encode("utf-8"), locators


def _render_xml(blocks):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<records>"]
    for i, b in enumerate(blocks):
        parts.append(f'  <record id="{i + 1}"><note>{xml_escape(b)}</note></record>')
    parts.append("</records>")
    return ("\n".join(parts) + "\n").encode("utf-8"), ["text"] * len(blocks)


def _render_html(blocks):
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>Report</title>",
             "<style>p { color: #333 }</style></head><body>", "<h1>Quarterly report</h1>"]
    locators = []
    for i, b in enumerate(blocks):
        if i % 4 == 3:  # data-carrying attribute rather than visible text
            parts.append(f"<form><input type=\"hidden\" name=\"k{i}\" value={quoteattr(b)}></form>")
            locators.append("attr:value")
        else:
            parts.append(f"<p>{html_escape(b, quote=False)}</p>")
            locators.append("text")
    parts.append("</body></html>")
    return ("\n".join(parts) + "\n").encode("utf-8"), locators


def _rtf_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\line ")
        elif ch == "\t":
            out.append("\\tab ")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            for unit in _utf16_units(ch):
                out.append(f"\\u{unit if unit < 32768 else unit - 65536}?")
    return "".join(out)


def _utf16_units(ch: str) -> list[int]:
    raw = ch.encode("utf-16-le")
    return [int.from_bytes(raw[i:i + 2], "little") for i in range(0, len(raw), 2)]


def _render_rtf(blocks):
    parts = [r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}", r"\pard Quarterly report\par\par"]
    locators = []
    paragraph_no = 1
    for b in blocks:
        parts.append(r"\pard " + _rtf_escape(b) + r"\par\par")
        locators.append(f"paragraph:{paragraph_no + 1}")
        # Extraction numbers blank-line-separated blocks: one block may make several.
        paragraph_no += max(1, sum(1 for p in _BLANK_LINE.split(b) if p.strip()))
    parts.append("}")
    return "\n".join(parts).encode("ascii"), locators


def _render_ipynb(blocks):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n"]}]
    locators = []
    for i, b in enumerate(blocks):
        if i % 2 == 0:
            cells.append({"cell_type": "code", "execution_count": i + 1, "metadata": {},
                          "source": b.splitlines(keepends=True), "outputs": []})
        else:
            cells.append({"cell_type": "code", "execution_count": i + 1, "metadata": {},
                          "source": ["print(record)\n"],
                          "outputs": [{"output_type": "stream", "name": "stdout",
                                       "text": (b + "\n").splitlines(keepends=True)}]})
        locators.append(f"cell:{len(cells)}")
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                      "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8"), locators


# -- PDF ----------------------------------------------------------------------------------------

_UNICODE_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _render_pdf(blocks):
    from fpdf import FPDF

    if any("\t" in b for b in blocks):
        raise ValueError("PDF blocks must not contain tabs (PDF text has no tab character)")
    latin1 = all(_encodable(b, "latin-1") for b in blocks)
    if not latin1:
        missing = sorted({ch for b in blocks for ch in b if ch != "\n"} - _unicode_font_chars())
        if missing:
            raise ValueError(f"PDF font has no glyph for {''.join(missing[:10])!r}")
    longest = max([len(line) for b in blocks for line in b.split("\n")] + [40])
    font_size = 10 if longest <= 300 else max(2, int(3000 / longest))
    char_mm = 0.6 * font_size * 25.4 / 72  # monospace advance width
    width = min(5000.0, max(210.0, longest * char_mm * 1.05 + 30))
    pdf = FPDF(unit="mm", format=(width, 297))
    pdf.set_auto_page_break(False)
    pdf.set_compression(True)
    if latin1:
        pdf.set_font("Courier", size=font_size)
    else:
        pdf.add_font("DejaVuMono", fname=_UNICODE_FONT)
        pdf.set_font("DejaVuMono", size=font_size)
    pdf.add_page()
    pdf.cell(0, 8, "Quarterly report", new_x="LMARGIN", new_y="NEXT")
    locators = []
    line_h = font_size * 0.5
    for b in blocks:
        lines = b.split("\n")
        if pdf.get_y() + line_h * (len(lines) + 1) > 297 - 15:
            pdf.add_page()
        for line in lines:
            pdf.cell(0, line_h, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(line_h)
        locators.append(f"page:{pdf.page_no()}")
    return bytes(pdf.output()), locators


_FONT_CHARS: set[str] | None = None


def _unicode_font_chars() -> set[str]:
    """Characters DejaVu Sans Mono can draw (empty when the font is not installed)."""
    global _FONT_CHARS
    if _FONT_CHARS is None:
        _FONT_CHARS = set()
        if os.path.exists(_UNICODE_FONT):
            from fontTools.ttLib import TTFont

            _FONT_CHARS = {chr(c) for c in TTFont(_UNICODE_FONT).getBestCmap()}
    return _FONT_CHARS


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# -- OOXML --------------------------------------------------------------------------------------

def _render_docx(blocks):
    import docx

    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    locators = []
    table_blocks = [(i, b) for i, b in enumerate(blocks) if i % 4 == 3]
    paragraph_no = 1
    for i, b in enumerate(blocks):
        if i % 4 == 3:
            continue
        document.add_paragraph(b)
        paragraph_no += 1
        locators.append((i, f"paragraph:{paragraph_no}"))
    if table_blocks:
        table = document.add_table(rows=len(table_blocks) + 1, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "id", "note"
        for row, (i, b) in enumerate(table_blocks, start=1):
            table.cell(row, 0).text = str(i + 1)
            table.cell(row, 1).text = b
            locators.append((i, f"table:1/row:{row + 1}/col:2"))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), [loc for _, loc in sorted(locators)]


def _render_xlsx(blocks):
    import openpyxl

    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "Customer Data"
    second = wb.create_sheet("Notes")
    for ws in (first, second):
        ws.append(["id", "owner", "note"])
    locators = []
    rows = {first.title: 1, second.title: 1}
    for i, b in enumerate(blocks):
        ws = first if i % 3 != 2 else second
        ws.append([i + 1, f"user{i + 1}", b])
        rows[ws.title] += 1
        locators.append(f"sheet:{ws.title}!C{rows[ws.title]}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), locators


def _render_pptx(blocks):
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    title_slide = prs.slides.add_slide(prs.slide_layouts[0])
    title_slide.shapes.title.text = "Quarterly review"
    locators = []
    slide = None
    for i, b in enumerate(blocks):
        if i % 3 == 2 and slide is not None:
            slide.notes_slide.notes_text_frame.text = b
            locators.append(f"slide:{len(prs.slides)}/notes")
            continue
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = f"Item {i + 1}"
        box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(5))
        box.text_frame.text = b
        locators.append(f"slide:{len(prs.slides)}")
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue(), locators


# -- OpenDocument -------------------------------------------------------------------------------

def _odf_save(doc) -> bytes:
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def _render_odt(blocks):
    from odf import teletype
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Quarterly report"))
    locators = {}
    paragraph_no = 1
    table_blocks = [(i, b) for i, b in enumerate(blocks) if i % 4 == 3]
    for i, b in enumerate(blocks):
        if i % 4 == 3:
            continue
        p = P()
        teletype.addTextToElement(p, b)
        doc.text.addElement(p)
        paragraph_no += 1
        locators[i] = f"paragraph:{paragraph_no}"
    if table_blocks:
        table = Table(name="Records")
        table.addElement(TableColumn(numbercolumnsrepeated=2))
        for row, (i, b) in enumerate(table_blocks, start=1):
            tr = TableRow()
            for value in (str(i + 1), b):
                cell = TableCell()
                p = P()
                teletype.addTextToElement(p, value)
                cell.addElement(p)
                tr.addElement(cell)
            table.addElement(tr)
            locators[i] = f"table:1/row:{row}/col:2"
        doc.text.addElement(table)
    return _odf_save(doc), [locators[i] for i in range(len(blocks))]


def _render_ods(blocks):
    from odf import teletype
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Records")
    header = TableRow()
    for value in ("id", "owner", "note"):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=value))
        header.addElement(cell)
    table.addElement(header)
    locators = []
    for i, b in enumerate(blocks):
        tr = TableRow()
        for value in (str(i + 1), f"user{i + 1}", b):
            cell = TableCell(valuetype="string")
            p = P()
            teletype.addTextToElement(p, value)
            cell.addElement(p)
            tr.addElement(cell)
        table.addElement(tr)
        locators.append(f"sheet:Records!C{i + 2}")
    doc.spreadsheet.addElement(table)
    return _odf_save(doc), locators


def _render_odp(blocks):
    from odf import teletype
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout, PageLayoutProperties
    from odf.text import P

    doc = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    layout.addElement(PageLayoutProperties(pagewidth="28cm", pageheight="21cm"))
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)

    def text_frame(parent, text):
        frame = Frame(width="24cm", height="15cm", x="2cm", y="3cm")
        box = TextBox()
        p = P()
        teletype.addTextToElement(p, text)
        box.addElement(p)
        frame.addElement(box)
        parent.addElement(frame)

    locators = []
    page = None
    slides = 0
    for i, b in enumerate(blocks):
        if i % 3 == 2 and page is not None:
            notes = Notes()
            text_frame(notes, b)
            page.addElement(notes)
            locators.append(f"slide:{slides}/notes")
            continue
        page = Page(masterpagename=master, name=f"slide{slides + 1}")
        text_frame(page, b)
        doc.presentation.addElement(page)
        slides += 1
        locators.append(f"slide:{slides}")
    return _odf_save(doc), locators


# -- e-mail -------------------------------------------------------------------------------------

def _render_eml(blocks):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Dana Reyes <dana.reyes@example.com>"
    msg["To"] = "ops@example.com"
    msg["Subject"] = "Quarterly export"
    msg["Date"] = "Mon, 05 Jan 2026 10:00:00 +0000"
    body_blocks = [b for i, b in enumerate(blocks) if i % 3 != 2]
    attached = [b for i, b in enumerate(blocks) if i % 3 == 2]
    msg.set_content("Hi team,\n\n" + "\n\n".join(body_blocks) + "\n\nThanks\n", cte="8bit"
                    if all(_encodable(b, "ascii") for b in body_blocks) else "quoted-printable")
    locators = {}
    for i in range(len(blocks)):
        if i % 3 != 2:
            locators[i] = "body"
    if attached:
        sheet = _render_csv(attached)
        msg.add_attachment(sheet[0], maintype="text", subtype="csv", filename="records.csv")
        for k, i in enumerate(i for i in range(len(blocks)) if i % 3 == 2):
            locators[i] = join_locator("attachments/records.csv", sheet[1][k])
    refine = ["lines" if i % 3 == 2 else "" for i in range(len(blocks))]
    return msg.as_bytes(), [locators[i] for i in range(len(blocks))], refine


# -- archives -----------------------------------------------------------------------------------

def _split(blocks: list[str], parts: int) -> list[list[int]]:
    groups: list[list[int]] = [[] for _ in range(parts)]
    for i in range(len(blocks)):
        groups[i % parts].append(i)
    return groups


def _members(blocks: list[str], kinds: list[tuple[str, str]]):
    """Render ``blocks`` spread over members ``(name, fmt)``: member bytes, locators, refine."""
    groups = _split(blocks, len(kinds))
    members = [("README.txt", b"Archive generated for review.\n")]
    locators: dict[int, str] = {}
    refine: dict[int, str] = {}
    for (name, fmt), idx in zip(kinds, groups):
        if not idx:
            continue
        doc = render(fmt, [blocks[i] for i in idx], filename=name)
        members.append((name, doc.data))
        for i, loc, kind in zip(idx, doc.locators, doc.refine):
            locators[i] = join_locator(name, loc)
            refine[i] = kind
    order = range(len(blocks))
    return members, [locators[i] for i in order], [refine[i] for i in order]


def _zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_bytes(members: list[tuple[str, bytes]], compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}" if compression else "w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1767607200
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _render_zip(blocks):
    members, locators, refine = _members(blocks, [("notes.txt", "txt"), ("data/records.json", "json"),
                                                  ("report.docx", "docx"), ("inner.tar.gz", "tar.gz")])
    return _zip_bytes(members), locators, refine


def _tar_renderer(compression):
    def _render(blocks):
        members, locators, refine = _members(blocks, [("config.env", "txt"), ("data.json", "json"),
                                                      ("records.csv", "csv")])
        return _tar_bytes(members, compression), locators, refine
    return _render


_SINGLE_STREAM = ("gz", "bz2", "xz")


def _render_single_stream(fmt: str, blocks: list[str], filename: str):
    """A text file compressed alone; the member is named like the file minus its suffix (what
    the extractor does: the gzip header name, else the filename without ``.gz``)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    member = base[: -len(fmt) - 1] if base.lower().endswith("." + fmt) and len(base) > len(fmt) + 1 \
        else base + ".out"
    data, locators = _render_txt(blocks)
    if fmt == "gz":
        buf = io.BytesIO()
        with gzip.GzipFile(filename=member, mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        packed = buf.getvalue()
    else:
        packed = bz2.compress(data) if fmt == "bz2" else lzma.compress(data)
    return packed, [join_locator(member, loc) for loc in locators], ["lines"] * len(blocks)


def _render_7z(blocks, password: str | None = None):
    import py7zr

    members, locators, refine = _members(blocks, [("notes.txt", "txt"), ("records.csv", "csv")])
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": 1}]
    if password:
        filters.append({"id": py7zr.FILTER_CRYPTO_AES256_SHA256})
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password, header_encryption=bool(password),
                            filters=filters) as sz:
        for name, data in members:
            sz.writestr(data, name)
    return buf.getvalue(), locators, refine


_RENDERERS = {
    "txt": _render_txt, "log": _render_log, "md": _render_md, "csv": _render_csv,
    "tsv": _render_tsv, "json": _render_json, "ndjson": _render_ndjson, "yaml": _render_yaml,
    "xml": _render_xml, "html": _render_html, "rtf": _render_rtf, "pdf": _render_pdf,
    "docx": _render_docx, "xlsx": _render_xlsx, "pptx": _render_pptx, "odt": _render_odt,
    "ods": _render_ods, "odp": _render_odp, "eml": _render_eml, "ipynb": _render_ipynb,
    "zip": _render_zip, "tar": _tar_renderer(""), "tar.gz": _tar_renderer("gz"),
    "tgz": _tar_renderer("gz"), "tar.bz2": _tar_renderer("bz2"), "tar.xz": _tar_renderer("xz"),
    "7z": _render_7z,
}


# -- hostile variants ---------------------------------------------------------------------------

def encrypted(fmt: str, blocks: list[str], password: str = "correct horse",
              filename: str | None = None) -> Rendered:
    """A password-protected ``fmt`` file (one of ``ENCRYPTABLE_FORMATS``) holding ``blocks``.

    ZIP uses WinZip AES (pyzipper), 7z AES with encrypted headers (py7zr), PDF AES-256 with a user
    password (pypdf), OOXML the ECMA-376 agile encryption (msoffcrypto-tool). Nothing in it can be
    extracted without the password, so ``locators`` is empty.
    """
    name = filename or f"protected.{fmt}"
    if fmt == "zip":
        import pyzipper

        buf = io.BytesIO()
        with pyzipper.AESZipFile(buf, "w", compression=pyzipper.ZIP_DEFLATED,
                                 encryption=pyzipper.WZ_AES) as zf:
            zf.setpassword(password.encode())
            zf.writestr("notes.txt", render("txt", blocks).data)
        data = buf.getvalue()
    elif fmt == "7z":
        data = _render_7z(blocks, password=password)[0]
    elif fmt == "pdf":
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(render("pdf", blocks).data)))
        writer.encrypt(user_password=password, owner_password=password + "-owner",
                       algorithm="AES-256")
        buf = io.BytesIO()
        writer.write(buf)
        data = buf.getvalue()
    elif fmt in ("docx", "xlsx", "pptx"):
        from msoffcrypto.format.ooxml import OOXMLFile

        plain = render(fmt, blocks).data
        buf = io.BytesIO()
        OOXMLFile(io.BytesIO(plain)).encrypt(password, buf)
        data = buf.getvalue()
    else:
        raise ValueError(f"cannot encrypt {fmt!r}; expected one of {', '.join(ENCRYPTABLE_FORMATS)}")
    return Rendered(data=data, filename=name, mime=MIME_TYPES[fmt], locators=[])


def corrupt(fmt: str, blocks: list[str], mode: str = "truncate", seed: int = 0,
            filename: str | None = None) -> Rendered:
    """A broken ``fmt`` file: ``truncate`` keeps the first half of the bytes, ``garble``
    overwrites the middle third with random bytes. ``locators`` is empty: what survives is
    format-dependent (a text file keeps its first half, a ZIP-based file usually nothing)."""
    good = render(fmt, blocks, filename=filename)
    data = good.data
    if mode == "truncate":
        data = data[: len(data) // 2]
    elif mode == "garble":
        rng = random.Random(seed)
        third = len(data) // 3
        data = data[:third] + rng.randbytes(third) + data[2 * third:]
    else:
        raise ValueError("mode must be 'truncate' or 'garble'")
    return Rendered(data=data, filename=good.filename, mime=good.mime, locators=[])


def oversized(fmt: str, size_bytes: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Yield the chunks of a ``fmt`` file of at least ``size_bytes`` bytes, never holding it whole.

    ``fmt`` is one of ``OVERSIZED_FORMATS``; ``zip`` and ``gz`` wrap a text stream (stored and
    gzip-compressed respectively), so their size is the size on disk.
    """
    if fmt not in OVERSIZED_FORMATS:
        raise ValueError(f"cannot stream {fmt!r}; expected one of {', '.join(OVERSIZED_FORMATS)}")
    if fmt in ("txt", "log", "csv", "ndjson"):
        yield from _text_stream(fmt, size_bytes, chunk_bytes)
        return
    sink = _ChunkSink()
    if fmt == "zip":
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:
            with zf.open("big.log", "w", force_zip64=True) as member:
                for chunk in _text_stream("log", size_bytes, chunk_bytes):
                    member.write(chunk)
                    yield from sink.drain()
        yield from sink.drain()
    else:  # gz: random-looking lines so compressed size grows with the target
        rng = random.Random(size_bytes)
        with gzip.GzipFile(filename="big.log", mode="wb", fileobj=sink, mtime=0) as gz:
            while sink.total < size_bytes:
                gz.write(rng.randbytes(chunk_bytes // 2).hex().encode() + b"\n")
                yield from sink.drain()
        yield from sink.drain()


def _text_stream(fmt: str, size_bytes: int, chunk_bytes: int) -> Iterator[bytes]:
    emitted = 0
    line_no = 0
    if fmt == "csv":
        header = b"id,owner,note\n"
        emitted += len(header)
        yield header
    while emitted < size_bytes:
        lines = []
        size = 0
        while size < chunk_bytes:
            line_no += 1
            if fmt == "csv":
                line = f"{line_no},user{line_no % 97},routine entry number {line_no}\n"
            elif fmt == "ndjson":
                line = f'{{"id": {line_no}, "msg": "routine entry {line_no}"}}\n'
            else:
                line = f"2026-01-05T10:00:00Z INFO request {line_no} served in 12ms\n"
            lines.append(line)
            size += len(line)
        chunk = "".join(lines).encode()
        emitted += len(chunk)
        yield chunk


class _ChunkSink(io.RawIOBase):
    """Write-only, unseekable stream whose written bytes are handed out by ``drain``."""

    def __init__(self):
        self._parts: list[bytes] = []
        self.total = 0

    def writable(self):
        return True

    def write(self, b):
        self._parts.append(bytes(b))
        self.total += len(b)
        return len(b)

    def drain(self) -> Iterator[bytes]:
        parts, self._parts = self._parts, []
        if parts:
            yield b"".join(parts)
