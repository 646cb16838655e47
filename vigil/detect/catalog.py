"""The detector catalogue as a Markdown table, and the README section generated from it.

``python -m vigil.detect.catalog --update-readme`` rewrites the table between the
``<!-- detectors:start -->`` and ``<!-- detectors:end -->`` markers of README.md (and nothing
else); ``--check`` exits non-zero when the committed table is stale; with no option the table is
printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigil.detect.model import LIKELIHOODS
from vigil.detect.rules import Rule, load_builtin_rules

START = "<!-- detectors:start -->"
END = "<!-- detectors:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"

_CATEGORY_TITLES = {"credential": "Credentials", "pii": "Personal data", "financial": "Financial",
                    "health": "Health"}


def _validation(rule: Rule) -> str:
    parts = []
    if rule.validator:
        parts.append(f"`{rule.validator}`")
    if rule.min_entropy:
        parts.append(f"entropy ≥ {rule.min_entropy}")
    if rule.context_required:
        parts.append("context word required")
    elif rule.hotwords:
        parts.append("context words")
    if rule.pair:
        parts.append(f"paired with `{rule.pair['rule']}`")
    return ", ".join(parts) or "pattern"


def table(rules: list[Rule] | None = None) -> str:
    """The Markdown table of every built-in detector, grouped by category."""
    rules = rules if rules is not None else load_builtin_rules()
    lines = [f"{len(rules)} built-in detectors (rules in `vigil/detect/rules/*.yaml`; add your own "
             "as described in [docs/detection.md](docs/detection.md)).", ""]
    lines.append("| Category | Detector | infoType | What it finds | Checks | Likelihood | Severity |")
    lines.append("|---|---|---|---|---|---|---|")
    order = list(_CATEGORY_TITLES)
    for rule in sorted(rules, key=lambda r: (order.index(r.category) if r.category in order else 99, r.infotype, r.id)):
        description = rule.description.replace("|", "\\|")
        lines.append(f"| {_CATEGORY_TITLES.get(rule.category, rule.category)} | `{rule.id}` | "
                     f"`{rule.infotype}` | {description} | {_validation(rule)} | "
                     f"{LIKELIHOODS[rule.likelihood]} | {rule.severity} |")
    return "\n".join(lines) + "\n"


def render_readme(readme_text: str, rules: list[Rule] | None = None) -> str:
    """``readme_text`` with the section between the markers replaced by the current table."""
    start = readme_text.find(START)
    end = readme_text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"README must contain {START} followed by {END}")
    head = readme_text[:start + len(START)]
    return head + "\n" + table(rules) + readme_text[end:]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m vigil.detect.catalog", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--update-readme", action="store_true", help="rewrite the README table")
    group.add_argument("--check", action="store_true", help="fail when the README table is stale")
    parser.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.update_readme or args.check):
        sys.stdout.write(table())
        return 0
    current = args.readme.read_text(encoding="utf-8")
    wanted = render_readme(current)
    if args.check:
        if current != wanted:
            print(f"{args.readme} detector table is stale; run python -m vigil.detect.catalog --update-readme",
                  file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        args.readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
