"""PDF text with pypdfium2.

Why pypdfium2: it binds Google's PDFium (the Chrome PDF engine): fast C++ text extraction with
correct reading order, robust repair of damaged files, wheels for every platform, actively
released. PDFium reports password-protected files with its own error code, so no second library
is needed to tell ``encrypted`` from ``corrupt``. PDFium is not thread-safe: calls are serialised
with a process-wide lock.

Locators: ``page:N`` (1-based), one segment per page.
"""

from __future__ import annotations

import threading

import pypdfium2 as pdfium

from vigil.extract.context import Context, Skipped

_PDFIUM_LOCK = threading.Lock()
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


def extract_pdf(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == _PASSWORD_ERROR:
                raise Skipped("encrypted", "PDF needs a password") from None
            raise Skipped("corrupt", f"PDF: {exc}") from None
        try:
            if len(document) == 0:
                raise Skipped("corrupt", "PDF has no pages")
            for index in range(len(document)):
                ctx.check_time()
                try:
                    page = document[index]
                    textpage = page.get_textpage()
                    text = textpage.get_text_range()
                    textpage.close()
                    page.close()
                except pdfium.PdfiumError as exc:
                    ctx.skip(ctx.locator(f"page:{index + 1}"), "corrupt", f"PDF page: {exc}")
                    continue
                ctx.add(f"page:{index + 1}", text.replace("\r\n", "\n").replace("\r", "\n"))
        finally:
            document.close()
