"""``python -m platekeeper`` runs the command line."""

from platekeeper.cli import main

main()
