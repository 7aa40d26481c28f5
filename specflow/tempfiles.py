"""Temporary files and folders with unguessable names, as ``tempfile.mkstemp`` and ``mkdtemp`` make them.

Importing ``tempfile`` (with the ``random`` it names them with) costs about 1 ms, and every
``advance`` needs both: it writes its records through temporary files and gives each agent a
private temporary folder.  Names here are ``tempfile``'s kind (eight characters of ``[a-z0-9_]``),
drawn from ``os.urandom``; creation is exclusive (``O_EXCL``, ``mkdir``), so a name already taken
is never opened: another is tried.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: Names tried before giving up, as ``tempfile`` does.
TRIES = 100
_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
#: How many characters ``_name`` draws.
_DRAWN = 8
#: Where ``temp_folder`` makes its folders when the environment names none (``tempfile``'s order).
SYSTEM_FOLDERS = ("/tmp", "/var/tmp", "/usr/tmp")

_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def _name(prefix: str, suffix: str) -> str:
    return prefix + "".join(_CHARACTERS[b % len(_CHARACTERS)] for b in os.urandom(_DRAWN)) + suffix


def temp_file(folder: Path, prefix: str, suffix: str = "") -> tuple[int, str]:
    """A new file in ``folder``, open for reading and writing (mode 0600): its descriptor and path."""
    for _ in range(TRIES):
        path = os.path.join(folder, _name(prefix, suffix))
        try:
            return os.open(path, _FILE_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no unused name for a temporary file after {TRIES} tries", str(folder))


def named_as_made(path: str, prefix: str) -> bool:
    """Whether ``path`` names a folder ``temp_folder(prefix)`` could have made: directly in the
    environment's or the system's temporary folder (links resolved, as ``path`` is), named
    ``prefix`` and eight characters as ``_name`` draws them; never the current folder, which any
    folder could be."""
    if not os.path.isabs(path):
        return False
    folder, name = os.path.split(os.path.normpath(path))
    drawn = name.removeprefix(prefix)
    if drawn == name or len(drawn) != _DRAWN or any(c not in _CHARACTERS for c in drawn):
        return False
    return folder in {os.path.realpath(f) for f in (*_named_folders(), *SYSTEM_FOLDERS)}


def _named_folders() -> list[str]:
    """The temporary folders the environment names: ``TMPDIR``, ``TEMP``, ``TMP``, in that order."""
    return [os.environ[var] for var in ("TMPDIR", "TEMP", "TMP") if os.environ.get(var)]


def candidate_folders() -> list[str]:
    """Where temporary folders may go, in ``tempfile``'s order: ``TMPDIR``, ``TEMP``, ``TMP``, the
    system's folders, then the current folder."""
    try:
        here = [os.getcwd()]
    except OSError:  # the current folder was removed
        here = []
    return [*_named_folders(), *SYSTEM_FOLDERS, *here]


def temp_folder(prefix: str) -> Path:
    """A new folder (mode 0700) in the first of ``candidate_folders`` that takes one: its absolute path."""
    refused: OSError | None = None
    for base in candidate_folders():
        for _ in range(TRIES):
            path = os.path.join(base, _name(prefix, ""))
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                continue
            except OSError as exc:  # missing, not a folder, not writable: the next one
                refused = exc
                break
            return Path(os.path.abspath(path))
    raise refused or FileExistsError(errno.EEXIST, "no unused name for a temporary folder")


__all__ = ["SYSTEM_FOLDERS", "TRIES", "candidate_folders", "named_as_made", "temp_file", "temp_folder"]
