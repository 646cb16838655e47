"""``vigil native build|status``: the compiled detection engine (``vigil.detect.native``)."""

from __future__ import annotations

import json

import typer

from vigil.cli.app import app

native_app = typer.Typer(help="The detection engine compiled with mypyc (docs/detection.md, \"Compiled engine\").",
                         short_help="Build the compiled detection engine, or say whether it is in use.",
                         no_args_is_help=True)
app.add_typer(native_app, name="native")


@native_app.command("build")
def build() -> None:
    """Compile the detection modules (needs mypy, setuptools and a C compiler; `make install` runs this)."""
    from vigil.detect.native import build as build_native

    typer.echo(f"compiled vigil.detect: {build_native()}")


@native_app.command("status")
def status() -> None:
    """Say whether scans run the compiled modules, why not, and where each module is loaded from."""
    import vigil.detect.engine  # noqa: F401 - load the modules whose origin is reported
    from vigil.detect.native import status as native_status

    typer.echo(json.dumps(native_status(), indent=1))
