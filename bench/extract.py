"""Extraction benchmark: throughput per format and peak memory on 25 MB inputs.

* Throughput: every format of ``vigil.synth.documents`` is rendered into a generated corpus of
  work-like blocks (a few MB per format), then extracted; MB/s is input bytes over wall time
  (median of 3 runs, single thread).
* Peak memory: a text-dense file just under the 25 MiB input cap is generated for each heavy
  format (PDF, DOCX, XLSX, PPTX, ZIP) and extracted in a fresh subprocess; the report gives the
  process's peak RSS, the RSS before extraction (interpreter, libraries and the input bytes loaded) and the
  difference. RSS is sampled every 2 ms, so it also counts PDFium's and calamine's native memory. Text is random-token heavy so the files compress about 2:1, i.e. ~50 MB of text.

    .venv/bin/python bench/extract.py            # full run (a few minutes on 2 cores)
    .venv/bin/python bench/extract.py --quick    # smaller corpora, 5 MiB heavy files

Results go to bench/results/extract.md (machine, Python version and date included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vigil.extract import ExtractLimits, extract  # noqa: E402
from vigil.synth import documents  # noqa: E402

MIB = 1024 * 1024
HEAVY = ("pdf", "docx", "xlsx", "pptx", "zip")
THROUGHPUT_FORMATS = tuple(f for f in documents.FORMATS
                           if f not in documents.CODE_FORMATS or f == "py")
WORDS = ("invoice", "customer", "account", "shipment", "quarterly", "review", "contract", "renewal",
         "payment", "support", "ticket", "migration", "database", "service", "credentials", "team")


# -- corpora ------------------------------------------------------------------------------------

def work_blocks(rng: random.Random, count: int) -> list[str]:
    """Work-like blocks: sentences with identifiers, some multi-line records."""
    blocks = []
    for i in range(count):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        if i % 3 == 0:
            blocks.append(f"Customer: user{i}@example.com\nAccount: {rng.randint(10**9, 10**10)}\n"
                          f"Note: {words}")
        else:
            blocks.append(f"{words.capitalize()} ref {rng.randbytes(6).hex()}.")
    return blocks


def token_line(rng: random.Random) -> str:
    """A line of random tokens: compresses about 2:1 like dense real text with identifiers."""
    return " ".join(rng.choice(WORDS) if rng.random() < 0.3 else rng.randbytes(5).hex()
                    for _ in range(12))


def heavy_pdf(target: int, rng: random.Random) -> bytes:
    """Text-dense pages; a 100-page probe measures bytes per page, then the real build."""
    from fpdf import FPDF

    def build(pages: int) -> bytes:
        pdf = FPDF()
        pdf.set_font("Courier", size=8)
        pdf.set_auto_page_break(False)
        for _ in range(pages):
            pdf.add_page()
            for line in range(70):
                pdf.text(10, 10 + line * 3.9, token_line(rng))
        return bytes(pdf.output())

    per_page = len(build(100)) / 100
    return build(int(target * 0.95 / per_page))


def _replace_part(base: bytes, parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
        for info in src.infolist():
            if info.filename not in parts:
                dst.writestr(info.filename, src.read(info))
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


def heavy_docx(target: int, rng: random.Random) -> bytes:
    base = documents.render("docx", ["seed"]).data
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        document = zf.read("word/document.xml").decode()
    head, tail = document.split("<w:body>", 1)
    sect = tail[tail.index("<w:sectPr"):]
    paragraphs = []
    size = 0
    while size < target:  # target = XML bytes
        text = escape(token_line(rng) + " " + token_line(rng))
        paragraphs.append(f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>')
        size += len(paragraphs[-1])
    body = f"{head}<w:body>{''.join(paragraphs)}{sect}".encode()
    return _replace_part(base, {"word/document.xml": body})


def heavy_xlsx(target: int, rng: random.Random) -> bytes:
    base = documents.render("xlsx", ["seed"]).data
    rows = []
    size = 0
    r = 0
    while size < target:
        r += 1
        cells = "".join(f'<c r="{col}{r}" t="inlineStr"><is><t>{rng.randbytes(6).hex()}</t></is></c>'
                        for col in "ABCDEF")
        rows.append(f'<row r="{r}">{cells}</row>')
        size += len(rows[-1])
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{"".join(rows)}</sheetData></worksheet>').encode()
    return _replace_part(base, {"xl/worksheets/sheet1.xml": sheet})


def heavy_pptx(target: int, rng: random.Random) -> bytes:
    base = documents.render("pptx", ["seed", "two"]).data
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        presentation = zf.read("ppt/presentation.xml").decode()
        pres_rels = zf.read("ppt/_rels/presentation.xml.rels").decode()
        types = zf.read("[Content_Types].xml").decode()
        slide_rels = zf.read("ppt/slides/_rels/slide2.xml.rels").decode()
    slide_rels = re.sub(r'<Relationship[^>]*notesSlide[^>]*/>', "", slide_rels)
    ns = ('xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
          'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"')
    parts: dict[str, bytes] = {}
    ids, rels, overrides = [], [], []
    size = 0
    n = 0
    while size < target:
        n += 1
        paras = "".join(f"<a:p><a:r><a:t>{escape(token_line(rng))}</a:t></a:r></a:p>" for _ in range(40))
        slide = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld {ns}><p:cSld><p:spTree>'
                 '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>'
                 '<p:sp><p:nvSpPr><p:cNvPr id="2" name="Body"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>'
                 f'<p:spPr/><p:txBody><a:bodyPr/>{paras}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
        parts[f"ppt/slides/slide{n}.xml"] = slide.encode()
        parts[f"ppt/slides/_rels/slide{n}.xml.rels"] = slide_rels.encode()
        ids.append(f'<p:sldId id="{255 + n}" r:id="rIdBench{n}"/>')
        rels.append(f'<Relationship Id="rIdBench{n}" Type="http://schemas.openxmlformats.org/'
                    f'officeDocument/2006/relationships/slide" Target="slides/slide{n}.xml"/>')
        overrides.append(f'<Override PartName="/ppt/slides/slide{n}.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.presentationml.slide+xml"/>')
        size += len(slide)
    presentation = re.sub(r"<p:sldIdLst>.*?</p:sldIdLst>", f"<p:sldIdLst>{''.join(ids)}</p:sldIdLst>",
                          presentation, flags=re.S)
    pres_rels = re.sub(r'<Relationship[^>]*relationships/slide"[^>]*/>', "", pres_rels)
    pres_rels = pres_rels.replace("</Relationships>", "".join(rels) + "</Relationships>")
    types = re.sub(r'<Override PartName="/ppt/slides/slide\d+\.xml"[^>]*/>', "", types)
    types = types.replace("</Types>", "".join(overrides) + "</Types>")
    parts["ppt/presentation.xml"] = presentation.encode()
    parts["ppt/_rels/presentation.xml.rels"] = pres_rels.encode()
    parts["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        stale = {n for n in zf.namelist() if n.startswith("ppt/notesSlides/")}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
        for info in src.infolist():
            if info.filename not in parts and info.filename not in stale \
                    and not info.filename.startswith("ppt/slides/"):
                dst.writestr(info.filename, src.read(info))
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


def heavy_zip(target: int, rng: random.Random) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        n = 0
        while out.tell() < target * 0.97:
            n += 1
            fmt = ("txt", "csv", "json")[n % 3]
            if fmt == "txt":
                data = "\n".join(token_line(rng) for _ in range(12_000)).encode()
            elif fmt == "csv":
                data = ("id,owner,note\n" + "\n".join(f"{i},user{i},{token_line(rng)}"
                                                      for i in range(12_000))).encode()
            else:
                data = json.dumps([{"id": i, "note": token_line(rng)} for i in range(10_000)]).encode()
            zf.writestr(f"export/part{n:03d}.{fmt}", data)
    return out.getvalue()


HEAVY_BUILDERS = {"pdf": heavy_pdf, "docx": heavy_docx, "xlsx": heavy_xlsx, "pptx": heavy_pptx,
                  "zip": heavy_zip}


# -- measurements -------------------------------------------------------------------------------

def throughput(fmt: str, blocks: list[str]) -> dict:
    doc = documents.render(fmt, [b for b in blocks] if fmt != "pdf" else [b.replace("\t", " ") for b in blocks])
    runs = []
    result = None
    for _ in range(3):
        start = time.perf_counter()
        result = extract(doc.data, doc.filename, doc.mime)
        runs.append(time.perf_counter() - start)
    seconds = statistics.median(runs)
    chars = sum(len(s.text) for s in result.segments)
    return {"format": fmt, "bytes": len(doc.data), "seconds": seconds,
            "mb_s": len(doc.data) / MIB / seconds, "text_mb_s": chars / 1e6 / seconds,
            "segments": result.segment_count, "status": result.status}


def measure_child(path: str, filename: str) -> None:
    """Subprocess entry: extract one file, print RSS figures (KiB) as JSON.

    RSS is sampled every 2 ms by a thread (``ru_maxrss`` is useless here: on Linux a child
    inherits its parent's high-water mark across fork/exec)."""
    import threading

    import psutil

    data = Path(path).read_bytes()
    extract(documents.render("txt", ["warm-up"]).data, "warm.txt")  # load lazily imported code
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = extract(data, filename, limits=ExtractLimits(time_budget_s=900))
    seconds = time.perf_counter() - start
    peak[0] = max(peak[0], proc.memory_info().rss)
    done.set()
    sampler.join()
    before, peak = before // 1024, peak[0] // 1024
    chars = sum(len(s.text) for s in result.segments)
    print(json.dumps({"before_kib": before, "peak_kib": peak, "seconds": seconds,
                      "status": result.status, "reason": result.reason,
                      "segments": result.segment_count, "chars": chars,
                      "skips": [(s.locator, s.reason) for s in result.skips[:3]]}))


def build_heavy(fmt: str, target: int, rng: random.Random) -> bytes:
    """A ``fmt`` file of about ``target`` bytes (within 85-100 %). PDF and ZIP builders aim at
    the file size; the XML builders take an XML size, scaled from a first attempt."""
    if fmt in ("pdf", "zip"):
        return HEAVY_BUILDERS[fmt](target, rng)
    xml_bytes = target * 2
    for _ in range(4):
        data = HEAVY_BUILDERS[fmt](int(xml_bytes), rng)
        if 0.85 * target <= len(data) <= target:
            break
        xml_bytes *= 0.95 * target / len(data)
    return data


def peak_memory(fmt: str, target: int, rng: random.Random, workdir: Path) -> dict:
    data = build_heavy(fmt, target, rng)
    path = workdir / f"heavy.{fmt}"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), f"heavy.{fmt}"],
                         capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures.update(format=fmt, bytes=len(data))
    path.unlink()
    return figures


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "load": load,
            "platform": platform.platform(), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def report(info: dict, rows: list[dict], heavy: list[dict], quick: bool, command: str) -> str:
    lines = [
        "# Extraction benchmark",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpu']}, {info['cores']} cores ({info['platform']})",
        f"- Python {info['python']}; single thread; {'quick run' if quick else 'full run'}",
        f"- Load average when the run started: {info['load']} (the machine is shared; numbers are"
        " wall-clock and drop when other jobs run)",
        f"- Command: `{command}`",
        "",
        "## Throughput per format",
        "",
        "Generated corpora (``vigil.synth.documents``, the same 3,000 work-like blocks in every",
        "format); MB/s is input MiB over wall time, median of 3 runs; text MB/s is millions of",
        "characters extracted per second (compressed containers have small inputs, so input MB/s",
        "understates them).",
        "",
        "| format | input | MB/s (input) | text M chars/s | segments | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['format']} | {r['bytes'] / MIB:.2f} MiB | {r['mb_s']:.1f} | "
                     f"{r['text_mb_s']:.1f} | {r['segments']} | {r['status']} |")
    lines += [
        "",
        "## Peak memory on a large file of each heavy format",
        "",
        "Each file is generated text-dense (random tokens, ~2:1 compression) just under the input",
        "cap and extracted in a fresh process. RSS before = interpreter + libraries + input bytes",
        "loaded; peak = highest RSS sampled every 2 ms during extraction (native allocations included).",
        "",
        "| format | input | text out | segments | time | RSS before | peak RSS | extraction delta | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for h in heavy:
        delta = (h["peak_kib"] - h["before_kib"]) / 1024
        outcome = h["status"] + (f" ({h['reason']})" if h["reason"] else "")
        if h["skips"]:
            outcome += f", skips: {h['skips']}"
        lines.append(f"| {h['format']} | {h['bytes'] / MIB:.1f} MiB | {h['chars'] / 1e6:.1f} M chars | "
                     f"{h['segments']} | {h['seconds']:.1f} s | {h['before_kib'] / 1024:.0f} MiB | "
                     f"{h['peak_kib'] / 1024:.0f} MiB | {delta:.0f} MiB | {outcome} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small corpora, 5 MiB heavy files")
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "extract.md"))
    args = parser.parse_args()
    if args.measure:
        measure_child(*args.measure)
        return
    info = machine()
    rng = random.Random(20260105)
    blocks = work_blocks(rng, 300 if args.quick else 3000)
    rows = []
    for fmt in THROUGHPUT_FORMATS:
        rows.append(throughput(fmt, blocks))
        print(f"{fmt:8s} {rows[-1]['bytes'] / MIB:7.2f} MiB {rows[-1]['mb_s']:8.1f} MB/s "
              f"{rows[-1]['text_mb_s']:8.1f} Mchars/s", flush=True)
    target = (5 if args.quick else 24) * MIB
    heavy = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in HEAVY:
            heavy.append(peak_memory(fmt, target, rng, Path(tmp)))
            h = heavy[-1]
            print(f"{fmt:5s} {h['bytes'] / MIB:5.1f} MiB peak {h['peak_kib'] / 1024:6.0f} MiB "
                  f"(before {h['before_kib'] / 1024:.0f}) {h['seconds']:.1f}s {h['status']} {h['reason']}",
                  flush=True)
    command = ".venv/bin/python bench/extract.py" + (" --quick" if args.quick else "")
    text = report(info, rows, heavy, args.quick, command)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
