"""Text analysis shared by the lexical index and conversation state.

Lower-cased word terms without stop words, with a light suffix stripper so "tickets"
matches "ticket"; and named entities (capitalised words that are not sentence starters
or stop words), which the conversation state carries from turn to turn.
"""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "entities", "stem", "terms"]

_WORD = re.compile(r"\w+")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*[a-z][\w'-]*\b")

STOP_WORDS = frozenset(
    """
    a an and are as at be but by can could did do does done for from had has have he her
    hers him his how i if in into is it its me my no not of on or our she so than that the
    their them then there these they this to was we were what when where which who whom why
    will with would you your about after also any been being both each more most other some
    such only own same just am say said says tell told get got yes
    """.split()
)


def stem(word: str) -> str:
    """Strip one common English suffix when at least three letters remain."""
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Index terms of ``text``: lower-cased, stop words and one-letter words dropped, stemmed."""
    return [stem(w) for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOP_WORDS]


def entities(text: str) -> list[str]:
    """Capitalised words that name something ("Duane", "Euchre"), in order, without repeats.

    A capitalised stop word ("The", "What") is not an entity; a word capitalised only
    because it starts the text is kept only if it is not a stop word either.
    """
    seen: dict[str, None] = {}
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        if word.lower() not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)
