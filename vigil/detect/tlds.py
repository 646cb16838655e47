"""``tlds.txt``, the copy of IANA's list of top-level domains that the e-mail validator reads
(an address needs a delegated TLD): reading it, and refreshing it.

    .venv/bin/python -m vigil.detect.tlds [--from FILE]

downloads https://data.iana.org/TLD/tlds-alpha-by-domain.txt (or reads ``FILE``, a copy of it),
checks that it is that list, writes it under ``tlds.txt``'s own header and prints which TLDs came
and went. The list changes a few times a year (new gTLDs delegated, some retired); refresh it
before a release. Nothing else in vigil goes to the network for it.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

IANA_URL = "https://data.iana.org/TLD/tlds-alpha-by-domain.txt"
TLDS_FILE = Path(__file__).with_name("tlds.txt")
HEADER = (
    "# Top-level domains of the DNS root zone, the list IANA publishes at\n"
    f"# {IANA_URL} (read by the e-mail validator: an address\n"
    "# needs a real TLD). Copied as published; its first line below says which version.\n"
)
_VERSION = re.compile(r"^# Version (\d{10}), Last Updated .+$")
_TLD = re.compile(r"^(?:[A-Z]{2,63}|XN--[A-Z0-9-]{1,59})$")
_MUST_HOLD = ("COM", "ORG", "NET", "UK", "DE")


class TldListError(ValueError):
    """The text is not IANA's list of top-level domains."""


@dataclass(frozen=True)
class TldList:
    """IANA's list: its version (``YYYYMMDDNN``), its version line and its TLDs in order."""

    version: str
    version_line: str
    tlds: tuple[str, ...]


def parse(text: str) -> TldList:
    """IANA's ``tlds-alpha-by-domain.txt`` (``tlds.txt`` too: its own header lines are skipped);
    raises ``TldListError`` unless it has a version line, at least 1,000 well-formed TLDs and the
    ones every version has."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    versions = [m for m in map(_VERSION.match, lines) if m]
    if len(versions) != 1:
        raise TldListError("no IANA version line ('# Version YYYYMMDDNN, Last Updated …')")
    tlds = tuple(line for line in lines if not line.startswith("#"))
    bad = [t for t in tlds if not _TLD.match(t)]
    if bad:
        raise TldListError(f"{len(bad)} lines are no TLD, e.g. {bad[0][:40]!r}")
    if len(tlds) < 1000 or len(set(tlds)) != len(tlds) or not set(_MUST_HOLD) <= set(tlds):
        raise TldListError(f"{len(tlds)} TLDs (duplicates or a known one missing): not IANA's list")
    return TldList(versions[0].group(1), versions[0].group(0), tlds)


@lru_cache(maxsize=1)
def top_level_domains() -> frozenset[str]:
    """The DNS root zone's top-level domains in lower case (``tlds.txt``), as the e-mail
    validator reads them."""
    return frozenset(t.lower() for t in parse(TLDS_FILE.read_text(encoding="ascii")).tlds)


def render(tlds: TldList) -> str:
    """``tlds.txt``'s text for ``tlds``."""
    return HEADER + tlds.version_line + "\n" + "\n".join(tlds.tlds) + "\n"


def update(text: str, path: Path = TLDS_FILE) -> tuple[TldList, TldList, set[str], set[str]]:
    """Replace ``path`` with the list in ``text``: (old, new, added, removed)."""
    old = parse(path.read_text(encoding="ascii"))
    new = parse(text)
    path.write_text(render(new), encoding="ascii")
    return old, new, set(new.tlds) - set(old.tlds), set(old.tlds) - set(new.tlds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="a downloaded copy of IANA's list")
    parser.add_argument("--file", type=Path, default=TLDS_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.source is not None:
        text = args.source.read_text(encoding="ascii")
    else:
        import httpx

        response = httpx.get(IANA_URL, timeout=30, follow_redirects=True)
        response.raise_for_status()
        text = response.text
    try:
        old, new, added, removed = update(text, args.file)
    except TldListError as exc:
        print(f"not updated: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file.name}: version {old.version} -> {new.version}, {len(new.tlds)} TLDs; "
          f"added {sorted(added) or 'none'}, removed {sorted(removed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
