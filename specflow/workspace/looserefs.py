"""Branch refs moved as git moves them, reflog lines included, without starting git.

Moving a branch (the records commit, landing a change on its base) is an ``update-ref`` process
each time.  Written here it is the same files git writes: ``<ref>.lock`` created exclusively,
the old value checked under it (a loose ref, else ``packed-refs``; the loose one written now
overrides a packed one, as git's does), one line appended to each reflog git would append to
(``<old> <new> <name> <<email>> <epoch> <tz>\\t<message>``: the branch's, and ``HEAD``'s when
the working tree has that branch checked out), then the lock renamed into place.

Only where that is certain: ``looseobjects.plain`` repositories whose configuration says
plainly who the committer is and whether reflogs are kept (no quoting, no continued lines, no
configuration given through the environment).  Anywhere else the caller asks git.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow.errors import GitError
from specflow.structs import Struct
from specflow.workspace import looseobjects

ZERO_SHA = "0" * 40
_CONFIG_VARIABLES = (
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_REFLOG_ACTION",
)
_WANTED = frozenset(
    {
        "user.name",
        "user.email",
        "committer.name",
        "committer.email",
        "author.name",
        "author.email",
        "commit.gpgsign",
        "i18n.commitencoding",
        "core.bare",
        "core.filesreflocktimeout",
        "core.logallrefupdates",
        "extensions.worktreeconfig",
    }
)
_SECTION = re.compile(r"\[\s*([A-Za-z0-9.-]+)\s*(\"[^\"\\]*\")?\s*\]\s*([#;].*)?")
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*")
_CRUD = frozenset(" .,:;<>\"\\'")  # what git trims from the ends of a name or an email
_TRUE, _FALSE = frozenset({"true", "yes", "on", "1", ""}), frozenset({"false", "no", "off", "0"})
_SPACE = re.compile(r"[ \t\n\r]+")


class RefMove(Struct, frozen=True):
    """One ref to move: ``name`` to ``new``, from ``old`` only (None: whatever it is now;
    ``ZERO_SHA``: it must not exist yet)."""

    name: str
    new: str
    old: str | None = None


class _Write(Struct, frozen=True):
    """A ref file to write, its expected old value, and each reflog with whether git creates it."""

    path: Path
    new: str
    old: str | None
    logs: tuple[tuple[Path, bool], ...]


class _Unsure(Exception):
    """The configuration says something this module does not read as git would."""


def move_refs(git_dir: Path, common_dir: Path, moves: Sequence[RefMove], message: str) -> bool:
    """Move every ref of ``moves`` as one ``git update-ref -m message --stdin`` run in the working
    tree of ``git_dir`` would, all or none; False (nothing written) where git must be asked.

    ``HEAD`` moves the branch it names.  Raises ``GitError`` as git refuses: a ref locked by
    another process, or not at its expected old value.
    """
    if not looseobjects.plain(common_dir):
        return False
    try:
        config = _config(git_dir, common_dir)
        who = _committer(config)
        keep_logs = _keeps_reflogs(config)
        patience = _lock_timeout(config)
    except _Unsure:
        return False
    head_ref = _symref(git_dir / "HEAD")
    writes: list[_Write] = []
    for move in moves:
        name = head_ref if move.name == "HEAD" else move.name
        if name is None or not (name.startswith("refs/heads/") or name == "ORIG_HEAD"):
            return False  # a detached HEAD, or a ref git handles apart
        if name == "ORIG_HEAD":  # the working tree's own; its log is appended to only when it exists
            writes.append(_Write(git_dir / name, move.new, move.old, ((git_dir / "logs" / name, False),)))
            continue
        logs = [(common_dir / "logs" / name, keep_logs)]
        if name == head_ref:  # git logs the checked-out branch's move in HEAD's log too
            logs.insert(0, (git_dir / "logs" / "HEAD", keep_logs))
        writes.append(_Write(common_dir / name, move.new, move.old, tuple(logs)))
    if any(_symref(w.path) is not None for w in writes):
        return False
    # git holds HEAD's lock too while it logs a move of the checked-out branch in HEAD's log
    held = [git_dir / "HEAD"] if any(log.name == "HEAD" for w in writes for log, _ in w.logs) else []
    _write(common_dir, writes, held, who, message, patience)
    return True


def _write(
    common_dir: Path, writes: Sequence[_Write], held: Sequence[Path], who: str, message: str, patience: float
) -> None:
    """Lock every ref (and ``held``, only locked), check every old value, append the reflog
    lines, then rename the locks into place."""
    locks: list[Path] = []
    try:
        olds = []
        for path in held:
            locks.append(_lock(path, patience))
        for w in writes:
            locks.append(_lock(w.path, patience))
            current = _current(common_dir, w.path)
            if w.old is not None and (current or ZERO_SHA) != w.old:
                found = f"is at {current}" if current else "does not exist"
                raise GitError(f"cannot lock ref '{_name(common_dir, w.path)}': it {found} but expected {w.old}")
            olds.append(current or ZERO_SHA)
        stamp = f"{who} {_when(time.time())}"
        text = _SPACE.sub(" ", message).strip()
        end = f"\t{text}\n" if text else "\n"
        ref_locks = locks[len(held) :]
        for w, old, lock in zip(writes, olds, ref_locks, strict=True):
            with open(lock, "w", encoding="ascii") as fh:
                fh.write(w.new + "\n")
            for log, create in w.logs:
                _append(log, f"{old} {w.new} {stamp}{end}", create=create)
        for w, lock in zip(writes, ref_locks, strict=True):
            os.rename(lock, w.path)
        del locks[len(held) :]
    finally:
        for lock in locks:
            lock.unlink(missing_ok=True)


def _name(common_dir: Path, path: Path) -> str:
    return path.relative_to(common_dir).as_posix() if path.is_relative_to(common_dir) else path.name


def _lock(path: Path, patience: float) -> Path:
    """``<path>.lock``, created exclusively; tried again for ``patience`` seconds while another
    process holds it, as git does (``core.filesRefLockTimeout``)."""
    lock = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + patience
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return lock
        except FileExistsError:
            if time.monotonic() >= deadline:
                raise GitError(
                    f"cannot lock ref '{path.name}': '{lock}' exists; another git process seems to be running"
                ) from None
            time.sleep(0.005)
        except OSError as exc:
            raise GitError(f"cannot lock ref '{path.name}': {exc}") from None


def _current(common_dir: Path, path: Path) -> str | None:
    """The ref's value now: its loose file, else its ``packed-refs`` line, else None."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    if not path.is_relative_to(common_dir):
        return None
    name = path.relative_to(common_dir).as_posix()
    try:
        packed = (common_dir / "packed-refs").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        sha, _, ref = line.partition(" ")
        if ref == name and line[0] not in "#^":
            return sha
    return None


