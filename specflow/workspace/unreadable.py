"""What git could not read of a working tree, and giving specflow's own user access to it again.

git's ``add`` skips, with a warning, a folder it cannot open — one whose mode denies its owner
reading or entering it, or one deeper than git reaches (more folders than the open-file limit
allows, or a path longer than the system's limit) — and fails on a file it cannot read.  A
snapshot that skipped a folder would let an agent hide writes in it from the audit: ``chmod 000``
is all it takes for a user who is not root (root reads everything), and Landlock, which
confines writes, does not confine ``chmod``.  So every snapshot lists what git said it could not
read (``parse``, from git's messages in the C locale); a checkpoint records those paths as they
were (``record``: the person's own unreadable folders are theirs and left alone); a snapshot that
ran out of open files runs once more with the hard limit (``more_open_files``); and the audit
gives its user access again to what became unreadable since (``give_access``) or moves aside
what lies too deep, and snapshots again before it judges anything.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

#: the reasons, as C's strerror words them
DENIED = os.strerror(errno.EACCES)
TOO_LONG = os.strerror(errno.ENAMETOOLONG)
TOO_MANY_OPEN = os.strerror(errno.EMFILE)
_REASONS = (DENIED, TOO_LONG, TOO_MANY_OPEN)
#: not a reason to read: an entry git cannot hold (a named pipe, a socket, a device) where it
#: tracks a file, which fails the snapshot's add
SPECIAL = "not a file, link or folder"
#: the path of what git could not read when its message names no path specflow can tell (a name
#: made to look like the end of a message): the audit then looks through the whole tree
SOMEWHERE = ""
#: what the owner gets back: folders to read, enter and change (the audit may put files back in
#: them), files to read
_WANTED_DIR = 0o700
_WANTED_FILE = 0o400
#: git cuts a message at 4,095 bytes: one about a longer path ends inside it, without its reason
_MESSAGE_MAX = 4095


@functools.cache
def _patterns() -> tuple[list[re.Pattern[str]], re.Pattern[str]]:
    """git's messages naming a path it could not read (``LC_ALL=C``), each with the path and the
    reason (a quoted path may hold a line break: it may span lines); and the start of one cut
    short.  Compiled the first time git says anything, not on every import."""
    why = "(" + "|".join(map(re.escape, _REASONS)) + ")"
    # a path spans lines, but no line of it starts as one of git's messages does
    path = "((?:(?!\\n(?:warning|error|fatal|hint): ).)+?)"
    quoted = (
        f"warning: could not open directory '{path}'",
        f"warning: unable to access '{path}'",
        f'error: open\\("{path}"\\)',
        f"(?:fatal|error): unable to stat '{path}'",
    )
    flags = re.MULTILINE | re.DOTALL
    found = [re.compile(f"^{q}: {why}$", flags) for q in quoted]
    # where git tracks a file, something it cannot hold: the path alone, its reason ``SPECIAL``
    found.append(re.compile(f"^error: {path}: can only add regular files, symbolic links or git-directories$", flags))
    # a tracked file git could not look at: the path alone (on one line), then the reason
    found.append(re.compile(f"^(?!warning: |error: |fatal: |hint: )([^\\n]+): {why}$", re.MULTILINE))
    cut = re.compile("^(?:warning: could not open directory '|warning: unable to access '|error: open\\(\")(.+)$")
    return found, cut


def parse(stderr: str) -> dict[str, str]:
    """``path -> reason`` for each path git said it could not read (relative to where it ran; a
    folder without its trailing ``/``); reasons other than the three above are not about reading,
    but for ``SPECIAL``: what git cannot hold where it tracks a file.

    A message git cut short names the path's beginning (up to its last whole name) with
    ``TOO_LONG``: only a path that long fills a message.  Should one of the reasons be left in
    what no pattern took, ``SOMEWHERE`` is named with it: nothing git could not read goes unsaid.
    """
    found: dict[str, str] = {}
    patterns, cut_short = _patterns()
    kept: list[str] = []
    for line in stderr.splitlines(keepends=True):
        cut = cut_short.match(line) if len(line.encode("utf-8", "surrogateescape")) >= _MESSAGE_MAX else None
        if cut is None:
            kept.append(line)
        elif "/" in cut.group(1):
            found.setdefault(cut.group(1).rpartition("/")[0], TOO_LONG)
    rest = "".join(kept)
    for pattern in patterns:
        for m in pattern.finditer(rest):
            found.setdefault(m.group(1).rstrip("/"), m.group(2) if pattern.groups > 1 else SPECIAL)
        rest = pattern.sub("", rest)
    for reason in _REASONS:
        if reason in rest:
            found.setdefault(SOMEWHERE, reason)
    return found


def record(top: Path, paths: Iterable[str]) -> dict[str, list[int]]:
    """``path -> [mode, ctime_ns]`` of each of ``paths`` under ``top`` as it is now, ``[-1, -1]`` for
    one too long to look at (the gone are left out): what a checkpoint keeps of what git could
    not read."""
    kept: dict[str, list[int]] = {}
    for rel in paths:
        if rel == SOMEWHERE:
            continue  # nothing to compare it with: the audit always looks again
        try:
            st = os.lstat(top / rel)
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                kept[rel] = [-1, -1]
            continue
        kept[rel] = [st.st_mode, st.st_ctime_ns]
    return kept


def unchanged(top: Path, rel: str, recorded: dict[str, list[int]]) -> bool:
    """True when ``rel`` was unreadable at the checkpoint already and its mode and ctime are as
    recorded then: the person's own, untouched since (no ``chmod`` let anyone in and out); or,
    too long to look at then, it still is."""
    was = recorded.get(rel)
    if not isinstance(was, list) or len(was) != 2:
        return False
    try:
        st = os.lstat(top / rel)
    except OSError as exc:
        return was == [-1, -1] and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP)
    return [st.st_mode, st.st_ctime_ns] == was


def give_access(top: Path, rel: str) -> dict[str, int]:
    """Give the owner read (files) or read, write and entry (folders) where ``rel`` and the
    folders leading to it under ``top`` deny it; ``path -> mode before`` of each one changed.

    Walked one name at a time from ``top`` through descriptors that never follow a symbolic
    link, and changed through the descriptor itself: a link an agent put in the way is not
    followed, so nothing outside ``top`` changes.  Stops where a name is missing or not ours.
    """
    names = [n for n in rel.split("/") if n and n != "."]
    if ".." in names:
        return {}
    if not hasattr(os, "O_PATH"):  # no descriptor without access (macOS): name by name, links not followed
        return _give_access_by_name(top, names)
    changed: dict[str, int] = {}
    try:
        fd = os.open(top, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return changed
    try:
        for depth, name in enumerate(names):
            # entering the folder above needs the access given to it one step before
            child = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
            st = os.fstat(fd)
            if st.st_uid != os.geteuid() or stat.S_ISLNK(st.st_mode):
                break
            wanted = _wanted(st)
            if wanted is not None:
                os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(st.st_mode) | wanted)
                changed["/".join(names[: depth + 1])] = stat.S_IMODE(st.st_mode)
                if stat.S_ISDIR(st.st_mode) and depth == len(names) - 1:
                    _open_below(fd, rel.strip("/"), changed)
            if not stat.S_ISDIR(st.st_mode):
                break
    except OSError:
        pass  # a name gone, or no /proc: what was changed so far stands
    finally:
        os.close(fd)
    return changed


def _open_below(folder: int, rel: str, changed: dict[str, int]) -> None:
    """``give_access`` for everything below the folder just opened (``folder``, an ``O_PATH``
    descriptor, named ``rel``): git names only the outermost closed folder of a chain, so each
    closed one inside it would cost the audit another snapshot.  Links are not followed; what
    cannot be opened (too deep, gone) is left to the next snapshot."""
    top = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=folder)
    try:
        for holder, name, path, st in _entries(top, lambda st: True):
            wanted = _wanted(st)
            if wanted is None:
                continue
            try:
                child = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=holder)
                try:
                    os.chmod(f"/proc/self/fd/{child}", stat.S_IMODE(st.st_mode) | wanted)
                finally:
                    os.close(child)
            except OSError:
                continue  # gone, or no /proc: the next snapshot names what is left
            changed[f"{rel}/{path}"] = stat.S_IMODE(st.st_mode)
    finally:
        os.close(top)


def _wanted(st: os.stat_result) -> int | None:
    """The bits the owner lacks to read (a file) or read, enter and change (a folder) an entry of
    this user's that is not a link; None when nothing is lacking, or it is not ours to change."""
    if st.st_uid != os.geteuid() or stat.S_ISLNK(st.st_mode):
        return None
    wanted = _WANTED_DIR if stat.S_ISDIR(st.st_mode) else _WANTED_FILE
    return wanted if st.st_mode & wanted != wanted else None


