"""The root Typer application; command modules attach their commands to it."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import NoReturn, TypeVar

import typer

from vigil.config import ConfigError

T = TypeVar("T")

app = typer.Typer(
    name="vigil",
    help="DLP connector for Anthropic's Compliance API.",
    no_args_is_help=True,
    add_completion=False,
    # Click's plain help: paragraphs re-wrapped to the terminal, no <bool>/<str> type markers
    # (options that take a value name it with a metavar such as PATH).
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,  # locals may hold the API key or matched secrets
)


def input_error(message: str, code: int = 2) -> NoReturn:
    """Report bad input as one line on stderr and exit with ``code`` (never a traceback)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def validated(check: Callable[[T, str], T], option: str, code: int = 2) -> Callable[[T], T]:
    """A Typer option callback running ``check(value, option)`` (a ``vigil.config.check_*``
    function); a ``ConfigError`` becomes a one-line error and exit ``code``."""

    def callback(value: T) -> T:
        if value is None:
            return value
        try:
            return check(value, option)
        except ConfigError as exc:
            input_error(str(exc), code)

    return callback


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vigil {metadata.version('vigil')}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                       help="Print vigil's version and exit.")) -> None:
    """DLP connector for Anthropic's Compliance API."""
