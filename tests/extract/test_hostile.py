"""A hostile corpus, built here: bombs, deep nesting, huge member counts, encryption, damage,
entity expansion, bad encodings, empty and mislabelled files, path-traversal member names.
Each gives a skip record with the right reason or a safe partial extraction; memory is bounded
(tracemalloc), never a crash or a hang."""

import gzip
import io
import os
import struct
import tarfile
import tracemalloc
import zipfile
import zlib

import pytest

from vigil.extract import ExtractLimits, extract
from vigil.extract.context import Budget, Context
from vigil.extract.filetypes import default_file_types
from vigil.extract.pipeline import extract_member
from vigil.synth import documents

MIB = 1024 * 1024
BLOCKS = ["alice@example.com", "4111 1111 1111 1111", "line one\nline two"]


def reasons(result):
    return {s.reason for s in result.skips} | ({result.reason} if result.reason else set())


def peak_mib(fn):
    tracemalloc.start()
    try:
        value = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, peak / MIB


def zip_of(members, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def zeros_zip(name, size):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(name, "w") as member:
            chunk = bytes(MIB)
            for _ in range(size // MIB):
                member.write(chunk)
    return buf.getvalue()


# -- bombs --------------------------------------------------------------------------------------

def test_zip_bomb_high_ratio_is_refused_without_expanding():
    data = zeros_zip("zeros.bin.txt", 64 * MIB)
    assert len(data) < 128_000  # ~1000:1
    result, peak = peak_mib(lambda: extract(data, "bomb.zip"))
    assert [(s.locator, s.reason) for s in result.skips] == [("zeros.bin.txt", "limit_exceeded")]
    assert peak < 16, peak  # nothing was expanded


def test_zip_bomb_with_lying_headers_is_bounded_by_real_output():
    """Central directory and local header claim 1 MiB; the stream inflates to 64 MiB."""
    data = bytearray(zeros_zip("z.txt", 64 * MIB))
    real = struct.pack("<I", 64 * MIB)
    lie = struct.pack("<I", MIB)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    # ZipFile.open() writes the sizes into a data descriptor for streamed members: patch them all.
    for offset in (local + 22, central + 24):
        assert data[offset:offset + 4] in (real, b"\x00\x00\x00\x00")
        data[offset:offset + 4] = lie
    descriptor = data.find(b"PK\x07\x08")
    if descriptor >= 0:
        data[descriptor + 12:descriptor + 16] = lie
    result, peak = peak_mib(lambda: extract(bytes(data), "liar.zip"))
    assert result.status in ("extracted", "skipped")
    assert reasons(result) & {"limit_exceeded", "corrupt"}
    assert not result.segments or all(len(s.text) <= MIB for s in result.segments)
    assert peak < 48, peak


def test_gzip_bomb_is_caught_on_actual_output():
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", filename="log.txt", compresslevel=9) as gz:
        for _ in range(100):
            gz.write(bytes(MIB))
    result, peak = peak_mib(lambda: extract(buf.getvalue(), "log.txt.gz"))
    assert [(s.locator, s.reason) for s in result.skips] == [("log.txt", "limit_exceeded")] or \
        result.reason == "limit_exceeded"
    assert peak < 32, peak


def test_expanded_bytes_budget_stops_a_wide_archive():
    members = [(f"part{i}.txt", (b"%d routine line\n" % i) * 200_000) for i in range(6)]
    data = zip_of(members)
    limits = ExtractLimits(max_expanded_bytes=8 * MIB, max_ratio=1e6)
    result = extract(data, "wide.zip", limits=limits)
    assert result.status == "extracted"  # partial: the first members came out
    assert result.segments
    assert result.skips[-1].reason == "limit_exceeded"
    assert "decompressed" in result.skips[-1].detail


def test_self_containing_archive_is_detected():
    """A zip quine contains itself; the pipeline refuses a member equal to an enclosing archive."""
    data = zip_of([("a.txt", b"x")])
    budget = Budget(ExtractLimits(), default_file_types())
    import hashlib

    ctx = Context(budget, ancestors=(hashlib.sha256(data).digest(),))
    extract_member(ctx, "self.zip", data)
    assert [(s.locator, s.reason) for s in budget.skips] == [("self.zip", "limit_exceeded")]


# -- nesting and member counts ------------------------------------------------------------------

def test_twenty_deep_nesting_stops_at_max_depth():
    data = zip_of([("level20.txt", b"secret at level 20")])
    for level in range(19, 0, -1):
        data = zip_of([(f"level{level}.txt", f"secret at level {level}".encode()),
                       (f"l{level + 1}.zip", data)])
    result, peak = peak_mib(lambda: extract(data, "l1.zip"))
    texts = {s.text for s in result.segments}
    # Members of the top-level archive are at depth 1; the default opens 5 levels.
    assert {f"secret at level {n}" for n in range(1, 6)} <= texts
    assert "secret at level 6" not in texts
    assert [(s.locator, s.reason) for s in result.skips] == [
        ("l2.zip/l3.zip/l4.zip/l5.zip/l6.zip", "limit_exceeded")]
    shallow = extract(data, "l1.zip", limits=ExtractLimits(max_depth=2))
    assert [s.locator for s in shallow.skips] == ["l2.zip/l3.zip"]
    assert peak < 16


def test_ten_thousand_members_partial_with_limit():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(10_000):
            zf.writestr(f"m/{i:05d}.txt", f"member {i}\n")
    result, peak = peak_mib(lambda: extract(buf.getvalue(), "many.zip"))
    assert result.status == "extracted"
    assert result.segment_count == 5_000  # max_members default
    assert result.skips[-1].reason == "limit_exceeded"
    assert result.skips[-1].locator == "m/05000.txt"
    assert peak < 64, peak
    everything = extract(buf.getvalue(), "many.zip", limits=ExtractLimits(max_members=10_000))
    assert everything.segment_count == 10_000 and not everything.skips


def test_central_directory_declaring_millions_of_entries_is_not_parsed():
    """A ZIP64 end record claiming 10 million entries is refused before any parser builds one
    object per entry."""
    data = bytearray(zip_of([("a.txt", b"x")]))
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12:eocd + 20])
    zip64 = (b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 10_000_000,
                                          10_000_000, cd_size, cd_offset))
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, eocd, 1)
    data[eocd + 8:eocd + 12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    data[eocd:eocd] = zip64 + locator
    result, peak = peak_mib(lambda: extract(bytes(data), "lie.zip"))
    assert (result.status, result.reason) == ("skipped", "limit_exceeded")
    assert "10000000 entries" in result.detail
    nested = extract(zip_of([("inner.zip", bytes(data)), ("b.txt", b"fine")]), "outer.zip")
    assert ("inner.zip", "limit_exceeded") in [(s.locator, s.reason) for s in nested.skips]
    assert peak < 8


# -- encryption ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["7z", "pdf", "docx", "xlsx", "pptx"])
def test_encrypted_documents_are_skipped_as_encrypted(fmt):
    doc = documents.encrypted(fmt, BLOCKS)
    result = extract(doc.data, doc.filename)
    assert (result.status, result.reason) == ("skipped", "encrypted")
    assert not result.segments


def test_encrypted_zip_members_are_skip_records():
    doc = documents.encrypted("zip", BLOCKS)
    plain = documents.render("txt", ["visible@example.com"])
    outer = zip_of([("protected.zip", doc.data), ("open.txt", plain.data)])
    result = extract(outer, "outer.zip")
    assert ("protected.zip/notes.txt", "encrypted") in [(s.locator, s.reason) for s in result.skips]
    assert any("visible@example.com" in s.text for s in result.segments)


def test_encrypted_odf_is_skipped_as_encrypted():
    doc = documents.render("odt", ["x"])
    with zipfile.ZipFile(io.BytesIO(doc.data)) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml">'
                '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>'
                '</manifest:file-entry></manifest:manifest>').encode()
    members = [(n, manifest if n == "META-INF/manifest.xml" else b"\x93\x11garbage" if n == "content.xml" else d)
               for n, d in members]
    result = extract(zip_of(members, zipfile.ZIP_STORED), "secret.odt")
    assert (result.status, result.reason) == ("skipped", "encrypted")


