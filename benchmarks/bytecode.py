"""Byte-compile specflow before timing its start-up, as ``pip install .`` does.

An editable install in an environment with ``PYTHONDONTWRITEBYTECODE`` set (CI images often set
it) never writes ``.pyc`` files, so every ``specflow`` process would compile every module it
imports again; a user's installed specflow does not.  Used by the start-up benchmarks.
"""

from __future__ import annotations

import compileall
import sys
from pathlib import Path


def compile_specflow() -> None:
    import specflow

    compileall.compile_dir(Path(specflow.__file__).parent, quiet=1)


def specflow_command() -> list[str]:
    """The ``specflow`` a user runs: the console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "specflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "specflow"]
