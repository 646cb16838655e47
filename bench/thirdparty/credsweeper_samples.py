"""Samsung CredSweeper's test samples as labelled credential data.

CredSweeper (https://github.com/Samsung/CredSweeper, MIT) keeps a directory of sample files
written by its authors (``tests/samples``: source code, configs, shell history, patches, notes,
one or more credentials per file, some files of look-alikes that must give nothing) and, in
``tests/data/output.json``, what its default scan must report there: rule, file, line and the
value's offsets in the line. This module reads both from a git clone (bare or not; it never runs
CredSweeper), keeps the sample files that are text (UTF-8, no NUL), places every expected value
as character offsets into its file, and writes them to ``data/credsweeper_samples.json`` with
the commit::

    python -m bench.thirdparty.credsweeper_samples --git-dir CREDSWEEPER.git [--commit REV] [--out FILE]

Labels are CredSweeper's: its rules, its filters and its ML model decided what is a credential,
and its authors accepted that as the test's expectation. Rules that report no secret (a UUID, an
S3 bucket name, a Firebase domain, an app ID, a nonce or salt) are marked in
``data/credsweeper_rules.yaml`` and not scored as expected credentials. The files CredSweeper's
authors wrote as negatives (names ending ``_n``, ``false_positive``) are kept whole: a finding
there is false. The samples are CredSweeper's, unmodified (``data/credsweeper_samples.NOTICE``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

REPO_URL = "https://github.com/Samsung/CredSweeper"
SAMPLES_DIR = "tests/samples"
EXPECTED_FILE = "tests/data/output.json"
HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "credsweeper_samples.json"
RULES = HERE / "data" / "credsweeper_rules.yaml"


@dataclass
class Expected:
    """One value CredSweeper's default scan reports: ``spans`` are ``[start, end]`` character
    offsets into the file's text (a private key or a paired ID and secret has several lines, each
    one span); ``scored`` is False for a rule that reports no secret."""

    file: str
    rule: str
    lines: list[int]
    spans: list[list[int]]
    scored: bool


@dataclass
class Sample:
    """A text sample with the values expected in it; ``negative`` for a file of look-alikes."""

    name: str
    text: str
    negative: bool
    expected: list[Expected]


def is_negative(name: str) -> bool:
    """Whether CredSweeper's authors wrote the sample as look-alikes that must give nothing."""
    stem = name.rsplit(".", 1)[0]
    return stem.endswith("_n") or stem == "false_positive"


def unscored_rules(path: Path = RULES) -> dict[str, str]:
    """CredSweeper rule -> why its values are not expected credentials."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["not_secrets"])


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True).stdout


def _as_text(blob: bytes) -> str | None:
    if b"\0" in blob:
        return None
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return None


def place(text: str, line_num: int, line: str, value: str, value_start: int, value_end: int) -> list[int] | None:
    """The value's ``[start, end]`` in ``text`` from CredSweeper's line data (1-based line number,
    the line as CredSweeper read it and the value's offsets in that line), or None where the file's
    line does not hold it (CredSweeper decoded or joined something)."""
    lines = text.split("\n")
    if not 1 <= line_num <= len(lines):
        return None
    at = sum(len(x) + 1 for x in lines[:line_num - 1])
    raw = lines[line_num - 1]
    if value and 0 <= value_start <= value_end and line[value_start:value_end] == value:
        shift = raw.find(line) if line else -1
        if shift >= 0:
            return [at + shift + value_start, at + shift + value_end]
    k = raw.find(value) if value else -1
    if k >= 0 and raw.find(value, k + 1) < 0:
        return [at + k, at + k + len(value)]
    return None


def extract(git_dir: str, commit: str = "HEAD") -> tuple[list[Sample], dict[str, int]]:
    """The text samples at ``commit`` with their expected values, and what was left out (counts)."""
    skip_rules = unscored_rules()
    names = [p.rsplit("/", 1)[-1] for p in
             _git(git_dir, "ls-tree", "--name-only", f"{commit}:{SAMPLES_DIR}").decode().split("\n") if p]
    expected_json = json.loads(_git(git_dir, "show", f"{commit}:{EXPECTED_FILE}"))
    left_out = {"binary or not UTF-8 sample files": 0, "expected values in such files": 0,
                "expected values not found on their line": 0}
    samples: dict[str, Sample] = {}
    for name in sorted(names):
        text = _as_text(_git(git_dir, "show", f"{commit}:{SAMPLES_DIR}/{name}"))
        if text is None:
            left_out["binary or not UTF-8 sample files"] += 1
            continue
        samples[name] = Sample(name, text, is_negative(name), [])
    for item in expected_json:
        first = item["line_data_list"][0]["path"]
        name = first.rsplit("/", 1)[-1]
        sample = samples.get(name)
        if sample is None:
            left_out["expected values in such files"] += 1
            continue
        spans, lines = [], []
        for ld in item["line_data_list"]:
            span = place(sample.text, ld["line_num"], ld["line"], ld["value"] or "", ld["value_start"],
                         ld["value_end"])
            if span is not None:
                spans.append(span)
                lines.append(ld["line_num"])
        if not spans:
            left_out["expected values not found on their line"] += 1
            continue
        sample.expected.append(Expected(name, item["rule"], lines, spans, item["rule"] not in skip_rules))
    return list(samples.values()), left_out


def save(samples: list[Sample], left_out: dict[str, int], commit: str, out: Path) -> None:
    out.write_text(json.dumps({"source": REPO_URL, "commit": commit, "left_out": left_out,
                               "samples": [asdict(s) for s in samples]}, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")


def load(path: Path = DATA) -> list[Sample]:
    """The stored samples."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [Sample(s["name"], s["text"], s["negative"], [Expected(**e) for e in s["expected"]])
            for s in raw["samples"]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--git-dir", required=True, help="a clone of " + REPO_URL)
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    commit = _git(args.git_dir, "rev-parse", args.commit).decode().strip()
    samples, left_out = extract(args.git_dir, commit)
    save(samples, left_out, commit, args.out)
    expected = [e for s in samples for e in s.expected]
    print(f"{len(samples)} samples ({sum(s.negative for s in samples)} negative), {len(expected)} expected values "
          f"({sum(e.scored for e in expected)} scored); left out: {left_out} -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