# -- damage -------------------------------------------------------------------------------------

CONTAINERS = ["pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "zip", "7z", "gz", "bz2", "xz"]


@pytest.mark.parametrize("fmt", documents.FORMATS)
@pytest.mark.parametrize("mode", ["truncate", "garble"])
def test_damaged_files_never_crash(fmt, mode):
    doc = documents.corrupt(fmt, BLOCKS, mode=mode, seed=7)
    result = extract(doc.data, doc.filename)
    assert result.status in ("extracted", "skipped")
    if result.status == "skipped":
        assert result.reason in ("corrupt", "unsupported", "limit_exceeded")
    if fmt in CONTAINERS and mode == "truncate":
        # A container cut in half loses its index: the file or a member is reported corrupt.
        assert "corrupt" in reasons(result), (fmt, result)


def test_garbled_pdf_without_pages_is_corrupt():
    doc = documents.render("pdf", BLOCKS)
    result = extract(doc.data[:40] + bytes(len(doc.data) - 40), "zeroed.pdf")
    assert (result.status, result.reason) == ("skipped", "corrupt")


@pytest.mark.parametrize("name", ["x.msg", "x.doc", "x.xls", "x.ppt"])
def test_damaged_ole_files(name):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(3000)
    result = extract(data, name)
    assert (result.status, result.reason) in (("skipped", "corrupt"), ("skipped", "unsupported"))


# -- XML entity attacks -------------------------------------------------------------------------

BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"".join([b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"")] * 10))
                             for i in range(1, 10))
                  + b']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                  b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")


