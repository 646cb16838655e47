"""XML and HTML.

XML is read with ``defusedxml.sax`` (expat underneath, streaming, no tree kept): DTD entity
declarations and external references are refused, so entity-expansion bombs and XXE cannot
run; such a document is skipped as ``limit_exceeded``. HTML is read with lxml's libxml2 HTML
parser in streaming "target" mode (no tree kept): C speed, linear on hostile markup (the stdlib
``html.parser`` goes quadratic on inputs such as a megabyte of ``<a<a<a``), recovering from
broken markup, no network access, and no expansion of entities declared in a DOCTYPE.

Locators: ``text`` for the document's text (HTML: visible text plus inline scripts; styles are
dropped), ``attr:NAME`` for attribute values (XML: every attribute; HTML: attributes that carry
data -- href, src, value, title, alt, content, placeholder, action, label and data-*).
"""

from __future__ import annotations

import xml.sax

import defusedxml.sax
from defusedxml import DefusedXmlException
from lxml import etree

from vigil.extract.context import Context, Skipped
from vigil.extract.text import decode_text

HTML_DATA_ATTRIBUTES = frozenset({"href", "src", "value", "title", "alt", "content",
                                  "placeholder", "action", "label", "aria-label", "cite"})
_HTML_BREAKS = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4",
                          "h5", "h6", "section", "article", "pre", "blockquote", "table", "title"})


class _Collector:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.attrs: dict[str, list[str]] = {}

    def attribute(self, name: str, value: str) -> None:
        if value and not value.isspace():
            self.attrs.setdefault(name, []).append(value)

    def emit(self, ctx: Context) -> None:
        ctx.add("text", "".join(self.text).strip("\n"))
        for name, values in self.attrs.items():
            ctx.add(f"attr:{name}", "\n".join(values))


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
            self.c.text.append("\n")
        self._tick()

    def characters(self, content):
        self.c.text.append(content)

    def _tick(self):
        self.events += 1
        if self.events % 8192 == 0:
            self.ctx.check_time()


def extract_xml(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    collector = _Collector()
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
    """lxml parser target: collects visible text, inline scripts and data attributes."""

    def __init__(self, collector: _Collector):
        self.c = collector
        self.skip_depth = 0

    def start(self, tag, attrib):
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "style":
            self.skip_depth += 1
        if tag in _HTML_BREAKS:
            self._newline()
        for key, value in attrib.items():
            key = key.lower()
            if value and (key in HTML_DATA_ATTRIBUTES or key.startswith("data-")):
                self.c.attribute(key, value)

    def end(self, tag):
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "style" and self.skip_depth:
            self.skip_depth -= 1
        if tag in _HTML_BREAKS:
            self._newline()

    def data(self, data):
        if not self.skip_depth:
            self.c.text.append(data)

    def comment(self, text):
        pass

    def close(self):
        return None

    def _newline(self):
        if self.c.text and not self.c.text[-1].endswith("\n"):
            self.c.text.append("\n")


def extract_html(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    collector = _Collector()
    parser = etree.HTMLParser(target=_HtmlTarget(collector), no_network=True, recover=True,
                              remove_comments=True, remove_pis=True)
    text = decode_text(data).replace("\x00", "")
    try:
        for start in range(0, len(text), 1 << 20):
            parser.feed(text[start:start + (1 << 20)])
            ctx.check_time()
        parser.close()
    except (etree.LxmlError, ValueError) as exc:
        if not collector.text and not collector.attrs:
            raise Skipped("corrupt", f"HTML: {exc}") from None
    collector.emit(ctx)
