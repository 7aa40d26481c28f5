"""How specflow replaces a file it keeps: atomically (readers see the old file or the new one), and
durably where asked, the syncs an attempt waits for running in a thread while it goes on until
it ``settle``s (see ``specflow.changestate.records``)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from specflow.tempfiles import temp_file

_UMASK: list[int] = []


def _umask() -> int:
    """The process umask, read once (reading it means setting it, so not on every write)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


class _Pending(threading.local):
    """This thread's syncs (and the renames after them) running in threads of their own."""

    def __init__(self) -> None:
        self.works: list[tuple[threading.Thread, list[BaseException]]] = []

    def start(self, work: Callable[[], None]) -> None:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # raised again by the thread that settles
                errors.append(exc)

        thread = threading.Thread(target=run, name="specflow-sync")
        thread.start()
        self.works.append((thread, errors))

    def settle(self) -> None:
        while self.works:
            thread, errors = self.works.pop(0)
            thread.join()
            if errors:
                raise errors[0]


_PENDING = _Pending()


def sync_later(work: Callable[[], None]) -> None:
    """Run ``work`` (a sync, or a write, sync and rename) in a thread of its own; ``settle`` waits for it."""
    _PENDING.start(work)


def settle() -> None:
    """Wait until every record this thread wrote is in place and on disk; raises what a sync or
    rename running meanwhile met.  Every reader and writer of the records settles first, so none
    sees them out of order."""
    _PENDING.settle()


def _sync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write(path: Path, text: str, *, durable: bool = True, later: bool = False, ordered: bool = True) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never half of one.

    ``durable``: on disk before returning (file and folder synced), so it survives a power cut.
    ``later`` (with ``durable``): written, synced and renamed into place in a thread; ``settle``
    waits for it (every reader and writer here does).  ``ordered`` False: a file no record
    depends on (a copy kept for display), written without waiting for records still being synced.
    """
    if ordered:
        settle()
    if durable and later:
        _PENDING.start(lambda: _replace(path, text, durable=True))
    else:
        _replace(path, text, durable=durable)


def _replace(path: Path, text: str, *, durable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent, f".{path.name}.", ".tmp")
    try:
        # temporary files are made 0600; give the file the mode a plain write would (0666 & ~umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _sync_folder(path.parent)
