"""The root Typer application; command modules attach their commands to it."""

import typer

app = typer.Typer(
    name="vigil",
    help="DLP connector for Anthropic's Compliance API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold the API key or matched secrets
)
