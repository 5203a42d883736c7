"""`python -m app.cli`: the same command line as the `mlops-studio` console script."""

from app.cli import main

main()
