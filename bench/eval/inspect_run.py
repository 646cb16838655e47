"""Score a detector through its command line: write the corpus to a temporary folder, run
``vigil inspect DIR --format jsonl`` in a subprocess, and turn each JSONL finding back into a
span of its document.

Two readings of each finding:

* **span**: ``start``/``end`` taken as character offsets into the whole file (what the issue asks
  positions to be). Where a finding carries 1-based ``line`` and ``column``, those give the start
  instead, and ``end - start`` the length.
* **line**: the finding covers its whole line (``line``, else the ``line:N`` in its locator), so
  it matches a label of the same infoType on that line — a lenient reading for tools that report
  lines only.

The CLI is run, not imported, so this module does not import vigil.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.eval.corpus import write
from bench.eval.scoring import Finding, google_name

_LINE = re.compile(r"line:(\d+)")
_LIKELIHOODS = ("VERY_UNLIKELY", "UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY")


@dataclass
class InspectRun:
    span: dict[str, list[Finding]] = field(default_factory=dict)
    line: dict[str, list[Finding]] = field(default_factory=dict)
    records: int = 0
    skipped: Counter = field(default_factory=Counter)
    unmatched_docs: int = 0
    line_column: int = 0          # findings that carried line and column
    disagree: int = 0             # ... whose line/column did not point at start
    seconds: float = 0.0
    command: str = ""
    error: str = ""


def _vigil_command() -> list[str]:
    exe = Path(sys.executable).with_name("vigil")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("vigil")
    if found:
        return [found]
    return [sys.executable, "-c", "from vigil.cli import main; main()"]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def run_inspect(docs, min_likelihood: str = "UNLIKELY", timeout: float = 1800.0) -> InspectRun:
    """Run ``vigil inspect`` over ``docs`` and collect its findings per ``doc_id``."""
    import time

    out = InspectRun()
    by_file = {d.filename: d for d in docs}
    for d in docs:
        out.span[d.doc_id] = []
        out.line[d.doc_id] = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-inspect-") as tmp:
        root = Path(tmp) / "corpus"
        write(docs, root)
        (root / "labels.jsonl").unlink()
        env = dict(os.environ)
        env["VIGIL_FINGERPRINT_KEY"] = "ab" * 32
        env["VIGIL_HOME"] = str(Path(tmp) / "config")
        cmd = _vigil_command() + ["inspect", str(root), "--format", "jsonl", "--min-likelihood", min_likelihood]
        out.command = "vigil inspect <corpus dir> --format jsonl --min-likelihood " + min_likelihood
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        out.seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            out.error = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
            return out
        starts_cache: dict[str, list[int]] = {}
        for raw in proc.stdout.splitlines():
            if not raw.strip():
                continue
            rec = json.loads(raw)
            out.records += 1
            rel = Path(rec.get("doc", "")).resolve().relative_to(root.resolve()).as_posix() \
                if rec.get("doc") else ""
            doc = by_file.get(rel)
            if doc is None:
                out.unmatched_docs += 1
                continue
            if "skipped" in rec:
                out.skipped[rec["skipped"]] += 1
                continue
            if rec.get("likelihood") == "VERY_UNLIKELY":
                continue
            infotype = google_name("vigil", rec["infotype"])
            start, end = int(rec["start"]), int(rec["end"])
            starts = starts_cache.setdefault(doc.doc_id, _line_starts(doc.text))
            line = rec.get("line")
            if line is not None and rec.get("column") is not None:
                out.line_column += 1
                at = starts[min(max(int(line) - 1, 0), len(starts) - 1)] + int(rec["column"]) - 1
                if at != start:
                    out.disagree += 1
                start, end = at, at + (end - int(rec["start"]))
            out.span[doc.doc_id].append(Finding(infotype, start, end, rec["infotype"]))
            if line is None:
                m = _LINE.search(rec.get("locator", ""))
                line = int(m.group(1)) if m else None
            if line is not None and 1 <= int(line) <= len(starts):
                i = int(line) - 1
                lo = starts[i]
                hi = starts[i + 1] - 1 if i + 1 < len(starts) else len(doc.text)
                out.line[doc.doc_id].append(Finding(infotype, lo, max(hi, lo + 1), rec["infotype"]))
    return out
