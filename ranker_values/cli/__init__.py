"""The ``ranker-values`` command line (entry point ``ranker_values.cli:main``).

* :mod:`ranker_values.cli.entry` — ``main``: the fast path when it takes the command line, else typer;
* :mod:`ranker_values.cli.commands` — the typer app: every command, its options, help and usage errors;
* :mod:`ranker_values.cli.fast` — plain ``validate``/``gen`` command lines, parsed without typer;
* :mod:`ranker_values.cli.run` — what both do once the arguments are parsed: printing, the error
  guard, ``--format json``, the bodies of ``validate`` and ``gen``.

``from ranker_values.cli import app`` (and any other name of the typer module) still works: names
not defined here are looked up in :mod:`ranker_values.cli.commands`, which is imported only then.
"""

from __future__ import annotations

from typing import Any

from ranker_values.cli.entry import main

_SUBMODULES = frozenset({"commands", "entry", "fast", "run"})


def __getattr__(name: str) -> Any:
    if name.startswith("__") or name in _SUBMODULES:  # submodules: the import system loads them
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module("ranker_values.cli.commands"), name)
