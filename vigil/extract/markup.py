"""XML and HTML.

XML is read with ``defusedxml.sax`` (expat underneath, streaming, no tree kept): DTD entity
declarations and external references are refused, so entity-expansion bombs and XXE cannot
run; such a document is skipped as ``limit_exceeded``. HTML is read with lxml's libxml2 HTML
parser in streaming "target" mode (no tree kept): C speed, linear on hostile markup (the stdlib
``html.parser`` goes quadratic on inputs such as a megabyte of ``<a<a<a``), recovering from
broken markup, no network access, and no expansion of entities declared in a DOCTYPE.

Locators: ``text`` for the document's text (HTML: visible text plus inline scripts; styles are
dropped), ``attr:NAME`` for attribute values (XML: every attribute; HTML: attributes that carry
data -- href, src, value, title, alt, content, placeholder, action, label and data-*). Each
piece of text is anchored to where it occurs in the decoded source (``SourceAnchors``), so a
match gets its source offsets, line and column. HTML table rows become lines with tab-separated
cells, so the engine reads each column's header as context.
"""

from __future__ import annotations

import xml.sax

import defusedxml.sax
from defusedxml import DefusedXmlException
from lxml import etree

from vigil.extract.context import Context, Skipped
from vigil.extract.positions import SourceAnchors
from vigil.extract.text import decode_text

HTML_DATA_ATTRIBUTES = frozenset({"href", "src", "value", "title", "alt", "content",
                                  "placeholder", "action", "label", "aria-label", "cite"})
_HTML_BREAKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                          "section", "article", "pre", "blockquote", "table", "title", "thead",
                          "tbody", "caption"})
_CELLS = frozenset({"td", "th"})


class _Collector:
    """Text and attribute values in document order, with their anchors in the source."""

    def __init__(self, source: str) -> None:
        self.text: list[str] = []
        self.size = 0
        self.anchors = SourceAnchors(source)
        self.attrs: dict[str, list[str]] = {}
        self.attr_sizes: dict[str, int] = {}
        self.attr_anchors: dict[str, SourceAnchors] = {}

    def append(self, piece: str, anchored: bool = True) -> None:
        if anchored:
            self.anchors.add(self.size, piece)
        self.text.append(piece)
        self.size += len(piece)

    def attribute(self, name: str, value: str) -> None:
        if value and not value.isspace():
            values = self.attrs.setdefault(name, [])
            size = self.attr_sizes.get(name, 0)
            if values:
                size += 1  # the joining newline
            anchors = self.attr_anchors.setdefault(name, SourceAnchors(self.anchors.source))
            anchors.cursor = max(anchors.cursor, self.anchors.cursor - _ATTR_LOOKBACK)
            anchors.add(size, value)
            values.append(value)
            self.attr_sizes[name] = size + len(value)

    def emit(self, ctx: Context) -> None:
        text = "".join(self.text)
        lead = len(text) - len(text.lstrip("\n"))
        positions = self.anchors.positions()
        if lead:  # the text is stripped of leading newlines: shift the anchors with it
            positions.text_offsets = [t - lead for t in positions.text_offsets]
        ctx.add("text", text.strip("\n"), positions=positions)
        for name, values in self.attrs.items():
            ctx.add(f"attr:{name}", "\n".join(values), positions=self.attr_anchors[name].positions())


_ATTR_LOOKBACK = 4096
"""How far before the current text position an attribute value is looked up in the source (an
element's attributes precede its text)."""


class _SaxHandler(xml.sax.ContentHandler):
    def __init__(self, collector: _Collector, ctx: Context):
        super().__init__()
        self.c = collector
        self.ctx = ctx
        self.events = 0

    def startElement(self, name, attrs):
        for key, value in attrs.items():
            self.c.attribute(key.rsplit(":", 1)[-1], value)
        self._tick()

    def endElement(self, name):
        if self.c.text and not self.c.text[-1].endswith(("\n", " ")):
            self.c.append("\n", anchored=False)
        self._tick()

    def characters(self, content):
        self.c.append(content)

    def _tick(self):
        self.events += 1
        if self.events % 8192 == 0:
            self.ctx.check_time()


def extract_xml(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    try:
        source = decode_text(data)
    except Skipped:
        source = data.decode("utf-8", errors="replace")
    collector = _Collector(source)
    parser = defusedxml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, False)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setContentHandler(_SaxHandler(collector, ctx))
    try:
        for start in range(0, len(data), 1 << 20):
            parser.feed(data[start:start + (1 << 20)])
        parser.close()
    except DefusedXmlException as exc:
        raise Skipped("limit_exceeded", f"XML entities/DTD refused ({type(exc).__name__})") from None
    except xml.sax.SAXException as exc:
        collector.emit(ctx)  # keep the text read before the error
        raise Skipped("corrupt", f"XML: {exc}") from None
    collector.emit(ctx)


class _HtmlTarget:
    """lxml parser target: collects visible text, inline scripts and data attributes. Table rows
    become lines, their cells are separated by tabs (breaks inside a cell become spaces)."""

    def __init__(self, collector: _Collector):
        self.c = collector
        self.skip_depth = 0
        self.cell_depth = 0
        self.table_depth = 0
        self.row_cells = 0

    def start(self, tag, attrib):
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "style":
            self.skip_depth += 1
        if tag == "table":
            self.table_depth += 1
        if tag in _CELLS:
            if self.row_cells:
                self.c.append("\t", anchored=False)
            self.row_cells += 1
            self.cell_depth += 1
        elif tag == "tr":
            self._newline()
            self.row_cells = 0
        elif tag in _HTML_BREAKS:
            self._newline()
        for key, value in attrib.items():
            key = key.lower()
            if value and (key in HTML_DATA_ATTRIBUTES or key.startswith("data-")):
                self.c.attribute(key, value)

    def end(self, tag):
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "style" and self.skip_depth:
            self.skip_depth -= 1
        if tag == "table" and self.table_depth:
            self.table_depth -= 1
        if tag in _CELLS and self.cell_depth:
            self.cell_depth -= 1
        elif tag == "tr":
            self._newline()
            self.row_cells = 0
        elif tag in _HTML_BREAKS:
            self._newline()

    def data(self, data):
        if self.table_depth and not self.cell_depth and data.isspace():
            return  # layout whitespace between rows and cells
        if not self.skip_depth:
            if self.cell_depth:
                data = data.replace("\r", " ").replace("\n", " ").replace("\t", " ")
            self.c.append(data)

    def comment(self, text):
        pass

    def close(self):
        return None

    def _newline(self):
        if self.cell_depth:
            if self.c.text and not self.c.text[-1].endswith((" ", "\t")):
                self.c.append(" ", anchored=False)
        elif self.c.text and not self.c.text[-1].endswith("\n"):
            self.c.append("\n", anchored=False)


def extract_html(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    text = decode_text(data).replace("\x00", "")
    collector = _Collector(text)
    parser = etree.HTMLParser(target=_HtmlTarget(collector), no_network=True, recover=True,
                              remove_comments=True, remove_pis=True)
    try:
        for start in range(0, len(text), 1 << 20):
            parser.feed(text[start:start + (1 << 20)])
            ctx.check_time()
        parser.close()
    except (etree.LxmlError, ValueError) as exc:
        if not collector.text and not collector.attrs:
            raise Skipped("corrupt", f"HTML: {exc}") from None
    collector.emit(ctx)
