"""Starting one of specflow's modules in a bare interpreter: ``python -I -S -c boot_code(module)``.

The sandbox's supervisor and Claude Code's guard hook start once per agent and once per tool call,
so their start-up counts.  ``-I -S`` keeps the working directory (which an agent can write), the
environment's ``PYTHON*`` variables and every site-packages folder off ``sys.path``; the code
below stands bare package objects in for the ``__init__`` of each package above the module (they
import typing and more), so only the module's own imports load, from this installation alone.
"""

from __future__ import annotations

from pathlib import Path

#: The folder holding the ``specflow`` package.
ROOT = str(Path(__file__).resolve().parent.parent)


def boot_code(module: str) -> str:
    """Python source that imports ``module`` from this installation and exits with its ``main()``."""
    parts = module.split(".")[:-1]
    packages = [(".".join(parts[: i + 1]), str(Path(ROOT, *parts[: i + 1]))) for i in range(len(parts))]
    return (
        "import sys,types\n"
        f"for n,p in {packages!r}:\n"
        " m=types.ModuleType(n);m.__path__=[p];sys.modules[n]=m\n"
        f"from {module} import main\n"
        "sys.exit(main())"
    )


__all__ = ["ROOT", "boot_code"]
