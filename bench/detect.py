"""Detection benchmark: vigil (Hyperscan and pure-Python backends) vs Presidio vs detect-secrets.

One run, the same corpora for every tool:

* throughput in MB/s per core (single process; CPU time from ``time.process_time`` and wall
  time from ``time.perf_counter``) on chat text, source code, the labelled sets and the
  interpreter's standard library;
* precision / recall per infoType and per document kind on two labelled corpora:
  the old quality set (``bench/detect_corpus.py``, values from ``vigil.synth.values``) and the
  independent evaluation corpus ``bench/eval`` (Faker, python-stdnum and libphonenumber values in
  independently written layouts, plus value-free documents), and presidio-evaluator's sentence
  templates filled with bench/eval values. Scoring is strict (``bench/eval/scoring.py``): a
  finding is right when a label of the same Google infoType overlaps it; each tool's labels are
  mapped to Google names by one table (``bench/eval/data/label_map.yaml``);
* the same evaluation corpus scored through ``vigil inspect`` on files in a temporary folder;
* hard negatives flagged, false findings per MB on value-free documents and on the stdlib.

vigil's findings at ``VERY_UNLIKELY`` count as not reported (the engine is loaded with
``min_likelihood="VERY_UNLIKELY"`` so those can be audited, then filtered). Presidio and
detect-secrets run at ~0.1 MB/s, so they get deterministic samples of the throughput corpora;
every tool scans the labelled corpora whole.

    .venv/bin/python bench/detect.py               # full run (writes detect.md and detect-eval.md)
    .venv/bin/python bench/detect.py --quick       # small corpora, a few minutes
    .venv/bin/python bench/detect.py --eval-only   # only the labelled corpora (no throughput sets)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import ipaddress
import json
import logging
import os
import platform
import random
import re
import shlex
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
import detect_corpus as corpus  # noqa: E402

from bench.eval import corpus as eval_corpus  # noqa: E402
from bench.eval import escaped, presidio_set, report  # noqa: E402
from bench.eval.inspect_run import run_inspect  # noqa: E402
from bench.eval.scoring import CONTEXTUAL, Finding, google_name, score, snippet  # noqa: E402

PLANTED = tuple(corpus._values.PLANTED_INFOTYPES)

# Predefined recognizers for our infoTypes that Presidio's default English registry leaves out
# (disabled by default, or registered for other languages only); the bench enables them.
PRESIDIO_EXTRA = ("UkNinoRecognizer", "CaSinRecognizer", "DeTaxIdRecognizer", "EsNifRecognizer",
                  "EsNieRecognizer", "ItFiscalCodeRecognizer", "InAadhaarRecognizer", "InPanRecognizer",
                  "UsNpiRecognizer", "AbaRoutingRecognizer", "PlPeselRecognizer", "NhsRecognizer")
LIKELIHOODS = ("VERY_UNLIKELY", "UNLIKELY", "POSSIBLE", "LIKELY", "VERY_LIKELY")


# --------------------------------------------------------------------------- tools

@dataclass(frozen=True)
class Hit:
    """One finding: ``infotype`` is the Google name (None when the label is not mapped)."""

    infotype: str | None
    native: str
    start: int
    end: int
    score: float = 1.0


class Tool:
    """A detector under test: ``scan`` returns hits with character offsets into ``doc.text``."""

    name = ""
    covers: frozenset[str] = frozenset()
    note = ""
    sampled = False  # slow tools run on samples of the throughput corpora

    def variants(self) -> dict[str, float]:
        """Result columns to report: column name -> minimum hit score kept."""
        return {self.name: 0.0}

    def prepare(self, docs: list) -> None:
        """Called before timing with the documents about to be scanned."""

    def scan(self, doc) -> list[Hit]:
        raise NotImplementedError


class VigilTool(Tool):
    """``vigil.detect.Engine.load(...).scan(text)``; reads infotype, start, end, likelihood."""

    def __init__(self, backend: str) -> None:
        import importlib

        detect = importlib.import_module("vigil.detect")
        self.name = f"vigil ({backend})"
        t0 = time.perf_counter()
        self.engine = _load_engine(detect, backend)
        self.load_seconds = time.perf_counter() - t0
        natives = _engine_infotypes(self.engine) or set(PLANTED)
        self.covers = frozenset(filter(None, (google_name("vigil", t) for t in natives)))
        self.note = (f"{len(getattr(self.engine, 'rules', ()))} rules, engine load {self.load_seconds:.2f} s, "
                     "`Engine.load(min_likelihood=\"VERY_UNLIKELY\")`, `engine.scan(text)` per document; "
                     "findings at VERY_UNLIKELY count as not reported")

    def variants(self) -> dict[str, float]:
        return {self.name: 1.0}  # UNLIKELY and above

    def scan(self, doc) -> list[Hit]:
        return [Hit(google_name("vigil", f.infotype), f.infotype, f.start, f.end, _likelihood_rank(f.likelihood))
                for f in self.engine.scan(doc.text)]


def _load_engine(detect, backend: str):
    # Called, not introspected: the compiled engine's ``Engine.load`` has no signature to read.
    key = b"vigil-bench-fingerprint-key-0001"
    return detect.Engine.load(fingerprint_key=key, backend=backend, min_likelihood="VERY_UNLIKELY")


def _engine_infotypes(engine) -> set[str] | None:
    for attr in ("infotypes", "info_types"):
        value = getattr(engine, attr, None)
        if value:
            return set(value() if callable(value) else value)
    for attr in ("rules", "detectors"):
        items = getattr(engine, attr, None)
        if items:
            return {d.infotype for d in (items() if callable(items) else items)}
    return None


def _likelihood_rank(value) -> float:
    name = getattr(value, "name", str(value)).upper()
    return float(LIKELIHOODS.index(name)) if name in LIKELIHOODS else 0.0


class PresidioTool(Tool):
    sampled = True

    def __init__(self) -> None:
        import spacy
        import tldextract.tldextract as tld

        # Presidio's e-mail recognizer calls tldextract, which fetches the public-suffix list
        # from the internet on first use; use the snapshot bundled with tldextract instead.
        tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=())
        import presidio_analyzer.predefined_recognizers as predefined
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        class BlankSpacyNlpEngine(SpacyNlpEngine):
            """Presidio's spaCy engine over ``spacy.blank("en")``: tokens, no NER model."""

            def load(self) -> None:
                nlp = spacy.blank("en")
                nlp.max_length = 50_000_000
                self.nlp = {"en": nlp}

        nlp_engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
        nlp_engine.load()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
        present = {type(r).__name__ for r in registry.recognizers}
        added = [n for n in PRESIDIO_EXTRA if n not in present and hasattr(predefined, n)]
        for name in added:
            registry.add_recognizer(getattr(predefined, name)(supported_language="en"))
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        claimed = {e for r in registry.recognizers for e in r.supported_entities}
        self.covers = frozenset(filter(None, (google_name("presidio", e) for e in claimed)))
        self.name = "Presidio"
        self.note = ("default English recognizers + " + ", ".join(added)
                     + "; blank spaCy pipeline (no NER model); all scores kept (threshold 0)")

    def variants(self) -> dict[str, float]:
        return {self.name: 0.0, f"{self.name} (score ≥ 0.5)": 0.5}

    def scan(self, doc) -> list[Hit]:
        results = self.analyzer.analyze(text=doc.text, language="en", score_threshold=0.0)
        return [Hit(google_name("presidio", r.entity_type), r.entity_type, r.start, r.end, r.score) for r in results]


