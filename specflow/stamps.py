"""Stamps: what identifies one version of a file, for the indexes that skip work while files stay put.

A stamp is ``[path, inode, size, mtime_ns]`` (``[path, None, None, None]`` for a path that does not
exist): a write, a replace or a removal changes it.  One taken within ``RACY_NS`` of the file's last
change is not trusted, since a second write in the same clock tick would leave it as it is.
``status`` (``engine/statusindex.py``) and ``validate`` (``openspec/validindex.py``) keep them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

#: A file changed this recently may change again within the same mtime tick, unseen by its stamp.
RACY_NS = 2_000_000_000

Stamp = list[Any]
"""``[path, inode, size, mtime_ns]``; ``[path, None, None, None]`` for a path that does not exist."""


def stamp(path: str) -> Stamp:
    """What identifies one version of ``path``: a write, a replace or a removal changes it."""
    try:
        st = os.stat(path)
    except OSError:
        return [path, None, None, None]
    return [path, st.st_ino, st.st_size, st.st_mtime_ns]


def current(stamps: Iterable[Stamp]) -> bool:
    """True while every path of ``stamps`` is the version stamped."""
    lookup = os.stat
    for path, ino, size, mtime_ns in stamps:  # thousands of stamps: no lists built on the way
        try:
            st = lookup(path)
        except OSError:
            if ino is not None:
                return False
            continue
        if st.st_mtime_ns != mtime_ns or st.st_size != size or st.st_ino != ino:
            return False
    return True


def settled(stamps: Iterable[Stamp], now_ns: int) -> bool:
    """True when no path of ``stamps`` changed within ``RACY_NS`` of ``now_ns`` (its stamp can be trusted)."""
    return all(s[3] is None or now_ns - s[3] >= RACY_NS for s in stamps)


__all__ = ["RACY_NS", "Stamp", "current", "settled", "stamp"]
