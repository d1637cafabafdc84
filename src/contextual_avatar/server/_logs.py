"""Access logs without session ids or questions.

uvicorn's access log prints each request's path with its query; for the native API that
would put a caller's session id (``/api/sessions/<id>/...``) and, on the ``GET`` stream,
their question in the log. :class:`RedactAccess` rewrites the path before it is written:
the session id becomes its tag (:func:`contextual_avatar.cache.session_tag`, the same
hash the engine logs) and the query string is dropped.
"""

from __future__ import annotations

import logging
import re

from contextual_avatar.cache import session_tag

__all__ = ["RedactAccess", "install_redaction", "redact_path"]

_SESSION = re.compile(r"^(/api/sessions/)([^/?]+)")


def redact_path(path: str) -> str:
    """``path`` with its session id hashed and its query removed."""
    path = path.split("?", 1)[0]
    return _SESSION.sub(lambda m: m.group(1) + "~" + session_tag(m.group(2)), path)


class RedactAccess(logging.Filter):
    """Hashes session ids in uvicorn access records (``args[2]`` is the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path; never drops a record."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install_redaction() -> None:
    """Attach :class:`RedactAccess` to uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccess) for f in logger.filters):
        logger.addFilter(RedactAccess())
