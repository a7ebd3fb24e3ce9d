"""``python -m connector``: the same as the ``tiersync`` command."""

from connector.cli import main

main()
