"""``vigil inspect PATH...``: scan local files or folders with the detection engine.

Each file is read through ``vigil.extract.extract`` (documents, archives, mail …); every text
segment is scanned. JSONL output has one object per finding, and one ``{doc, locator, skipped}``
object per input or archive member that could not be read. A finding's ``start``/``end`` are
offsets into the file's decoded text for plain-text formats (into the decoded source for XML and
HTML), within the located unit otherwise, with the 1-based ``line`` and ``column`` of ``start``
(see docs/extraction.md). Progress (a live line on a terminal) and a closing summary by file and
severity go to stderr, so stdout stays machine-readable. Exit status 0 means the scan ran
(findings or not); 2 means a path is missing or an option is invalid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator, Optional

import typer

from vigil.cli.app import app

def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    else:
        yield path


def inspect_paths(paths: list[str], engine, extract=None) -> Iterator[dict]:  # noqa: ANN001
    """Records (findings and skips) for every file under ``paths``, in path order.

    ``engine`` is a loaded ``vigil.detect.Engine``; ``extract`` defaults to
    ``vigil.extract.extract``. ``doc`` is the file path as given (or found under a given folder)."""
    if extract is None:
        from vigil.extract import extract as extract_fn
        extract = extract_fn
    for given in paths:
        for file in _files(Path(given)):
            doc = given if file == Path(given) else str(file)
            try:
                data = file.read_bytes()
            except OSError as exc:
                yield {"doc": doc, "locator": "", "skipped": f"unreadable: {exc.strerror}"}
                continue
            result = extract(data, file.name)
            for skip in result.skips:
                yield {"doc": doc, "locator": skip.locator, "skipped": skip.reason}
            if result.status != "extracted":
                yield {"doc": doc, "locator": "", "skipped": result.reason or "unsupported"}
                continue
            for segment in result.segments:
                for finding in engine.scan(segment.text):
                    yield finding_record(doc, segment, finding)


def finding_record(doc: str, segment, finding) -> dict:  # noqa: ANN001
    """The JSONL object of one finding in ``segment`` (positions from ``segment.place``)."""
    place = segment.place(finding.start, finding.end)
    record = {"doc": doc, "locator": place.locator}
    record.update(finding.to_dict())
    record.update(start=place.start, end=place.end, line=place.line, column=place.column)
    return record


def _table(records: list[dict]) -> None:
    """Aligned plain-text columns (never truncated, so paths and locators stay whole); the masked
    context is last, with line breaks shown as spaces."""
    header = ("doc", "locator", "line", "infotype", "likelihood", "severity", "masked", "context")
    rows = [header]
    for r in records:
        if "skipped" in r:
            rows.append((r["doc"], r["locator"], "", f"skipped: {r['skipped']}", "", "", "", ""))
        else:
            rows.append(tuple(" ".join(str(r.get(k) or "").split()) for k in header))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@app.command("inspect", short_help="Scan local files for sensitive data (values masked).")
def inspect(
    paths: list[str] = typer.Argument(..., metavar="PATH", hidden=True),  # described in the docstring
    fmt: str = typer.Option("jsonl", "--format", metavar="[jsonl|table]",
                            help="jsonl (one object per line) or table."),
    min_likelihood: str = typer.Option("POSSIBLE", "--min-likelihood", metavar="LEVEL",
                                       help="VERY_UNLIKELY, UNLIKELY, POSSIBLE, LIKELY or VERY_LIKELY."),
    rules: Optional[Path] = typer.Option(None, "--rules", metavar="PATH",
                                         help="YAML file of custom detectors/overrides."),
    phone_region: list[str] = typer.Option(["US"], "--phone-region", metavar="REGION",
                                           help="Region(s) whose national phone formats come first (ISO 3166, e.g. US, DE)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line and no summary on stderr."),
) -> None:
    """Scan local files for sensitive data and print the findings (values masked).

    Each PATH is a file or a folder (every file under it is scanned).
    """
    from vigil.detect import Engine, load_fingerprint_key
    from vigil.detect.model import LIKELIHOODS
    from vigil.detect.rules import RuleError

    if fmt not in ("jsonl", "table"):
        typer.echo(f"error: --format must be jsonl or table, not {fmt!r}", err=True)
        raise typer.Exit(2)
    if min_likelihood.upper() not in LIKELIHOODS:
        typer.echo(f"error: --min-likelihood must be one of {', '.join(LIKELIHOODS)}", err=True)
        raise typer.Exit(2)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        typer.echo(f"error: no such file or folder: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    if rules is not None and not rules.is_file():
        typer.echo(f"error: rules file not found: {rules}", err=True)
        raise typer.Exit(2)
    try:
        engine = Engine.load(load_fingerprint_key(), custom_rules=rules, min_likelihood=min_likelihood.upper(),
                             phone_regions=phone_region)
    except (RuleError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from vigil.cli.inspect_progress import InspectProgress, InspectTally

    files = [(given if file == Path(given) else str(file), file) for given in paths for file in _files(Path(given))]
    tally = InspectTally(len(files))
    progress = None if quiet else InspectProgress(tally)
    table_rows: list[dict] = []
    try:
        for doc, file in files:
            for record in inspect_paths([doc], engine):
                tally.add(record)
                if fmt == "table":
                    table_rows.append(record)
                else:
                    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            tally.file_done(_size(file))
            if progress is not None:
                progress.update()
    finally:
        if progress is not None:
            progress.stop()
    if fmt == "table":
        _table(table_rows)
    sys.stdout.flush()
    if progress is not None:
        progress.print_summary()


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0
