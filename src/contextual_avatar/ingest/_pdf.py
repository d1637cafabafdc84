"""PDF files: one segment per page, pages numbered from 1, read with pypdf."""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._text import clean_text
from contextual_avatar.types import Segment, SourceRef

__all__ = ["load_pdf"]

log = logging.getLogger(__name__)
# pypdf logs a warning for every malformed object it repairs; one line per file is enough.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def load_pdf(path: Path) -> list[Segment]:
    """Extract the text of each page.

    Encrypted PDFs with an empty user password (common for "print-protected" files) are
    opened; others are refused.

    Raises:
        IngestError: The PDF is corrupt, encrypted, has no pages, or no page has a text
            layer (a scan needs OCR, which this library does not do).
    """
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(path, "the PDF is encrypted with a password")
        pages = [clean_text(page.extract_text() or "") for page in reader.pages]
    except IngestError:
        raise
    except FileNotDecryptedError as exc:
        raise IngestError(path, "the PDF is encrypted with a password") from exc
    except NotImplementedError as exc:
        raise IngestError(path, f"unsupported PDF feature: {exc}") from exc
    except RecursionError as exc:
        raise IngestError(path, "the PDF's object tree loops back on itself") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        # pypdf raises a mix of its own and builtin errors on damaged files.
        raise IngestError(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise IngestError(path, "the PDF has no pages")
    segments = [
        Segment(text=text, ref=SourceRef(source=path.name, page=number))
        for number, text in enumerate(pages, start=1)
        if text
    ]
    if not segments:
        raise IngestError(
            path, f"none of its {len(pages)} page(s) has a text layer (scanned? OCR it first)"
        )
    if len(segments) < len(pages):
        log.info(
            "%s: %d of %d pages have no text", path.name, len(pages) - len(segments), len(pages)
        )
    return segments
