"""The file-type list (data file, loader, per-call override), limit validation, OCR gating."""

import os
import stat

import pytest

from vigil.extract import ExtractLimits, default_file_types, extract, load_file_types
from vigil.extract import image
from vigil.synth import documents

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def test_default_list_is_data_with_about_87_extensions():
    types = default_file_types()
    assert len(types.extensions) == 87
    for ext in ("pdf", "docx", "xlsx", "pptx", "zip", "7z", "tar", "gz", "eml", "msg", "ipynb",
                "py", "csv", "json", "png"):
        assert ext in types.extensions
    assert types.format_of["jsonl"] == "ndjson" and types.format_of["tgz"] == "gz"


def test_loader_validates(tmp_path):
    good = tmp_path / "types.yaml"
    good.write_text("formats:\n  pdf: [pdf]\n  text: [txt, LOG]\n")
    assert load_file_types(good).extensions == {"pdf", "txt", "log"}
    for body, message in [
        ("formats:\n  pdf: [pdf]\n  text: [pdf]\n", "both"),
        ("formats:\n  pdfx: [pdf]\n", "unknown format"),
        ("formats:\n  text: ['bad ext']\n", "invalid extension"),
        ("formats:\n  text: []\n", "non-empty"),
        ("- just a list\n", "mapping"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(body)
        with pytest.raises(ValueError, match=message):
            load_file_types(bad)


def test_per_call_file_types():
    pdf = documents.render("pdf", ["x@example.com"])
    assert extract(pdf.data, "a.pdf", file_types=["txt"]).reason == "type_excluded"
    assert extract(pdf.data, "a.pdf", file_types=[".PDF"]).status == "extracted"
    # Signature formats are judged by content: a PDF named .txt is still a PDF.
    assert extract(pdf.data, "a.txt", file_types=["txt"]).reason == "type_excluded"
    assert extract(b"print(1)\n", "a.py", file_types=["txt"]).reason == "type_excluded"
    assert extract(b"print(1)\n", "Makefile", file_types=["txt"]).status == "extracted"
    with pytest.raises(ValueError, match="unknown extension"):
        extract(b"x", "a.txt", file_types=["nope"])
    with pytest.raises(ValueError, match="list of extensions"):
        extract(b"x", "a.txt", file_types="txt")


def test_excluded_archive_members_are_skip_records():
    doc = documents.render("zip", ["a@example.com", "b", "c", "d"])
    result = extract(doc.data, "bundle.zip", file_types=["zip", "txt"])
    skipped = {s.locator: s.reason for s in result.skips}
    assert skipped["report.docx"] == "type_excluded"
    assert skipped["data/records.json"] == "type_excluded"
    assert skipped["inner.tar.gz"] == "type_excluded"
    assert any(s.locator.startswith("notes.txt#") for s in result.segments)


@pytest.mark.parametrize("field,value", [
    ("max_input_bytes", 0), ("max_input_bytes", 25 * 1024 * 1024 + 1), ("max_depth", -1),
    ("max_members", 0), ("max_ratio", 1), ("time_budget_s", 0), ("max_segments", 0),
    ("max_depth", 2.5), ("max_depth", True),
])
def test_limits_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        ExtractLimits(**{field: value})


def test_limit_defaults():
    limits = ExtractLimits()
    assert limits.max_input_bytes == 25 * 1024 * 1024
    assert limits.max_depth == 5
    assert limits.max_members == 5_000


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="bytes"):
        extract("text", "a.txt")
    with pytest.raises(TypeError, match="ExtractLimits"):
        extract(b"x", "a.txt", limits={"max_depth": 1})


def test_images_without_tesseract_are_ocr_unavailable(monkeypatch):
    monkeypatch.setattr(image, "tesseract_path", lambda: None)
    result = extract(PNG, "scan.png")
    assert (result.status, result.reason, result.detected_type) == ("skipped", "ocr_unavailable", "png")


def test_images_go_through_tesseract_when_installed(tmp_path, monkeypatch):
    fake = tmp_path / "tesseract"
    fake.write_text("#!/bin/sh\n[ \"$1\" = stdin ] && [ \"$2\" = stdout ] || exit 2\n"
                    "head -c 8 | od -An -c | grep -q P || exit 3\necho 'SSN 123-45-6789'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    result = extract(PNG, "scan.png")
    assert result.status == "extracted"
    assert [(s.locator, s.text.strip()) for s in result.segments] == [("text", "SSN 123-45-6789")]