class DetectSecretsTool(Tool):
    """detect-secrets with all plugins and default filters, scanning files as its CLI does."""

    sampled = True

    def __init__(self) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.settings import default_settings

        self._settings = default_settings()
        self._settings.__enter__()
        self._dir = Path(tempfile.mkdtemp(prefix="vigil-bench-ds-"))
        self._paths: dict[str, Path] = {}
        types = set(get_mapping_from_secret_type_to_class()) | {"Slack Webhook"}
        self.covers = frozenset(filter(None, (google_name("detect-secrets", t) for t in types)))
        self.name = "detect-secrets"
        self.note = ("all plugins, default filters (`default_settings()`), `scan_file` per document; "
                     "'Public IP (ipv4)' covers IPv4 only, 'Slack Token' hits on hooks.slack.com count as webhooks")

    def prepare(self, docs: list) -> None:
        for doc in docs:
            if doc.doc_id in self._paths:
                continue
            path = self._dir / f"{len(self._paths):06d}" / Path(doc.filename).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8", newline="")
            self._paths[doc.doc_id] = path

    def scan(self, doc) -> list[Hit]:
        from detect_secrets.core.scan import scan_file

        found = list(scan_file(str(self._paths[doc.doc_id])))
        if not found:
            return []
        starts, lines = [], []
        pos = 0
        for line in doc.text.split("\n"):
            starts.append(pos)
            lines.append(line)
            pos += len(line) + 1
        hits = []
        for secret in found:
            i = secret.line_number - 1
            line = lines[i] if 0 <= i < len(lines) else ""
            value = secret.secret_value or ""
            at = line.find(value) if value else -1
            start, end = (starts[i] + at, starts[i] + at + len(value)) if at >= 0 else (starts[i], starts[i] + len(line))
            native = secret.type
            if native == "Slack Token" and value.startswith("https://hooks.slack.com"):
                native = "Slack Webhook"
            hits.append(Hit(google_name("detect-secrets", native), native, start, end))
        return hits


# --------------------------------------------------------------------------- timing

@dataclass
class Timing:
    docs: int = 0
    bytes: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    errors: int = 0

    @property
    def mb_s_cpu(self) -> float:
        return self.bytes / 1e6 / self.cpu if self.cpu > 0 else float("nan")

    @property
    def mb_s_wall(self) -> float:
        return self.bytes / 1e6 / self.wall if self.wall > 0 else float("nan")


def run(tool: Tool, docs: list, budget_s: float | None = None) -> tuple[Timing, dict[str, list[Hit]]]:
    """Scan ``docs`` in order, timing only the scan calls; stop early once ``budget_s`` of CPU
    time is spent (the documents scanned are what the timing and results cover)."""
    tool.prepare(docs)
    timing = Timing()
    hits: dict[str, list[Hit]] = {}
    for doc in docs:
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            found = tool.scan(doc)
        except Exception as exc:  # a tool failing on one document must not sink the run
            found = []
            timing.errors += 1
            if timing.errors <= 3:  # the type only: a message could quote the scanned text
                logging.getLogger("bench").warning("%s failed on %s: %s", tool.name, doc.doc_id, type(exc).__name__)
        timing.cpu += time.process_time() - c0
        timing.wall += time.perf_counter() - w0
        timing.docs += 1
        timing.bytes += len(doc.text.encode())
        hits[doc.doc_id] = found
        if budget_s is not None and timing.cpu > budget_s:
            break
    return timing, hits


