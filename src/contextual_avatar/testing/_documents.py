"""Make small real documents for tests and examples (needs the ``fpdf2`` dev dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from contextual_avatar.errors import MissingDependencyError

__all__ = ["make_pdf"]


def make_pdf(path: Path, pages: Sequence[str], *, password: str | None = None) -> Path:
    """Write a PDF with one page per string, each with a real text layer.

    Args:
        path: Where to write it.
        pages: Text of each page; an empty string makes a page with no text layer.
        password: Encrypt the file with this user password (AES-256).

    Returns:
        ``path``.
    """
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise MissingDependencyError("make_pdf", "dev", "fpdf2") from exc
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=12)
    pdf.set_auto_page_break(auto=False)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 7, text)
    if password is not None:
        from fpdf.enums import EncryptionMethod

        pdf.set_encryption(
            owner_password=password + "-owner",
            user_password=password,
            encryption_method=EncryptionMethod.AES_256,
        )
    pdf.output(str(path))
    return path
