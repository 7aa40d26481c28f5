"""Removing a folder and everything in it, however deep.

``shutil.rmtree`` goes one call deeper per folder level, so a tree nested deeper than Python's
stack (an agent can make a path 1,200 folders deep in a second) stops it with ``RecursionError``,
which its ``ignore_errors`` does not cover: the rest of the tree stays, and whatever was cleaning
up fails.  ``remove_tree`` walks the tree with a list instead.  Symbolic links are removed, never
followed; the folders are listed one at a time, so no more than one is open at once.
"""

from __future__ import annotations

import os


def remove_tree(path: str | os.PathLike[str], *, ignore_errors: bool = False) -> None:
    """Remove the folder ``path`` with everything below it, as ``shutil.rmtree`` does.

    The first ``OSError`` is raised (a missing ``path`` too), unless ``ignore_errors``: then what
    can be removed is, and the rest is left.  ``path`` itself must not be a symbolic link.
    """
    top = os.fspath(path)
    if os.path.islink(top):
        if ignore_errors:
            return
        raise OSError(f"cannot remove the tree of a symbolic link: {top}")
    for folder in reversed(_empty(top, ignore_errors)):  # each folder is listed after its parent
        try:
            os.rmdir(folder)
        except OSError:
            if not ignore_errors:
                raise


def _empty(top: str, ignore_errors: bool) -> list[str]:
    """Remove every file and link below ``top``; every folder found, ``top`` first."""
    folders: list[str] = []
    todo = [top]
    while todo:
        folder = todo.pop()
        folders.append(folder)
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            if not ignore_errors:
                raise
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                if not ignore_errors:
                    raise
    return folders