def _raw_scan(db, docs: list) -> Timing:
    """Time vigil's compiled Hyperscan database over UTF-8 ``docs`` with a callback that does
    nothing: the floor under any end-to-end figure built on it."""
    data = [d.text.encode() for d in docs]
    timing = Timing(docs=len(data), bytes=sum(map(len, data)))
    c0, w0 = time.process_time(), time.perf_counter()
    for chunk in data:
        db.scan(chunk, match_event_handler=lambda *_: None)
    timing.cpu, timing.wall = time.process_time() - c0, time.perf_counter() - w0
    return timing


def sample(docs: list, max_bytes: int, seed: int) -> list:
    """A deterministic random sample of whole documents of about ``max_bytes``."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    chosen, size = [], 0
    for i in order:
        if size >= max_bytes:
            break
        n = len(docs[i].text.encode())
        if chosen and size + n > max_bytes * 1.1:  # skip a document that would overshoot the size
            continue
        chosen.append(i)
        size += n
    return [docs[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------- haystack


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _real_address(infotype: str, value: str) -> bool:
    if infotype == "EMAIL_ADDRESS":
        return _EMAIL.fullmatch(value.strip("<>'\" ")) is not None
    if infotype == "IP_ADDRESS":
        value = value.strip("[]")
        if not re.search(r"[0-9A-Fa-f]", value):  # a bare "::" (slice syntax) is no address
            return False
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            return False
    return False


@dataclass
class Haystack:
    findings: int = 0
    false: Counter = field(default_factory=Counter)
    addresses: Counter = field(default_factory=Counter)
    unscored: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def haystack(tool: Tool, docs: list, hits: dict[str, list[Hit]], min_score: float = 0.0,
             examples: int = 4) -> Haystack:
    """Classify findings on the standard library (no planted values there)."""
    h = Haystack()
    for doc in docs:
        for hit in {(x.infotype, x.native, x.start, x.end) for x in hits.get(doc.doc_id, ()) if x.score >= min_score}:
            infotype, native, start, end = hit
            h.findings += 1
            if infotype is None or infotype not in tool.covers:
                h.unscored += 1
            elif _real_address(infotype, doc.text[start:end]):
                h.addresses[infotype] += 1
            else:
                h.false[infotype] += 1
                if len(h.examples[infotype]) < examples:
                    h.examples[infotype].append(f"{doc.doc_id}: {snippet(doc.text, start, end)}")
    return h


# --------------------------------------------------------------------------- machine

def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    versions = {}
    for pkg in ("vigil", "hyperscan", "presidio-analyzer", "spacy", "detect-secrets", "phonenumbers",
                "python-stdnum", "regex"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "usable_cores": str(len(os.sched_getaffinity(0))),
        "ram": ram, "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(), "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "load": _load_average(),
    }


def _load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _git_commit() -> str:
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        # The bench's own result pages (rewritten by the last run) do not change what it measures.
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "vigil/detect", "bench",
                                ":(exclude)bench/results", ":(exclude)bench/out"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in vigil/detect or bench' if dirty else ''}" if head else "unknown"


# --------------------------------------------------------------------------- report

def _f(x: float, digits: int = 3) -> str:
    return "–" if x != x else f"{x:.{digits}f}"


def _mbs(x: float) -> str:
    if x != x:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 1 else f"{x:.3f}"


def _header(res: dict, title: str) -> list[str]:
    m = res["machine"]
    out = [f"# {title}\n",
           f"Generated by `bench/detect.py` on {m['date']}. Rerun: `{res['command']}`"
           + (" (quick mode: small corpora, numbers are indicative only)." if res["quick"] else "."), "",
           f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram']} RAM, "
           f"{m['python']}, {m['os']}.  ",
           f"Load average (1/5/15 min) when the run started: {m.get('load', 'not recorded')}; the machine is shared, "
           f"so throughput drops when other jobs run.  ",
           f"Libraries: {m['versions']}.  ", f"Code: git {m['commit']}.", ""]
    if res["missing"]:
        out.append("**Not run:** " + "; ".join(f"{k}: {v}" for k, v in res["missing"].items()) + "\n")
    return out


def _quality_block(q: dict, heading: str) -> list[str]:
    out = [f"{heading}\n", q["desc"] + "\n"]
    out += report.headline(q["name"], q["columns"]) + [""]
    out.append("Per infoType (P / R on the infoTypes each tool claims; – = not claimed; ◦ = contextual, "
               "found by context words; ⚠ = structured infoType below 0.90 recall):\n")
    out += report.per_type_table(q["columns"], q["labels"]) + [""]
    out.append("Per document kind:\n")
    out += report.per_kind_table(q["columns"], q["kinds"]) + [""]
    if any(s["decoys"] for s in q["columns"].values()):
        out.append("Hard negatives overlapped by a scored finding (lower is better):\n")
        out += report.decoy_table(q["columns"]) + [""]
    for name, s in q["columns"].items():
        notes = [f"{s['nested']} nested findings"]
        if s["unscored"]:
            notes.append("unscored findings (labels the corpus does not use): "
                         + ", ".join(f"{k} {v}" for k, v in list(s["unscored"].items())[:8]))
        if s["free_false"]:
            notes.append("false findings on value-free documents: "
                         + ", ".join(f"{k} {v}" for k, v in list(s["free_false"].items())[:8]))
        out.append(f"- {name}: " + "; ".join(notes) + ".")
    out.append("")
    return out


def render(res: dict) -> str:
    """bench/results/detect.md: throughput, the old quality set and the stdlib haystack."""
    out = _header(res, "Detection benchmark")
    add = out.append
    add("## Targets\n")
    add("| Target | Measured | Status |")
    add("|---|---|---|")
    for row in res["targets"]:
        add(f"| {row[0]} | {row[1]} | {row[2]} |")
    add("")
    add("Results on the independent evaluation corpus (`bench/eval`) are in "
        "[detect-eval.md](detect-eval.md).\n")

    if res["throughput"]:
        add("## Throughput (MB/s per core, single process)\n")
        add("MB/s = UTF-8 bytes scanned / CPU seconds of the scanning process (`time.process_time`); wall-clock "
            "MB/s in brackets (the machine is shared, so wall time is noisier). End to end: each tool's public "
            "scan call per document, including validation, scoring and (vigil) masking and fingerprints.\n")
        corpora = res["corpora"]
        add("| Tool | " + " | ".join(f"{c} ({corpora[c]['label']})" for c in corpora) + " |")
        add("|---|" + "---|" * len(corpora))
        for tool, per in res["throughput"].items():
            cells = []
            for c in corpora:
                t = per.get(c)
                if not t:
                    cells.append("–")
                    continue
                size = f"{t['bytes'] / 1e6:.1f} MB" if t["bytes"] >= 1e5 else f"{t['bytes'] / 1e3:.0f} KB"
                err = f", {t['errors']} errors" if t["errors"] else ""
                cells.append(f"**{_mbs(t['mb_s_cpu'])}** ({_mbs(t['mb_s_wall'])}) on {size}{err}")
            add(f"| {tool} | " + " | ".join(cells) + " |")
        add("")
        add("Corpora: " + "; ".join(f"**{c}**: {v['desc']}" for c, v in corpora.items()) + ".\n")
        if res["sampling_note"]:
            add(res["sampling_note"] + "\n")

    if "old" in res["quality"]:
        out += _quality_block(res["quality"]["old"], "## Quality on the old labelled set (`bench/detect_corpus.py`)")
        add("Caveat: vigil's rules and this set both draw on `vigil.synth.values` for value formats, so vigil's "
            "numbers here show agreement with those formats; see detect-eval.md for data it was not built "
            "against.\n")

    if res["stdlib"]:
        add("## False findings on the standard library\n")
        add(f"Haystack: {res['stdlib_desc']}. Every scored finding there is counted as false, except e-mail "
            "and IP findings whose text is a syntactically valid address (authors' addresses, loopback and "
            "example IPs really are addresses), which are listed apart. Unscored = findings of labels the "
            "table does not map (for Presidio: DATE_TIME, URL, …).\n")
        add("| Tool | Scanned | False findings | False / MB | Valid e-mail / IP found | Unscored | False by infoType |")
        add("|---|---|---|---|---|---|---|")
        for x, h in res["stdlib"].items():
            mb = h["bytes"] / 1e6
            top = ", ".join(f"{k} {v}" for k, v in sorted(h["false"].items(), key=lambda kv: -kv[1])[:6]) or "–"
            addr = ", ".join(f"{k} {v}" for k, v in h["addresses"].items()) or "–"
            rate = sum(h["false"].values()) / mb if mb else float("nan")
            add(f"| {x} | {mb:.1f} MB | {sum(h['false'].values())} | **{_f(rate, 2)}** | {addr} | {h['unscored']} | {top} |")
        add("")
        for x, h in res["stdlib"].items():
            if x.startswith("vigil") and h["examples"]:
                add(f"{x}, false findings on the stdlib (masked, up to 4 per infoType):\n")
                for t, exs in h["examples"].items():
                    for ex in exs:
                        add(f"- {t}: `{ex.replace(chr(96), chr(39))}`")
                add("")

    add("## Method notes\n")
    for note in res["notes"]:
        add(f"- {note}")
    add("")
    return "\n".join(out)


def render_eval(res: dict) -> str:
    """bench/results/detect-eval.md: the independent corpus, the presidio-template set, inspect."""
    out = _header(res, "Detection on data the rules were not built from")
    add = out.append
    add("Two labelled corpora generated by `bench/eval/` (and the first of them again, written as JSON "
        "string values) (no code shared with vigil's rules or "
        "`vigil.synth`; a test checks the import graph), scored strictly: a finding is right when a label "
        "of the same Google infoType overlaps it, and every other scored finding is false (a finding of "
        "another type nested wholly inside a container label — a DSN, a service-account key, a Cookie "
        "header — is not scored). Tool labels are mapped to Google names by one table, "
        "`bench/eval/data/label_map.yaml`. The tables hold numbers only; masked examples of misses and "
        "false findings are written to `bench/out/detect.json` (not committed), so this page does not "
        "reveal the corpus's templates.\n")
    add("## Targets (issue 9)\n")
    add("| Target | Measured | Status |")
    add("|---|---|---|")
    for row in res["eval_targets"]:
        add(f"| {row[0]} | {row[1]} | {row[2]} |")
    add("")
    for key, heading in (("eval", "## Evaluation corpus (`bench/eval`)"),
                         ("presidio", "## presidio-evaluator templates filled with bench/eval values"),
                         ("escaped", "## The evaluation corpus written as JSON string values")):
        if key in res["quality"]:
            out += _quality_block(res["quality"][key], heading)
    ins = res.get("inspect")
    if ins:
        add("## The evaluation corpus through `vigil inspect`\n")
        add(ins["desc"] + "\n")
        if ins.get("error"):
            add(f"**inspect failed:** {ins['error']}\n")
        else:
            add("| Reading | micro P / R, every labelled infoType | engine's own score | difference P / R |")
            add("|---|---|---|---|")
            eng = ins["engine_micro"]
            for reading in ("span", "line"):
                m = ins[reading]["micro_all"]
                add(f"| {reading} | **{report.pr(m, 3)}** | {report.pr(eng, 3)} | "
                    f"{_f(m['precision'] - eng['precision'], 3)} / {_f(m['recall'] - eng['recall'], 3)} |")
            add("")
            add("Per document kind (span reading; the engine's own recall beside it):\n")
            add("| Document kind | span P / R | line P / R | engine P / R |")
            add("|---|---|---|---|")
            for k in sorted(ins["span"]["per_kind_all"]):
                add(f"| {k} | {report.pr(ins['span']['per_kind_all'][k])} | "
                    f"{report.pr(ins['line']['per_kind_all'].get(k, ins['span']['per_kind_all'][k]))} | "
                    f"{report.pr(ins['engine_per_kind'].get(k, ins['span']['per_kind_all'][k]))} |")
            add("")
    add("## Corpus and method notes\n")
    for note in res["eval_notes"]:
        add(f"- {note}")
    add("")
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def _key(h: Hit) -> tuple:
    return (h.infotype or "", h.native, h.start, h.end, h.score)


def _findings(hits: dict[str, list[Hit]], min_score: float) -> dict[str, list[Finding]]:
    return {doc: [Finding(h.infotype, h.start, h.end, h.native) for h in hs if h.score >= min_score]
            for doc, hs in hits.items()}


def _kinds(docs) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"docs": 0, "labels": 0})
    for d in docs:
        out[d.kind]["docs"] += 1
        out[d.kind]["labels"] += len(d.labels)
    return dict(out)


def _make_tools(names: list[str], missing: dict[str, str]) -> list[Tool]:
    factories: dict[str, Callable[[], Tool]] = {
        "vigil-hyperscan": lambda: VigilTool("hyperscan"), "vigil-python": lambda: VigilTool("python"),
        "presidio": PresidioTool, "detect-secrets": DetectSecretsTool,
    }
    tools = []
    for name in names:
        try:
            tools.append(factories[name]())
        except Exception as exc:  # report a tool that cannot load instead of failing the bench
            missing[name] = f"{type(exc).__name__}: {exc}"
            print(f"[bench] {name} not available: {type(exc).__name__}: {exc}", file=sys.stderr)
    return tools


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="vigil detection benchmark")
    parser.add_argument("--quick", action="store_true", help="small corpora, a few minutes")
    parser.add_argument("--eval-only", action="store_true",
                        help="only the labelled corpora: no chat/code/stdlib throughput sets")
    parser.add_argument("--no-inspect", action="store_true", help="skip scoring through `vigil inspect`")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="re-render the result pages from a saved run's JSON instead of running")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "detect.md")
    parser.add_argument("--eval-out", type=Path, default=ROOT / "bench" / "results" / "detect-eval.md")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "detect.json",
                        help="raw numbers and masked examples (default bench/out/detect.json)")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED, help="seed of the old quality set")
    parser.add_argument("--eval-seed", type=int, default=eval_corpus.DEFAULT_SEED, help="seed of bench/eval")
    parser.add_argument("--tools", default="vigil-hyperscan,vigil-python,presidio,detect-secrets")
    parser.add_argument("--quality-mb", type=float, default=None, help="size of the old labelled set")
    parser.add_argument("--speed-mb", type=float, default=None, help="size of each of the chat and code sets")
    parser.add_argument("--slow-mb", type=float, default=None,
                        help="sample size per throughput corpus for the slow tools (Presidio, detect-secrets)")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="CPU seconds after which a tool stops on a throughput corpus (not on labelled sets)")
    args = parser.parse_args(argv)
    if args.from_json:
        res = json.loads(args.from_json.read_text(encoding="utf-8"))
        if res["throughput"]:
            args.out.write_text(render(res), encoding="utf-8")
        args.eval_out.write_text(render_eval(res), encoding="utf-8")
        return 0

    quick = args.quick
    quality_mb = args.quality_mb or (0.5 if quick else 3.0)
    speed_mb = args.speed_mb or (3.0 if quick else 50.0)
    slow_mb = args.slow_mb or (0.06 if quick else 1.0)
    stdlib_mb = 3.0 if quick else None
    budget_s = args.budget_s or (5.0 if quick else 30.0)
    eval_docs, eval_free, presidio_docs = (600, 200, 600) if quick else (eval_corpus.DEFAULT_DOCS,
                                                                         eval_corpus.DEFAULT_FREE_DOCS,
                                                                         presidio_set.DEFAULT_DOCS)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    started = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    say("building corpora")
    t0 = time.perf_counter()
    eval_set = eval_corpus.generate(args.eval_seed, eval_docs, eval_free)
    eval_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    presidio_docs_list = presidio_set.generate(args.eval_seed, presidio_docs)
    presidio_seconds = time.perf_counter() - t0
    escaped_docs = escaped.as_json_strings(eval_set)
    quality = corpus.quality_corpus(int(quality_mb * 1e6), seed=args.seed)
    sets: dict[str, list] = {}
    if not args.eval_only:
        sets["chat"] = corpus.speed_corpus("chat", int(speed_mb * 1e6), seed=args.seed)
        sets["code"] = corpus.speed_corpus("code", int(speed_mb * 1e6), seed=args.seed)
    sets["quality"] = quality
    sets["eval"] = eval_set
    sets["presidio"] = presidio_docs_list
    sets["escaped"] = escaped_docs
    if not args.eval_only:
        stdlib = corpus.stdlib_corpus()
        if stdlib_mb:
            stdlib = sample(stdlib, int(stdlib_mb * 1e6), args.seed)
        random.Random(args.seed).shuffle(stdlib)  # so that a time-boxed run covers a fair sample
        sets["stdlib"] = stdlib
    labelled = ("quality", "eval", "presidio", "escaped")
    say("corpora: " + ", ".join(f"{k} {corpus.corpus_bytes(v) / 1e6:.1f} MB/{len(v)} docs" for k, v in sets.items())
        + f"; bench/eval generated in {eval_seconds:.1f} s, presidio set in {presidio_seconds:.1f} s")

    missing: dict[str, str] = {}
    tools = _make_tools([t.strip() for t in args.tools.split(",") if t.strip()], missing)
    if not tools:
        parser.error("no tool could be loaded: " + "; ".join(f"{k}: {v}" for k, v in missing.items()))

    universes = {"quality": frozenset(PLANTED),
                 "eval": frozenset(l.infotype for d in eval_set for l in d.labels),
                 "presidio": frozenset(l.infotype for d in presidio_docs_list for l in d.labels),
                 "escaped": frozenset(l.infotype for d in escaped_docs for l in d.labels)}
    throughput: dict[str, dict] = {}
    columns: dict[str, dict[str, dict]] = {k: {} for k in labelled}
    stdlib_res: dict[str, dict] = {}
    slow_samples = {k: sample(v, int(slow_mb * 1e6 * (0.5 if k == "stdlib" else 1)), args.seed)
                    for k, v in sets.items() if k not in labelled}
    labelled_hits: dict[str, dict[str, dict]] = {k: {} for k in labelled}
    for tool in tools:
        throughput[tool.name] = {}
        for cname, docs in sets.items():
            if tool.sampled and cname not in labelled:
                docs = slow_samples[cname]
            say(f"{tool.name}: {cname} ({corpus.corpus_bytes(docs) / 1e6:.2f} MB)")
            timing, hits = run(tool, docs, None if cname in labelled else budget_s)
            throughput[tool.name][cname] = {**vars(timing), "mb_s_cpu": timing.mb_s_cpu, "mb_s_wall": timing.mb_s_wall}
            say(f"  {timing.mb_s_cpu:.3f} MB/s cpu, {timing.mb_s_wall:.3f} MB/s wall, {timing.errors} errors")
            if cname in labelled:
                labelled_hits[cname][tool.name] = hits
            for column, min_score in tool.variants().items():
                if cname in labelled:
                    result = score(docs, _findings(hits, min_score), universes[cname])
                    columns[cname][column] = report.summarise(result, tool.covers, universes[cname])
                elif cname == "stdlib":
                    h = haystack(tool, docs, hits, min_score=min_score)
                    stdlib_res[column] = {"bytes": timing.bytes, "findings": h.findings, "false": dict(h.false),
                                          "addresses": dict(h.addresses), "unscored": h.unscored,
                                          "examples": dict(h.examples)}

    for tool in tools:
        db = getattr(getattr(getattr(tool, "engine", None), "backend", None), "db", None)
        if db is None or args.eval_only:
            continue
        column = "Hyperscan database scan alone, no-op callback (ceiling for vigil)"
        throughput[column] = {}
        for cname in ("chat", "code", "stdlib"):
            timing = _raw_scan(db, sets[cname])
            throughput[column][cname] = {**vars(timing), "mb_s_cpu": timing.mb_s_cpu, "mb_s_wall": timing.mb_s_wall}
        say(f"{column}: " + ", ".join(f"{c} {v['mb_s_cpu']:.0f} MB/s" for c, v in throughput[column].items()))
        break

    conformance = []
    for cname in labelled:
        a, b = labelled_hits[cname].get("vigil (hyperscan)"), labelled_hits[cname].get("vigil (python)")
        if a is None or b is None:
            continue
        same = sum(1 for doc in sets[cname] if sorted(map(_key, a.get(doc.doc_id, []))) == sorted(map(_key, b.get(doc.doc_id, []))))
        conformance.append(f"{cname}: {same} of {len(sets[cname])} documents have identical findings from both vigil backends")

    inspect_res = None
    if not args.no_inspect and any(t.name.startswith("vigil") for t in tools):
        say("vigil inspect on the evaluation corpus")
        run_ = run_inspect(eval_set, min_likelihood="UNLIKELY")
        say(f"  {run_.records} records in {run_.seconds:.1f} s {run_.error}")
        engine_col = next((columns["eval"][n] for n in columns["eval"] if n.startswith("vigil")), None)
        vigil_tool = next(t for t in tools if t.name.startswith("vigil"))
        inspect_res = {
            "desc": (f"`{run_.command}` over the {len(eval_set)} documents written to a temporary folder "
                     f"({run_.seconds:.0f} s wall, {run_.records} JSONL records; skipped: "
                     f"{dict(run_.skipped) or 'none'}; {run_.line_column} findings carried line and column, "
                     f"{run_.disagree} of them disagreeing with `start`). **span**: `start`/`end` read as offsets "
                     f"into the whole file (`line`/`column` used where present); **line**: a finding matches a "
                     f"label of its infoType on the same line (`line`, else the locator's `line:N`)."),
            "error": run_.error,
        }
        if not run_.error:
            for reading, found in (("span", run_.span), ("line", run_.line)):
                inspect_res[reading] = report.summarise(score(eval_set, found, universes["eval"]),
                                                        vigil_tool.covers, universes["eval"])
            inspect_res["engine_micro"] = engine_col["micro_all"]
            inspect_res["engine_per_kind"] = engine_col["per_kind_all"]

    def quality_info(cname: str, docs: list, desc: str) -> dict:
        return {"name": cname, "desc": desc, "columns": columns[cname],
                "labels": dict(Counter(l.infotype for d in docs for l in d.labels)), "kinds": _kinds(docs)}

    free = [d for d in eval_set if d.value_free]
    eval_labels = sum(len(d.labels) for d in eval_set)
    res = {
        "quick": quick,
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/detect.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "missing": missing,
        "corpora": {k: v for k, v in {
            "chat": {"label": f"{corpus.corpus_bytes(sets['chat']) / 1e6:.0f} MB",
                     "desc": f"{len(sets['chat'])} synthetic Human/Assistant transcripts, one value or decoy in ~1 of 3"} if "chat" in sets else None,
            "code": {"label": f"{corpus.corpus_bytes(sets['code']) / 1e6:.0f} MB",
                     "desc": f"{len(sets['code'])} synthetic Python/JavaScript/Go files, same plant rate"} if "code" in sets else None,
            "quality": {"label": f"{corpus.corpus_bytes(quality) / 1e6:.1f} MB", "desc": "the old labelled set below"},
            "eval": {"label": f"{corpus.corpus_bytes(eval_set) / 1e6:.1f} MB", "desc": "bench/eval (detect-eval.md)"},
            "presidio": {"label": f"{corpus.corpus_bytes(presidio_docs_list) / 1e6:.1f} MB",
                         "desc": "presidio-evaluator templates (detect-eval.md)"},
            "escaped": {"label": f"{corpus.corpus_bytes(escaped_docs) / 1e6:.1f} MB",
                        "desc": "bench/eval as JSON string values (detect-eval.md)"},
            "stdlib": {"label": f"{corpus.corpus_bytes(sets['stdlib']) / 1e6:.0f} MB",
                       "desc": f"{len(sets['stdlib'])} `*.py` files of {corpus.stdlib_root()} (site-packages excluded)"} if "stdlib" in sets else None,
        }.items() if v},
        "sampling_note": (f"Presidio and detect-secrets are timed on deterministic random samples of whole "
                          f"documents (~{slow_mb:g} MB each of chat and code, ~{slow_mb / 2:g} MB of stdlib) and on "
                          f"the whole labelled sets. Every tool stops a throughput corpus after {budget_s:g} CPU "
                          f"seconds (the sizes in the table are what was scanned)."),
        "throughput": throughput if not args.eval_only else {},
        "quality": {
            "old": quality_info("quality", quality, (
                f"{corpus.corpus_bytes(quality) / 1e6:.1f} MB, {len(quality)} documents (chat transcripts, "
                f"Python/JS/Go code, YAML/.env/INI/JSON configs, logs, e-mails), "
                f"{sum(len(d.labels) for d in quality)} values of {len(PLANTED)} infoTypes, "
                f"{sum(len(d.decoys) for d in quality)} hard negatives; seed {args.seed}")),
            "eval": quality_info("eval", eval_set, (
                f"{corpus.corpus_bytes(eval_set) / 1e6:.2f} MB, {len(eval_set)} documents of {len(_kinds(eval_set))} "
                f"kinds in {len({d.locale for d in eval_set})} Faker locales: {len(eval_set) - len(free)} labelled "
                f"documents holding {eval_labels} values of {len(universes['eval'])} infoTypes, and {len(free)} "
                f"value-free documents ({corpus.corpus_bytes(free) / 1e6:.2f} MB) for false findings per MB; "
                f"{sum(len(d.decoys) for d in eval_set)} hard negatives; seed {args.eval_seed}, generated in "
                f"{eval_seconds:.1f} s")),
            "presidio": quality_info("presidio", presidio_docs_list, (
                f"{len(presidio_docs_list)} short messages from the {len(presidio_set.templates())} sentence "
                f"templates of Microsoft presidio-evaluator (`bench/eval/data/presidio_templates.txt`, MIT), "
                f"{sum(len(d.labels) for d in presidio_docs_list)} values of {len(universes['presidio'])} "
                f"infoTypes filled from bench/eval in the same locales; names, addresses, dates and URLs "
                f"filled with Faker and not labelled; generated in {presidio_seconds:.1f} s")),
            "escaped": quality_info("escaped", escaped_docs, (
                f"the {len(escaped_docs)} documents of bench/eval that hold a line break, tab or quote, each "
                f"written as one JSON object `{{\"id\": …, \"text\": …}}` with `json.dumps` (`bench/eval/escaped.py`): "
                f"line breaks become a backslash and an `n`, as in chat exports, API payloads and NDJSON logs; "
                f"{sum(len(d.labels) for d in escaped_docs)} values, labelled where they stand in the escaped "
                f"text")),
        },
        "stdlib": stdlib_res,
        "stdlib_desc": (f"{len(sets['stdlib'])} files, {corpus.corpus_bytes(sets['stdlib']) / 1e6:.1f} MB of "
                        f"{corpus.stdlib_root()} " + ("(vigil: all of it; Presidio/detect-secrets: the sample above)"
                                                      if not quick else "(sample)")) if "stdlib" in sets else "",
        "inspect": inspect_res,
        "notes": [t.name + ": " + t.note for t in tools] + conformance + [
            "Strict scoring (`bench/eval/scoring.py`): span overlap and the same Google infoType; labels mapped "
            "by `bench/eval/data/label_map.yaml`; findings nested wholly inside a container label of another "
            "type are not scored.",
            "Span offsets are characters; detect-secrets reports a line and a secret value, so its span is "
            "the value's first occurrence on that line.",
            "Raw numbers and masked examples of misses and false findings: "
            + str(args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json) + ".",
        ],
        "eval_notes": [
            "Generator: `python -m bench.eval --out DIR` writes the corpus with a `labels.jsonl` (keep it out of "
            "git); `bench/eval/values.py` has one generator per infoType (Faker locale providers, "
            "libphonenumber example numbers with fresh digits, python-stdnum check digits and formats, vendors' "
            "published token formats), `bench/eval/layouts.py` the document kinds, `bench/eval/negatives.py` "
            "and `data/known_examples.yaml` the hard negatives.",
            "\"every labelled infoType\" counts a label of an infoType the tool does not claim as missed; "
            "\"claims\" restricts both labels and findings to the infoTypes the tool can report (after mapping).",
            "Contextual infoTypes (◦: " + ", ".join(sorted(CONTEXTUAL & universes["eval"])) + ") are outside the "
            "\"no structured infoType below 0.90 recall\" target.",
            "vigil is scored at likelihood UNLIKELY and above (VERY_UNLIKELY = not reported, e.g. known example "
            "values); `vigil inspect` is run with `--min-likelihood UNLIKELY` to match.",
        ] + [t.name + ": " + t.note for t in tools],
    }
    res["targets"] = _targets(res)
    res["eval_targets"] = _eval_targets(res)
    if not args.eval_only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(res), encoding="utf-8")
    args.eval_out.parent.mkdir(parents=True, exist_ok=True)
    args.eval_out.write_text(render_eval(res), encoding="utf-8")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    say(f"wrote {'' if args.eval_only else str(args.out) + ', '}{args.eval_out} and {args.json}")
    return 0


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _vigil_name(res: dict) -> str | None:
    names = [t for t in res["quality"]["eval"]["columns"] if t.startswith("vigil (hyperscan")]
    names = names or [t for t in res["quality"]["eval"]["columns"] if t.startswith("vigil")]
    return names[0] if names else None


def _targets(res: dict) -> list[tuple[str, str, str]]:
    rows = []
    name = _vigil_name(res)
    for corpus_name, target, label in (("chat", 200, "≥ 200 MB/s/core on chat text"),
                                       ("code", 100, "≥ 100 MB/s/core on source code")):
        t = res["throughput"].get(name, {}).get(corpus_name) if name else None
        rows.append((label, f"{_mbs(t['mb_s_cpu'])} MB/s ({name})" if t else "–", _status(t["mb_s_cpu"] >= target if t else None)))
    q = res["quality"]["old"]["columns"].get(name) if name else None
    if q:
        structured = [t for t in PLANTED if t not in CONTEXTUAL]
        below = [t for t in structured if t in q["per_type"] and q["per_type"][t]["labels"]
                 and (q["per_type"][t]["recall"] < 0.97 or not q["per_type"][t]["precision"] >= 0.97)]
        m = q["micro_structured"]
        rows.append(("old set: precision ≥ 0.97 and recall ≥ 0.97 on every structured infoType",
                     f"micro P {_f(m['precision'])} / R {_f(m['recall'])}; {len(below)} of {len(structured)} "
                     f"structured types below 0.97" + (f" ({', '.join(below)})" if below else ""), _status(not below)))
    h = res["stdlib"].get(name) if name else None
    if h:
        rate = sum(h["false"].values()) / (h["bytes"] / 1e6)
        rows.append(("≤ 0.1 false findings per MB on the stdlib", f"{rate:.3f} per MB ({sum(h['false'].values())} on "
                     f"{h['bytes'] / 1e6:.1f} MB)", _status(rate <= 0.1)))
    else:
        rows.append(("≤ 0.1 false findings per MB on the stdlib", "–", _status(None)))
    return rows


def _eval_targets(res: dict) -> list[tuple[str, str, str]]:
    name = _vigil_name(res)
    if name is None:
        return [("vigil on bench/eval", "–", _status(None))]
    s = res["quality"]["eval"]["columns"][name]
    m = s["micro_all"]
    below = s["structured_below_090"]
    rows = [
        ("micro precision ≥ 0.97", f"{_f(m['precision'])} ({name})", _status(m["precision"] >= 0.97)),
        ("micro recall ≥ 0.95", f"{_f(m['recall'])}", _status(m["recall"] >= 0.95)),
        ("no structured infoType below 0.90 recall", f"{len(below)} below: {', '.join(below) or '–'}", _status(not below)),
        ("≤ 5 false findings per MB on value-free documents",
         f"{_f(s['free_per_mb'], 1)} per MB ({sum(s['free_false'].values())} on {s['free_bytes'] / 1e6:.2f} MB)",
         _status(s["free_per_mb"] <= 5)),
    ]
    h = res["stdlib"].get(name)
    if h:
        rate = sum(h["false"].values()) / (h["bytes"] / 1e6)
        rows.append(("CPython stdlib ≤ 0.1 false findings per MB", f"{rate:.3f} per MB", _status(rate <= 0.1)))
    else:
        rows.append(("CPython stdlib ≤ 0.1 false findings per MB", "not run (--eval-only)", _status(None)))
    ins = res.get("inspect")
    if ins and not ins.get("error") and "span" in ins:
        a, e = ins["span"]["micro_all"], ins["engine_micro"]
        dp, dr = abs(a["precision"] - e["precision"]), abs(a["recall"] - e["recall"])
        rows.append(("through `vigil inspect`, strict span score within 0.01 of the engine's",
                     f"P {_f(a['precision'])} / R {_f(a['recall'])} vs {_f(e['precision'])} / {_f(e['recall'])}",
                     _status(dp <= 0.01 and dr <= 0.01)))
    else:
        rows.append(("through `vigil inspect`, strict span score within 0.01 of the engine's",
                     (ins or {}).get("error") or "not run", _status(None)))
    rows.append(("presidio-template set (reference; no target)",
                 report.pr(res["quality"]["presidio"]["columns"][name]["micro_all"], 3), "–"))
    if "escaped" in res["quality"]:
        rows.append(("the evaluation corpus as JSON string values (reference; no target)",
                     report.pr(res["quality"]["escaped"]["columns"][name]["micro_all"], 3), "–"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
