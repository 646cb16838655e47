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


def tidy_help(typer_app: typer.Typer) -> typer.Typer:
    """Give every command a one-sentence summary and every value option a metavar.

    Click shortens a summary it derives itself to 45 characters with "...", and an option with
    no metavar shows Typer's type marker (``<str>``); both read badly (issue 10). Commands and
    options that set their own keep them.
    """
    import inspect as _inspect  # noqa: PLC0415
    import re  # noqa: PLC0415

    from typer.models import ArgumentInfo, DefaultPlaceholder, OptionInfo  # noqa: PLC0415

    def unset(value: object) -> bool:
        return value is None or isinstance(value, DefaultPlaceholder)

    def value(v: object) -> object:
        return v.value if isinstance(v, DefaultPlaceholder) else v

    def summary(callback: Callable | None, help_text: str | None) -> str | None:
        text = help_text or (_inspect.getdoc(callback) if callback else None)
        if not text:
            return None
        first = " ".join(text.strip().split("\n\n")[0].split())
        return re.split(r"(?<=[.;:])\s", first, maxsplit=1)[0].rstrip(".;:") + "."

    def name_values(callback: Callable | None) -> None:
        if callback is None:
            return
        for param in _inspect.signature(callback).parameters.values():
            info = param.default
            if isinstance(info, (OptionInfo, ArgumentInfo)) and info.metavar is None:
                if isinstance(info, OptionInfo) and param.annotation in (bool, "bool"):
                    continue  # flags take no value
                info.metavar = param.name.upper().replace("_", "-")

    for command in typer_app.registered_commands:
        name_values(command.callback)
        if unset(command.short_help):
            command.short_help = summary(command.callback, value(command.help))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is not None and unset(group.short_help) and unset(sub.info.short_help):
            sub.info.short_help = summary(value(sub.info.callback), value(group.help) or value(sub.info.help))
        if sub is not None:
            tidy_help(sub)
    return typer_app
