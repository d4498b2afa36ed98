"""Is a PDF blank? Page 1 rendered to pixels (PDFium, through pypdfium2), and the page's own drawing: its content
stream must paint text (the report's words), not an empty page."""

from __future__ import annotations

import re
import zlib

import pypdfium2  # type: ignore[import-untyped]
from PIL import Image

STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _streams(pdf: bytes) -> list[bytes]:
    found = []
    for raw in STREAM.findall(pdf):
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            found.append(raw)
    return found


def text_operators(pdf: bytes) -> int:
    """How many text-showing operators (Tj, TJ) the PDF's content streams hold: zero on a blank page."""
    return sum(len(re.findall(rb"\)\s*Tj|\]\s*TJ", stream)) for stream in _streams(pdf))


def page_one_png(pdf: bytes) -> Image.Image:
    """Page 1 as an image, rendered by PDFium (pypdfium2, a test dependency)."""
    return pypdfium2.PdfDocument(pdf)[0].render(scale=1).to_pil()


def assert_pdf_not_blank(pdf: bytes) -> None:
    """A real PDF whose first page paints text, and whose page 1 in pixels is not one flat colour (at least 1% of it
    darker than light grey)."""
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-1024:]
    assert text_operators(pdf) >= 20, "the PDF paints almost no text"
    grey = page_one_png(pdf).convert("L")
    dark = sum(grey.histogram()[:200])
    assert dark >= grey.width * grey.height * 0.01, "page 1 renders blank"