def test_billion_laughs_inside_docx():
    doc = documents.render("docx", BLOCKS)
    with zipfile.ZipFile(io.BytesIO(doc.data)) as zf:
        members = [(i.filename, BILLION_LAUGHS if i.filename == "word/document.xml" else zf.read(i))
                   for i in zf.infolist()]
    result, peak = peak_mib(lambda: extract(zip_of(members), "laughs.docx"))
    assert (result.status, result.reason) == ("skipped", "limit_exceeded")
    assert peak < 16


def test_billion_laughs_and_xxe_in_plain_xml():
    result = extract(BILLION_LAUGHS, "laughs.xml")
    assert (result.status, result.reason) == ("skipped", "limit_exceeded")
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<r>&x;</r>")
    result = extract(xxe, "xxe.xml")
    assert (result.status, result.reason) == ("skipped", "limit_exceeded")
    assert "root:" not in result.text()


def test_yaml_alias_bomb_is_bounded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    result, peak = peak_mib(lambda: extract("\n".join(lines).encode(), "bomb.yaml"))
    assert result.status == "extracted"
    assert result.segment_count < 100
    assert peak < 16


def test_deeply_nested_json_is_read_as_text_and_located_within_bounds():
    """Too deep for the JSON parser, not for the raw text: the value is still found, and its path
    stops growing at MAX_JSON_DEPTH (a path per level would be quadratic in memory)."""
    from vigil.extract.positions import MAX_JSON_DEPTH

    data = b"[" * 200_000 + b'"AKIAIOSFODNN7EXAMPLE"' + b"]" * 200_000
    result, peak = peak_mib(lambda: extract(data, "deep.json"))
    assert result.status == "extracted"
    [segment] = result.segments
    start = segment.text.index("AKIA")
    place, peak_place = peak_mib(lambda: segment.place(start, start + 20))
    assert place.locator == "json:$" + "[0]" * MAX_JSON_DEPTH
    assert (place.start, place.line, place.column) == (200_001, 1, 200_002)
    assert peak < 16 and peak_place < 64


# -- encodings, empty and mislabelled files -----------------------------------------------------

def test_invalid_utf8_keeps_the_readable_text():
    data = b"header\n\nkey = AKIAIOSFODNN7EXAMPLE\n\xff\xfe\xc3\x28 broken \x80\x81 bytes\nend\n"
    result = extract(data, "config.env")
    assert result.status == "extracted"
    assert "AKIAIOSFODNN7EXAMPLE" in result.text()


