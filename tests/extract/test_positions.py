"""Positions a person can use: for every format with a text form, ``Segment.place`` gives offsets
into the object's own text (the decoded file; for XML and HTML the decoded source), so
``text[start:end]`` is the planted value, and the 1-based line and column of ``start`` in it.
Table cells give offsets within the cell."""

import re

import pytest

from vigil.extract import extract
from vigil.extract.positions import MAX_JSON_DEPTH, cell_text
from vigil.extract.text import decode_text
from vigil.synth import documents

# Values every format stores as they are (no quotes, tabs, line breaks, &, < or > to escape).
VALUES = [
    "alice.nguyen@example.com",
    "4111 1111 1111 1111",
    "AKIAIOSFODNN7EXAMPLE",
    "Ünïcode café naïve façade",
    "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
]
# A multi-line block: its second line must get its own line number and column.
BLOCKS = VALUES + ["first line of a note\n  indented second line 078-05-1120"]

TEXT_FORMS = [f for f in documents.FORMATS
              if f in ("txt", "log", "md", "csv", "tsv", "json", "ndjson", "yaml", "xml", "html")
              or f in documents.CODE_FORMATS]


def line_column(text, offset):
    """Independent of vigil.extract.positions: count the lines by splitting."""
    before = text[:offset].split("\n")
    return len(before), len(before[-1]) + 1


def places(result, value):
    out = []
    for segment in result.segments:
        for match in re.finditer(re.escape(value), segment.text):
            out.append(segment.place(match.start(), match.end()))
    return out


@pytest.mark.parametrize("fmt", TEXT_FORMS)
def test_offsets_line_and_column_are_the_files(fmt):
    doc = documents.render(fmt, BLOCKS)
    result = extract(doc.data, doc.filename, doc.mime)
    source = decode_text(doc.data)
    checked = 0
    for value in VALUES + ["indented second line 078-05-1120"]:
        found = places(result, value)
        assert found, (fmt, value)
        for place in found:
            assert source[place.start:place.end] == value, (fmt, value, place)
            assert (place.line, place.column) == line_column(source, place.start), (fmt, value, place)
            checked += 1
    assert checked >= len(VALUES) + 1


@pytest.mark.parametrize("fmt", ["xml", "html"])
def test_markup_reports_the_source_line(fmt):
    doc = documents.render(fmt, ["header only", "x", "y", "AKIAIOSFODNN7EXAMPLE"])
    result = extract(doc.data, doc.filename)
    [place] = places(result, "AKIAIOSFODNN7EXAMPLE")
    source = doc.data.decode()
    assert place.line == source[:source.index("AKIAIOSFODNN7EXAMPLE")].count("\n") + 1 > 1
    assert place.locator == doc.locators[3]


def test_html_entities_map_back_to_the_source():
    html = b"<html><body>\n<p>Tom &amp; Jerry</p>\n<p>key AKIAIOSFODNN7EXAMPLE</p>\n</body></html>"
    result = extract(html, "p.html")
    [place] = places(result, "AKIAIOSFODNN7EXAMPLE")
    assert html.decode()[place.start:place.end] == "AKIAIOSFODNN7EXAMPLE"
    assert (place.line, place.column) == (3, 8)


def test_csv_locator_is_the_line_of_the_value_inside_a_multi_line_record():
    data = b'id,note,card\n1,"two\nlines",4111 1111 1111 1111\n2,x,5555 5555 5555 4444\n'
    result = extract(data, "cards.csv")
    [first] = places(result, "4111 1111 1111 1111")
    [second] = places(result, "5555 5555 5555 4444")
    assert (first.locator, first.line, first.column) == ("line:3", 3, 8)
    assert (second.locator, second.line, second.column) == ("line:4", 4, 5)
    assert data.decode()[first.start:first.end] == "4111 1111 1111 1111"


def test_crlf_and_bom_files_keep_offsets_into_the_decoded_text():
    data = "\ufeffname: x\r\nkey: AKIAIOSFODNN7EXAMPLE\r\n".encode("utf-8")
    result = extract(data, "c.yaml")
    [place] = places(result, "AKIAIOSFODNN7EXAMPLE")
    assert decode_text(data)[place.start:place.end] == "AKIAIOSFODNN7EXAMPLE"
    assert (place.locator, place.line, place.column) == ("line:2", 2, 6)


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_spreadsheet_cells_give_offsets_within_the_cell(fmt):
    doc = documents.render(fmt, ["prefix AKIAIOSFODNN7EXAMPLE", "x", "y"])
    result = extract(doc.data, doc.filename)
    [place] = places(result, cell_text("AKIAIOSFODNN7EXAMPLE"))
    assert place.locator == doc.locators[0]
    assert (place.start, place.end, place.line, place.column) == (7, 27, 1, 8)


def test_json_paths_stop_growing_at_the_depth_cap():
    data = b'{"a": ' * 300 + b'"AKIAIOSFODNN7EXAMPLE"' + b"}" * 300
    result = extract(data, "deep.json")
    [place] = places(result, "AKIAIOSFODNN7EXAMPLE")
    assert place.locator == "json:$" + ".a" * MAX_JSON_DEPTH
    assert data.decode()[place.start:place.end] == "AKIAIOSFODNN7EXAMPLE"
