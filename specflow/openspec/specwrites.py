"""Writing main specs so that a failed archive changes nothing: snapshots, rollback, atomic replace.

Archive snapshots every spec it will touch, writes each one atomically, and on any failure puts
the snapshots back (removing the folders it created), so the tree is as it was before.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from specflow.structs import Struct


class Snapshot(Struct):
    """A spec as it was before archive touched it, and the folders archive created for it."""

    target: Path
    existed: bool
    content: bytes | None
    created_dirs: list[Path]


def snapshot(target: Path, specs_dir: Path) -> Snapshot:
    """Remember ``target`` (its bytes, or that it and some folders above it did not exist)."""
    try:
        content = target.read_bytes()
        return Snapshot(target, True, content, [])
    except FileNotFoundError:
        created: list[Path] = []
        d = target.parent
        while d != specs_dir and not d.exists() and specs_dir in d.parents:
            created.append(d)
            d = d.parent
        return Snapshot(target, False, None, created)


def restore(snapshots: list[Snapshot]) -> list[str]:
    """Put every snapshot back, newest first; the problems met, one line each."""
    errors = []
    for s in reversed(snapshots):
        try:
            if s.existed and s.content is not None:
                s.target.parent.mkdir(parents=True, exist_ok=True)
                s.target.write_bytes(s.content)
            else:
                s.target.unlink(missing_ok=True)
                for d in s.created_dirs:
                    try:
                        d.rmdir()
                    except OSError:
                        break
        except OSError as exc:
            errors.append(f"{s.target}: {exc.strerror or exc}")
    return errors


def prune_empty(start: Path, boundary: Path) -> None:
    """Remove ``start`` and its empty parents up to (not including) ``boundary``; never via a symlink."""
    try:
        real_boundary = boundary.resolve()
    except OSError:
        return
    d = start
    while True:
        if d.is_symlink():
            return
        try:
            real = d.resolve()
        except OSError:
            return
        if real == real_boundary or real_boundary not in real.parents:
            return
        try:
            if any(d.iterdir()):
                return
            d.rmdir()
        except OSError:
            return
        d = d.parent


def replace_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically: a temporary file beside it, fsync, rename.

    A process killed mid-write leaves the old spec or the new one, never half of one.  A spec
    that is a symlink has its target replaced, so the link stays.
    """
    real = Path(os.path.realpath(target))
    tmp = real.with_name(f".{real.name}.{os.getpid()}.tmp")
    try:
        mode = real.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = None
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fs_message(exc: OSError) -> str:
    """An ``OSError`` worded as Node words it: ``EINVAL: invalid argument, rename 'a' -> 'b'``."""
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    text = (exc.strerror or str(exc)).lower()
    op = "rename" if exc.filename2 is not None else "open"
    where = f"'{exc.filename}'" + (f" -> '{exc.filename2}'" if exc.filename2 is not None else "")
    return f"{code}: {text}, {op} {where}" if exc.filename is not None else f"{code}: {text}"


__all__ = ["Snapshot", "fs_message", "prune_empty", "replace_atomically", "restore", "snapshot"]
