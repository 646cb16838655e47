"""vigil/detect/tlds.py: the shipped copy of IANA's TLD list is exactly what a refresh writes, and
a refresh takes IANA's list and nothing else."""

from __future__ import annotations

import pytest

from vigil.detect import tlds


def iana_text(version: str, names: list[str]) -> str:
    """A list in IANA's own format (its header line, then one TLD per line)."""
    return f"# Version {version}, Last Updated Mon Jan  4 07:07:01 2027 UTC\n" + "\n".join(names) + "\n"


@pytest.fixture
def shipped() -> tlds.TldList:
    return tlds.parse(tlds.TLDS_FILE.read_text(encoding="ascii"))


def test_the_shipped_list_is_what_a_refresh_writes(shipped):
    assert len(shipped.version) == 10 and len(shipped.tlds) > 1400
    assert {"COM", "KIWI", "XN--P1AI"} <= set(shipped.tlds)
    assert tlds.render(shipped) == tlds.TLDS_FILE.read_text(encoding="ascii")


def test_a_refresh_replaces_the_list_and_says_what_changed(tmp_path, shipped, capsys):
    target = tmp_path / "tlds.txt"
    target.write_text(tlds.render(shipped), encoding="ascii")
    newer = [t for t in shipped.tlds if t != "AARP"] + ["ZZNEWTLD"]
    source = tmp_path / "iana.txt"
    source.write_text(iana_text("2027010400", newer), encoding="ascii")
    assert tlds.main(["--from", str(source), "--file", str(target)]) == 0
    written = tlds.parse(target.read_text(encoding="ascii"))
    assert written.version == "2027010400" and written.tlds == tuple(newer)
    assert target.read_text(encoding="ascii").startswith(tlds.HEADER)
    out = capsys.readouterr().out
    assert "2026051600 -> 2027010400" in out and "added ['ZZNEWTLD'], removed ['AARP']" in out


@pytest.mark.parametrize("text,reason", [
    ("<html><body>Service unavailable</body></html>\n", "version line"),
    (iana_text("2027010400", ["COM", "ORG", "NET", "UK", "DE"]), "not IANA's list"),
    (iana_text("2027010400", ["COM", "ORG"] * 600), "not IANA's list"),
    (iana_text("2027010400", ["COM", "ORG", "NET", "UK", "DE", "BAD TLD"] + ["A" * 3] * 1000), "no TLD"),
])
def test_anything_but_ianas_list_is_refused_and_the_file_kept(tmp_path, shipped, capsys, text, reason):
    target = tmp_path / "tlds.txt"
    target.write_text(tlds.render(shipped), encoding="ascii")
    source = tmp_path / "page.txt"
    source.write_text(text, encoding="ascii")
    assert tlds.main(["--from", str(source), "--file", str(target)]) == 1
    assert reason in capsys.readouterr().err
    assert target.read_text(encoding="ascii") == tlds.render(shipped)
