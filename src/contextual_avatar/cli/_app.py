"""The command group and what every command shares: consoles, escaping, errors, settings.

Whatever a user supplied (names, paths, answers, errors) is printed escaped through
:func:`q`, as Rich would read ``notes [v2].txt`` as markup, drop ``[v2]`` or crash.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from contextual_avatar.config import ENV_PREFIX, EngineConfig
from contextual_avatar.errors import ContextualAvatarError

__all__ = [
    "DATA_ENV",
    "Collection",
    "DataDir",
    "app",
    "config_for",
    "console",
    "err",
    "friendly",
    "q",
]

DATA_ENV = ENV_PREFIX + "DATA_DIR"
_HELP = "Give an interactive avatar cited answers from your documents, cache first."


class _Group(TyperGroup):
    """The command group; its help names the data folder as resolved when help is shown."""

    def format_help(self, ctx: Any, formatter: Any) -> None:  # Any: click's or typer's copy
        """Name the folder now: it depends on the environment of the call, not the import."""
        try:
            folder = f"Data folder: {q(config_for(None).data_dir.resolve())} ({source_of(None)})."
        except ContextualAvatarError as exc:
            folder = f"Data folder: cannot be resolved: {q(exc)}."
        hint = f"Change it with {DATA_ENV}=/another/folder or a command's --data-dir."
        self.help = f"{_HELP}\n\n{folder} {hint} `contextual-avatar where` shows what it holds."
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="contextual-avatar",
    cls=_Group,
    help=_HELP,
    rich_markup_mode="rich",  # what q escapes for, whatever typer's default
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No emoji codes: a file named ":fire:.txt" must print as such.
console = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")


def q(value: object) -> str:
    """``value`` as text Rich prints verbatim (never as markup)."""
    return escape(str(value))


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one clear line on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ContextualAvatarError as exc:
            err.print(f"[red]error:[/red] {q(exc)}")
            raise typer.Exit(code=1) from None

    return run


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"The data folder (default: {DATA_ENV}, else per-user)."),
]


Collection = Annotated[
    str,
    typer.Option(
        "--collection", "-c", help="The knowledge base (1-64 of a-z 0-9 _ -); default: default."
    ),
]


def config_for(data_dir: Path | None) -> EngineConfig:
    """The settings of a command: the environment's, with ``--data-dir`` over them."""
    return EngineConfig.from_env(**({"data_dir": data_dir} if data_dir is not None else {}))


def source_of(data_dir: Path | None) -> str:
    """Which setting chose the data folder, so a user knows what to change."""
    if data_dir is not None:
        return "from --data-dir"
    by_env = any(name.upper() == DATA_ENV for name in os.environ)  # read case-insensitively
    return f"from {DATA_ENV}" if by_env else "the per-user default"


def main() -> None:
    """Entry point of the ``contextual-avatar`` command."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
