"""Where specflow's built-in workflows, templates and examples live, installed or in a checkout."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def builtin_dir(kind: str) -> Path:
    """The built-in folder ``kind`` (``workflows``, ``templates`` or ``examples``).

    In a wheel they are package data under ``specflow/_data/``; in a source checkout (editable
    install) they are the top-level folders beside the package.
    """
    packaged = _PACKAGE / "_data" / kind
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / kind


def user_data_dir(kind: str) -> Path:
    """``$XDG_DATA_HOME/specflow/<kind>`` (default ``~/.local/share/specflow/<kind>``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "specflow" / kind


def search_path(kind: str, hub_root: Path | None) -> list[Path]:
    """Folders searched for ``kind``, first hit wins: the hub's, the user's, the built-ins."""
    dirs: list[Path] = []
    if hub_root is not None:
        dirs.append(hub_root / "openspec" / kind)
    dirs.append(user_data_dir(kind))
    dirs.append(builtin_dir(kind))
    return dirs
