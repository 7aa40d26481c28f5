"""The entry points of one group, read from the installed distributions' ``entry_points.txt``.

``importlib.metadata`` answers the same question but imports ``email``, ``zipfile`` and ``csv``
first (about 30 ms, a quarter of an ``advance``'s imports); every step registry and adapter
look-up asks it.  This reads the files directly: each ``*.dist-info`` / ``*.egg-info`` folder on
``sys.path``, the first distribution of a name winning, as ``importlib.metadata`` does.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any, NamedTuple

_SECTION = re.compile(r"^\[\s*([^\]]+?)\s*\]\s*$")
_ENTRY = re.compile(r"^([^=\s][^=]*?)\s*=\s*(.+?)\s*$")


class EntryPoint(NamedTuple):
    """``name = module:attr`` in the group; ``load()`` imports it."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        module_name, _, attrs = self.value.partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.split("[")[0].strip().split(".")):
            target = getattr(target, attr)
        return target


def _distribution(folder: str) -> str:
    """A distribution's normalised name from its metadata folder (``My_Pkg-1.0.dist-info`` → ``my-pkg``)."""
    name = folder.rsplit(".", 1)[0].split("-", 1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _entries(text: str, group: str) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
        elif section == group and (entry := _ENTRY.match(line)):
            found.append(EntryPoint(entry.group(1), entry.group(2), group))
    return found


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point in ``group``, in ``sys.path`` order."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in sys.path:
        try:
            folders = sorted(e.name for e in os.scandir(entry or ".") if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue  # a zip file or a missing folder holds no distribution we read
        for folder in folders:
            name = _distribution(folder)
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(os.path.join(entry or ".", folder, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if group in text:
                found.extend(_entries(text, group))
    return found
