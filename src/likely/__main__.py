"""`python -m likely` runs the command line."""

from likely.cli import main

main()