def _entries(
    top: int, enter: Callable[[os.stat_result], bool], skip: str = ""
) -> Iterator[tuple[int, str, str, os.stat_result]]:
    """Each entry below the folder ``top`` (a descriptor open for reading) but those named
    ``skip``: the folder holding it (a descriptor, open while the caller looks), its name, its
    path from ``top`` and its ``lstat``.  A folder is entered, after the caller has seen it, when
    ``enter(its lstat)`` says so; links are never followed; what cannot be opened is passed over."""
    todo = [""]
    while todo:
        below = todo.pop()
        try:
            fd = os.open(below or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=top)
        except OSError:
            continue
        try:
            with os.scandir(fd) as listing:
                listed = [(e.name, e.stat(follow_symlinks=False)) for e in listing if e.name != skip]
            for name, st in listed:
                path = f"{below}/{name}" if below else name
                yield fd, name, path, st
                if stat.S_ISDIR(st.st_mode) and enter(st):
                    todo.append(path)
        except OSError:
            continue
        finally:
            os.close(fd)


def _give_access_by_name(top: Path, names: list[str]) -> dict[str, int]:
    changed: dict[str, int] = {}
    for depth in range(len(names)):
        rel = "/".join(names[: depth + 1])
        try:
            st = os.lstat(top / rel)
            if st.st_uid != os.geteuid() or stat.S_ISLNK(st.st_mode):
                break
            wanted = _wanted(st)
            if wanted is not None:
                os.chmod(top / rel, stat.S_IMODE(st.st_mode) | wanted, follow_symlinks=False)
                changed[rel] = stat.S_IMODE(st.st_mode)
        except (OSError, NotImplementedError):
            break
        if not stat.S_ISDIR(st.st_mode):
            break
    return changed


def find_closed(top: Path) -> list[str]:
    """Every entry under ``top`` that its owner (this user) may not read — a file — or read and
    enter — a folder: what ``give_access`` is asked for when git's messages named no path
    (``SOMEWHERE``).  Walked through descriptors, links not followed, ``.git`` left out; a closed
    folder is named, not entered (opening it opens what lies below)."""
    try:
        root = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        return [path for _, _, path, st in _entries(root, lambda st: _wanted(st) is None, ".git") if _wanted(st)]
    finally:
        os.close(root)


def more_open_files() -> tuple[int, int] | None:
    """Raise this process's open-file limit to its hard limit, for the git processes it starts
    next (a folder nested N deep takes N open folders to read); the limits before, to set back,
    or None when it cannot go higher."""
    import resource  # only when git ran out of open files

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        return None
    return soft, hard


def set_open_files(limits: tuple[int, int]) -> None:
    """Set the open-file limits ``more_open_files`` replaced back."""
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, limits)
