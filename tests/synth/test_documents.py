"""The documents builder: every format renders, hostile variants behave, locators are exact."""

import io
import tracemalloc
import zipfile

import pytest

from vigil.extract import extract
from vigil.synth import documents

VALUES = ["dana.reyes@example.com", "4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE",
          "123-45-6789", "GB82WEST12345698765432"]
# Work-like blocks: values on later lines, blank lines inside a block.
BLOCKS = [
    f"Customer: Dana Reyes\nEmail: {VALUES[0]}\nCard on file: {VALUES[1]}",
    f"Here is the env file:\n\n[default]\naws_access_key_id = {VALUES[2]}\n\nThanks",
    f"SSN {VALUES[3]} on the first line",
    f"Vendor Globex\n\n\nIBAN: {VALUES[4]}",
]
PLANTS = [(0, VALUES[0]), (0, VALUES[1]), (1, VALUES[2]), (2, VALUES[3]), (3, VALUES[4])]


@pytest.mark.parametrize("fmt", documents.FORMATS)
def test_locate_matches_the_locator_a_finding_gets(fmt):
    """What the simulator plants (``locate``) is what a scan reports (``locator_at``)."""
    doc = documents.render(fmt, BLOCKS)
    result = extract(doc.data, doc.filename, doc.mime)
    assert result.status == "extracted"
    for index, value in PLANTS:
        expected = doc.locate(index, value)
        found = {s.locator_at(s.text.index(value)) for s in result.segments if value in s.text}
        assert expected in found, (fmt, value, expected, found)


def test_locate_rejects_values_not_in_the_block():
    doc = documents.render("txt", BLOCKS)
    with pytest.raises(ValueError):
        doc.locate(0, "not there")


def test_render_rejects_unknown_formats_and_bad_blocks():
    with pytest.raises(ValueError, match="unknown document format"):
        documents.render("wpd", ["x"])
    with pytest.raises(ValueError, match="carriage returns"):
        documents.render("txt", ["a\r\nb"])
    with pytest.raises(ValueError, match="tabs"):
        documents.render("pdf", ["a\tb"])


def test_rendered_metadata():
    for fmt in documents.FORMATS:
        doc = documents.render(fmt, ["x@example.com", "y"])
        assert doc.mime == documents.MIME_TYPES[fmt]
        assert len(doc.locators) == 2 and doc.data
    assert documents.render("gz", ["a"], filename="app.log.gz").locators == ["app.log#line:4"]
    assert documents.render("docx", ["a"], filename="q3.docx").filename == "q3.docx"


@pytest.mark.parametrize("fmt", documents.ENCRYPTABLE_FORMATS)
def test_encrypted_variants_hide_the_text(fmt):
    doc = documents.encrypted(fmt, ["PLAINTEXT-MARKER-42"])
    assert b"PLAINTEXT-MARKER-42" not in doc.data and doc.locators == []
    plain = documents.render(fmt, ["PLAINTEXT-MARKER-42"])
    assert doc.data != plain.data


def test_encrypted_zip_opens_with_the_password():
    import pyzipper

    doc = documents.encrypted("zip", ["secret-text"], password="pw")
    with pyzipper.AESZipFile(io.BytesIO(doc.data)) as zf:
        zf.setpassword(b"pw")
        assert b"secret-text" in zf.read("notes.txt")
    with pytest.raises(ValueError):
        documents.encrypted("csv", ["x"])


def test_corrupt_variants():
    doc = documents.render("docx", ["a"])
    truncated = documents.corrupt("docx", ["a"], mode="truncate")
    assert len(truncated.data) == len(doc.data) // 2
    garbled = documents.corrupt("docx", ["a"], mode="garble", seed=3)
    assert len(garbled.data) == len(doc.data) and garbled.data != doc.data
    txt = documents.render("txt", ["a"]).data
    assert documents.corrupt("txt", ["a"], mode="garble", seed=3).data == \
        documents.corrupt("txt", ["a"], mode="garble", seed=3).data != txt  # seeded
    with pytest.raises(ValueError):
        documents.corrupt("docx", ["a"], mode="shred")


@pytest.mark.parametrize("fmt", documents.OVERSIZED_FORMATS)
def test_oversized_streams_without_holding_the_file(fmt):
    size = 8 * 1024 * 1024
    tracemalloc.start()
    total = 0
    largest = 0
    for chunk in documents.oversized(fmt, size, chunk_bytes=256 * 1024):
        total += len(chunk)
        largest = max(largest, len(chunk))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total >= size
    assert largest < 2 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, peak  # far below the 8 MiB produced


def test_oversized_zip_is_a_valid_archive():
    data = b"".join(documents.oversized("zip", 3 * 1024 * 1024))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["big.log"]
        assert zf.getinfo("big.log").file_size >= 3 * 1024 * 1024 - 1024 * 1024
    with pytest.raises(ValueError):
        next(documents.oversized("pdf", 10))
