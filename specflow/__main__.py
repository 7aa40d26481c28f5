"""``python -m specflow``."""

from specflow.cli.start import entry

entry()