def _symref(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text[4:].strip() if text.startswith("ref:") else None


def _append(log: Path, line: str, *, create: bool) -> None:
    if not create and not log.exists():
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _when(now: float) -> str:
    offset = time.localtime(now).tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    return f"{int(now)} {sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"


# -- the configuration git would read ---------------------------------------------------------


def _config(git_dir: Path, common_dir: Path) -> dict[str, str]:
    """The values of ``_WANTED`` keys, in git's order of precedence (the last file wins)."""
    if any(name in os.environ for name in _CONFIG_VARIABLES):
        raise _Unsure
    home = os.environ.get("HOME", "")
    xdg = os.environ.get("XDG_CONFIG_HOME") or (os.path.join(home, ".config") if home else "")
    paths = ["/etc/gitconfig"]
    paths += [os.path.join(xdg, "git", "config")] if xdg else []
    paths += [os.path.join(home, ".gitconfig")] if home else []
    paths.append(os.path.join(common_dir, "config"))
    values: dict[str, str] = {}
    for path in paths:
        values.update(_read_config(path))
    if values.get("extensions.worktreeconfig", "false").lower() not in _FALSE:
        values.update(_read_config(os.path.join(git_dir, "config.worktree")))
    return values


def _read_config(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        raise _Unsure from None
    values: dict[str, str] = {}
    section = ""
    for raw in lines:
        line = raw.strip()
        if line.endswith("\\"):
            raise _Unsure  # a value continued on the next line
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            found = _SECTION.fullmatch(line)
            if found is None:
                raise _Unsure
            section = found[1].lower() + (f".{found[2]}" if found[2] else "")
            if found[1].lower() in ("include", "includeif"):
                raise _Unsure  # another file could name the committer (plain() reads no worktree's)
            continue
        key = _KEY.fullmatch(line)
        if key is None:
            raise _Unsure
        name = f"{section}.{key[1].lower()}"
        if name not in _WANTED:
            continue
        value = key[2] if key[2] is not None else ""
        if any(c in value for c in '"\\\\#;'):
            raise _Unsure  # quoting, escapes, comments: git's reading is not repeated here
        values[name] = value
    return values


def user_identities(git_dir: Path, common_dir: Path) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The person's ``(name, email)`` as author and as committer of a commit ``git commit-tree``
    would make in this working tree; None where git must make it (a ``looseobjects.plain``
    repository only; signing or another commit encoding configured; an identity git would
    work out from the system, or trim)."""
    if not looseobjects.plain(common_dir):
        return None
    try:
        config = _config(git_dir, common_dir)
        if config.get("commit.gpgsign", "false").lower() not in _FALSE or "i18n.commitencoding" in config:
            return None
        return _identity("AUTHOR", config), _identity("COMMITTER", config)
    except _Unsure:
        return None


def _identity(role: str, config: Mapping[str, str]) -> tuple[str, str]:
    """``(name, email)`` of the author or the committer (``role``), in git's order of sources."""
    key = role.lower()
    name = os.environ.get(f"GIT_{role}_NAME") or config.get(f"{key}.name") or config.get("user.name")
    email = (
        os.environ.get(f"GIT_{role}_EMAIL")
        or config.get(f"{key}.email")
        or config.get("user.email")
        or os.environ.get("EMAIL")
    )
    if any(os.environ.get(f"GIT_{role}_{part}") == "" for part in ("NAME", "EMAIL")):
        raise _Unsure  # set but empty: git works one out
    for part in (name, email):
        if not part or part[0] in _CRUD or part[-1] in _CRUD or any(c in part for c in "<>\n"):
            raise _Unsure  # git's defaults, or what it would trim or refuse
    assert name is not None and email is not None
    return name, email


def _committer(config: Mapping[str, str]) -> str:
    """``Name <email>`` as git writes the committer in a reflog line."""
    name, email = _identity("COMMITTER", config)
    return f"{name} <{email}>"


def _lock_timeout(config: Mapping[str, str]) -> float:
    """How long git tries again for a ref's lock, in seconds (``core.filesRefLockTimeout``, ms)."""
    value = config.get("core.filesreflocktimeout", "100")
    if not value.isdigit():
        raise _Unsure
    return int(value) / 1000


def _keeps_reflogs(config: Mapping[str, str]) -> bool:
    if config.get("core.bare", "false").lower() not in _FALSE:
        raise _Unsure
    value = config.get("core.logallrefupdates", "true").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Unsure
