"""Lazy package exports (PEP 562): a name loads its submodule on first access.

A package ``__init__`` that imports every submodule makes ``import pkg.small`` pay for
PyAV, whisper or torch wrappers it never uses. Instead it keeps a table of public name ->
submodule and lets :func:`lazy_exports` build the module-level ``__getattr__`` and
``__dir__``; static tools (mypy, IDEs, griffe) see the same names through imports under
``if TYPE_CHECKING:``::

    from typing import TYPE_CHECKING

    from contextual_avatar._lazy import lazy_exports

    if TYPE_CHECKING:
        from contextual_avatar.codecs._video import VideoEncoder

    __all__ = ["VideoEncoder"]

    if not TYPE_CHECKING:  # mypy reads the imports above; only the runtime is lazy
        __getattr__, __dir__ = lazy_exports(__name__, {"VideoEncoder": "._video"})

The ``if not TYPE_CHECKING`` guard keeps mypy from treating the generated ``__getattr__``
as a catch-all, so a misspelt import is still a type error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for a package that exports names lazily.

    Args:
        package: The package's ``__name__``.
        table: Public name -> the module defining it, absolute
            (``contextual_avatar.codecs._video``) or relative to ``package``
            (``._video``). A name whose module *is* ``package.name`` resolves to that
            submodule itself (``{"tools": ".tools"}``).

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level. ``__getattr__``
        imports the module on first access and caches the value in the package, so later
        lookups are plain attribute reads; an unknown name raises :class:`AttributeError`
        as usual. ``__dir__`` lists ``__all__`` (or the table) and the private names
        already bound, not helper imports such as ``TYPE_CHECKING``.
    """
    names = dict(table)

    def __getattr__(name: str) -> Any:
        try:
            target = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(target, package)
        if module.__name__ == f"{package}.{name}":
            value: Any = module
        else:
            value = getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        namespace = vars(sys.modules[package])
        public = namespace.get("__all__", names)
        return sorted({*public, *(n for n in namespace if n.startswith("_"))})

    return __getattr__, __dir__
