"""``python -m kfctl``: the same entry point as the ``kfctl`` console script."""

from kfctl.cli.main import main

main()
