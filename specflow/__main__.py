"""``python -m specflow``."""

from specflow.cli.main import entry

entry()
