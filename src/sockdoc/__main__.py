"""``python -m sockdoc``."""

from sockdoc.cli import main

main()
