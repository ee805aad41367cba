"""``main``: the fast path (:mod:`ranker_values.cli.fast`) when it takes the command line, else the
typer app (:mod:`ranker_values.cli.commands`); re-exported as ``ranker_values.cli:main``."""

from __future__ import annotations

import sys


def main() -> None:
    from ranker_values.files.atomic import Interrupted, install_interrupt_handlers

    install_interrupt_handlers()  # SIGTERM too: temporary files are cleaned up, a message says so
    try:
        import ranker_values.cli.fast as fast

        if not fast.run(sys.argv[1:]):
            from ranker_values.cli.commands import run_app

            run_app()
    except Interrupted as stop:
        from ranker_values.cli.run import echo

        echo(f"ranker-values: interrupted ({stop.name}); nothing half-written was left behind", err=True)
        raise SystemExit(stop.exit_code) from None