def test_legacy_encodings_are_detected():
    text = "Kundennummer für Müller: DE89 3704 0044 0532 0130 00, Straße Größe Übermaß\n" * 20
    result = extract(text.encode("cp1252"), "kunden.txt")
    assert "Müller" in result.text() and "DE89 3704 0044 0532 0130 00" in result.text()
    result = extract(text.encode("utf-16"), "kunden.txt")
    assert "Straße" in result.text()


@pytest.mark.parametrize("name,status,reason", [
    ("empty.txt", "extracted", None), ("empty.json", "extracted", None),
    ("empty.docx", "skipped", "corrupt"), ("empty.zip", "skipped", "corrupt"),
    ("empty.pdf", "skipped", "corrupt"),
])
def test_zero_byte_files(name, status, reason):
    result = extract(b"", name)
    assert (result.status, result.reason, result.segment_count) == (status, reason, 0)


def test_mislabelled_extensions_are_detected_by_content():
    pdf = documents.render("pdf", ["mislabelled@example.com"])
    result = extract(pdf.data, "notes.txt")
    assert result.detected_type == "pdf" and result.status == "extracted"
    assert result.type_mismatch and "pdf" in result.type_mismatch
    assert "mislabelled@example.com" in result.text()
    docx = documents.render("docx", ["in a docx"])
    result = extract(docx.data, "report.pdf")
    assert result.detected_type == "docx" and "in a docx" in result.text()
    result = extract(b"just text, not a spreadsheet\n", "sheet.xlsx")
    assert result.detected_type == "text" and result.type_mismatch
    assert "just text" in result.text()


def test_binary_junk_is_unsupported_or_excluded():
    elf = b"\x7fELF\x02\x01\x01" + bytes(200) + os.urandom(2000)
    assert extract(elf, "tool.txt").reason == "unsupported"
    assert extract(elf, "tool.exe").reason == "type_excluded"


def test_too_large_input_is_skipped_whatever_the_limits():
    data = b"".join(documents.oversized("txt", 26 * MIB))
    assert len(data) > 25 * MIB
    result = extract(data, "huge.log")
    assert (result.status, result.reason, result.segment_count) == ("skipped", "too_large", 0)
    with pytest.raises(ValueError):
        ExtractLimits(max_input_bytes=26 * MIB)
    small = ExtractLimits(max_input_bytes=MIB)
    assert extract(data[: 2 * MIB], "big.log", limits=small).reason == "too_large"


def test_oversized_member_inside_an_archive():
    chunks = b"".join(documents.oversized("txt", 3 * MIB))
    data = zip_of([("big.txt", chunks), ("small.txt", b"small secret")])
    result = extract(data, "a.zip", limits=ExtractLimits(max_input_bytes=MIB))
    assert ("big.txt", "too_large") in [(s.locator, s.reason) for s in result.skips]
    assert "small secret" in result.text()


# -- member names -------------------------------------------------------------------------------

