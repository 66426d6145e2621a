"""Reading the documents the portal produces (certificate PDFs) back as text."""
from __future__ import annotations

import io

import pypdf


def pdf_text(data: bytes) -> str:
    """The text of a one-page PDF, as a reader would extract it."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return "\n".join(page.extract_text() for page in reader.pages)
