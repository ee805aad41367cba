"""``python -m generator.cli``: the same as the ``ranker-values`` script."""

from generator.cli.entry import main

main()