def test_absolute_and_parent_member_names_never_touch_the_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    zdata = zip_of([("/etc/cron.d/evil.txt", b"absolute secret"),
                    ("../../escape.txt", b"parent secret"), ("..\\win.txt", b"backslash secret")])
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as tf:
        for name, payload in (("/abs.txt", b"tar absolute"), ("../up.txt", b"tar parent")):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("link.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    before = sorted(p for p in tmp_path.rglob("*"))
    zresult = extract(zdata, "names.zip")
    tresult = extract(tbuf.getvalue(), "names.tar")
    assert sorted(p for p in tmp_path.rglob("*")) == before
    zloc = {s.locator: s.text for s in zresult.segments}
    assert zloc["/etc/cron.d/evil.txt#line:1"] == "absolute secret"
    assert zloc["../../escape.txt#line:1"] == "parent secret"
    tloc = {s.locator: s.text for s in tresult.segments}
    assert tloc == {"/abs.txt#line:1": "tar absolute", "../up.txt#line:1": "tar parent"}


# -- time and output budgets --------------------------------------------------------------------

def test_time_budget_gives_timeout(monkeypatch):
    """A fake clock that advances one second per reading makes the budget run out mid-file."""
    import itertools
    import types

    from vigil.extract import context

    ticks = itertools.count()
    monkeypatch.setattr(context, "time", types.SimpleNamespace(monotonic=lambda: float(next(ticks))))
    data = _many_members(300)
    result = extract(data, "big.zip", limits=ExtractLimits(time_budget_s=50))
    assert result.status == "extracted"  # partial: what was read before the budget ran out
    assert 0 < result.segment_count < 100
    assert result.skips[-1].reason == "timeout" and result.skips[-1].locator.startswith("notes/")
    nothing = extract(data, "big.zip", limits=ExtractLimits(time_budget_s=0.5))
    assert (nothing.status, nothing.reason) == ("skipped", "timeout")


def _many_members(n):
    """A zip of ``n`` small text files (a text file is one segment, so segments come from members)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(n):
            zf.writestr(f"notes/{i}.txt", f"value {i}\n")
    return buf.getvalue()


def test_segment_cap_gives_partial_result():
    result = extract(_many_members(100), "s.zip", limits=ExtractLimits(max_segments=10))
    assert result.status == "extracted" and result.segment_count == 10
    assert result.skips[-1].reason == "limit_exceeded"


def test_7z_bomb_is_refused_before_decompression():
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}]) as archive:
        archive.writestr(bytes(48 * MIB), "zeros.txt")
        archive.writestr(b"small secret", "small.txt")
    assert len(buf.getvalue()) < 16_000
    extract(documents.render("7z", ["warm-up"]).data, "warm.7z")  # imports are not the bomb
    result, peak = peak_mib(lambda: extract(buf.getvalue(), "bomb.7z"))
    assert (result.status, result.reason) == ("skipped", "limit_exceeded")
    assert peak < 24, peak  # py7zr allocates a fixed 16 MiB read buffer when opening; 48 MiB never


def test_7z_traversal_member_names_are_skip_records(tmp_path, monkeypatch):
    """py7zr will not write such names, so safe ones are patched in the raw (unencoded) header."""
    import zlib

    import py7zr

    monkeypatch.chdir(tmp_path)
    names = {"xx/evil.txt": "../evil.txt", "zetc/abs.txt": "/etc/abs.txt"}
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        archive.set_encoded_header_mode(False)
        for safe in names:
            archive.writestr(b"hidden secret", safe)
        archive.writestr(b"visible secret", "fine.txt")
    raw = bytearray(buf.getvalue())
    offset, size = struct.unpack("<QQ", raw[12:28])
    start = 32 + offset
    header = bytes(raw[start:start + size])
    for safe, evil in names.items():
        header = header.replace(safe.encode("utf-16-le"), evil.encode("utf-16-le"))
    raw[start:start + size] = header
    raw[28:32] = struct.pack("<I", zlib.crc32(header))
    raw[8:12] = struct.pack("<I", zlib.crc32(bytes(raw[12:32])))
    result = extract(bytes(raw), "names.7z")
    assert [(s.locator, s.text) for s in result.segments] == [("fine.txt#line:1", "visible secret")]
    assert {(s.locator, s.reason) for s in result.skips} == {
        ("../evil.txt", "unsupported"), ("/etc/abs.txt", "unsupported")}
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "evil.txt").exists()


@pytest.mark.parametrize("payload", [
    b"<html>" + b"<a" * 500_000,                 # quadratic in the stdlib html.parser
    b"<html><div " + b"x=1 " * 300_000,
    b"<html><!--" + b"a" * 2_000_000,
    b"<html><script>" + b"a<" * 1_000_000,
    b"<html>" + b"<div>" * 300_000,
    b'<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b"<html><body>&b;&b;</body></html>",
], ids=["many-lt", "endless-attributes", "unclosed-comment", "unclosed-script", "deep", "entities"])
def test_hostile_html_is_parsed_linearly_without_entity_expansion(payload):
    result = extract(payload, "page.html")
    assert result.status == "extracted"
    assert "aaaaaaaaaa" not in result.text()  # DOCTYPE entities are not expanded
