"""``python -m ranker_values.cli``: the same as the ``ranker-values`` script."""

from ranker_values.cli.entry import main

main()
