"""PDF files: one segment per page, pages numbered from 1, read with pypdf."""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._text import clean_text
from contextual_avatar.types import Segment, SourceRef

__all__ = ["load_pdf"]

log = logging.getLogger(__name__)
# pypdf logs a warning for every malformed object it repairs; one line per file is enough.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# Decompression-bomb guard. Page content (content streams and the Form XObjects a page
# draws) inflates 3-10x in real text PDFs; a bomb inflates 1,000x and more, and pypdf's
# text extraction then parses every inflated byte (about 6 MB/s), page after page. The
# content a document may inflate to is capped before any page is parsed.
MAX_CONTENT_RATIO = 200
MIN_CONTENT_BUDGET = 16 * 1024 * 1024
_MAX_FORM_DEPTH = 8


def content_budget(file_bytes: int) -> int:
    """Bytes of inflated page content a PDF of ``file_bytes`` may hold."""
    return max(MIN_CONTENT_BUDGET, MAX_CONTENT_RATIO * file_bytes)


def _stream_bytes(obj: object, depth: int = 0) -> int:
    """Inflated size of a content stream (or array of them) and the forms it may draw."""
    if isinstance(obj, IndirectObject):
        obj = obj.get_object()
    if isinstance(obj, ArrayObject):
        return sum(_stream_bytes(item, depth) for item in obj)
    if not isinstance(obj, StreamObject):
        return 0
    total = len(obj.get_data())  # pypdf caches the decoded data on the object
    if depth < _MAX_FORM_DEPTH:
        total += _form_bytes(obj.get("/Resources"), depth + 1)
    return total


def _form_bytes(resources: object, depth: int) -> int:
    if isinstance(resources, IndirectObject):
        resources = resources.get_object()
    if not isinstance(resources, DictionaryObject):
        return 0
    xobjects = resources.get("/XObject")
    if isinstance(xobjects, IndirectObject):
        xobjects = xobjects.get_object()
    if not isinstance(xobjects, DictionaryObject):
        return 0
    total = 0
    for ref in xobjects.values():
        form = ref.get_object() if isinstance(ref, IndirectObject) else ref
        if isinstance(form, StreamObject) and form.get("/Subtype") == "/Form":
            total += _stream_bytes(form, depth)
    return total


def _page_content_bytes(page: DictionaryObject) -> int:
    return _stream_bytes(page.get("/Contents")) + _form_bytes(page.get("/Resources"), 1)


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
        budget = content_budget(path.stat().st_size)
        inflated = 0
        for page in reader.pages:  # sizes first: nothing is parsed before the check
            inflated += _page_content_bytes(page)
            if inflated > budget:
                raise IngestError(
                    path,
                    f"decompression bomb: its pages inflate to more than {budget:,} bytes of "
                    f"content from a {path.stat().st_size:,}-byte file",
                )
        pages = [clean_text(page.extract_text() or "") for page in reader.pages]
    except IngestError:
        raise
    except FileNotDecryptedError as exc:
        raise IngestError(path, "the PDF is encrypted with a password") from exc
    except NotImplementedError as exc:
        raise IngestError(path, f"unsupported PDF feature: {exc}") from exc
    except RecursionError as exc:
        raise IngestError(path, "the PDF's object tree loops back on itself") from exc
    except PyPdfError as exc:
        if "cyclic" in str(exc).lower():
            raise IngestError(path, "the PDF's page tree loops back on itself") from exc
        raise IngestError(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
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
