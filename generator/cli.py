"""The `ranker-values` command line: parse arguments, call one function, print, exit.

Keep this module light: it is imported on every start, so heavy modules (boto3, kubernetes,
xgboost, helm_python) are only imported inside the command that needs them.
"""

from __future__ import annotations

import typer

from generator import __version__
from generator.errors import RankerError

app = typer.Typer(
    name="ranker-values",
    help="Validate a Metarank 0.4 ranking config, generate Helm values for charts/ranker, "
    "and operate the deployment (savepoints, upgrade plans, preflight checks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(err: RankerError) -> typer.Exit:
    """Print a domain error (message + diagnostics) to stderr and return the Exit to raise."""
    from generator.report import render_error

    typer.echo(render_error(err), err=True)
    return typer.Exit(err.exit_code)


# --- validate / gen / schema (issue 2) -------------------------------------------------------

# --- savepoint / upgrade-values / plan (issue 4) ---------------------------------------------

# --- check (issue 5) -------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ranker-values {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    pass


def main() -> None:
    app()
