"""What the sample guide's answers must say, tolerant of the answerer's sentence choice."""

from __future__ import annotations


def children_price(text: str) -> bool:
    """An answer about what children pay: the follow-up read in the light of the ticket turn.

    The offline answerer may pick either sentence of the guide on children's tickets.
    """
    return "euros" in text and "children" in text.lower()
