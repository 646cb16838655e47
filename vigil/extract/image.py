"""Images: OCR through the Tesseract command-line program when it is installed.

No Python OCR binding is used: ``tesseract`` is run as a subprocess reading the image from stdin
(nothing is written to disk) with the remaining time budget as its timeout. Without a
``tesseract`` binary on PATH the image is skipped as ``ocr_unavailable``.

Locator: ``text`` (the recognised text of the image).
"""

from __future__ import annotations

import shutil
import subprocess

from vigil.extract.context import BudgetExhausted, Context, Skipped


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def extract_image(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    binary = tesseract_path()
    if binary is None:
        raise Skipped("ocr_unavailable", "no tesseract binary on PATH")
    try:
        done = subprocess.run([binary, "stdin", "stdout"], input=data, capture_output=True,
                              timeout=max(1.0, ctx.remaining_seconds()), check=False)
    except subprocess.TimeoutExpired:
        raise BudgetExhausted("timeout", "OCR did not finish within the time budget") from None
    if done.returncode != 0:
        raise Skipped("corrupt", f"tesseract failed: {done.stderr.decode(errors='replace')[:200]}")
    ctx.add("text", done.stdout.decode("utf-8", errors="replace"))
