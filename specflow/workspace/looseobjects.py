"""Commits and refs written as git's own files, without starting git.

A checkpoint makes one commit per workspace and creates its refs; as git processes that is two
starts per checkpoint, a good part of its cost on a small repository.  Written here they are
the same bytes git writes: a loose object (``objects/ab/cdef...``, zlib-compressed
``commit <size>\\0<body>``, read-only) and a loose ref (``<name>.lock`` created exclusively,
then renamed into place).

Only where that is exactly what git would do (``plain``): sha1 objects, refs as files, no
shared-repository permissions, no reflog for every ref, no dates forced through the
environment.  Anywhere else the git door's plumbing is used instead.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow import digests
from specflow.errors import GitError

_SPECIAL = re.compile(
    r"(?im)^\s*(objectformat\s*=\s*sha256|refstorage\s*=|sharedrepository\s*=|logallrefupdates\s*=\s*always|\[include)"
)
_DATE_VARIABLES = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
_SHA1 = re.compile(r"[0-9a-f]{40}")


def plain(common_dir: Path) -> bool:
    """True when ``common_dir``'s repository stores objects and refs as this module writes them.

    The repository's configuration and the person's global ones are read for anything that
    changes the files git would write (object format, ref storage, shared permissions, a reflog
    for every ref, includes that could say any of these).
    """
    if any(os.environ.get(name) for name in _DATE_VARIABLES) or (common_dir / "reftable").is_dir():
        return False
    home = os.environ.get("HOME", "")
    xdg = os.environ.get("XDG_CONFIG_HOME") or (os.path.join(home, ".config") if home else "")
    configs = [os.path.join(common_dir, "config"), "/etc/gitconfig"]
    configs += [os.path.join(home, ".gitconfig")] if home else []
    configs += [os.path.join(xdg, "git", "config")] if xdg else []
    return all(_plain_config(path, _stamp(path)) for path in configs)


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=32)
def _plain_config(path: str, stamp: tuple[int, int, int] | None) -> bool:
    """True when the configuration file ``path`` (as it was at ``stamp``, its stat data; None:
    no such file) says nothing that changes the files git writes.  Read again only when it changed."""
    if stamp is None:
        return True
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return not _SPECIAL.search(fh.read())
    except OSError:
        return True


def commit(
    common_dir: Path,
    tree: str,
    parents: Sequence[str],
    message: str,
    identity: tuple[str, str],
    now: float,
    committer: tuple[str, str] | None = None,
) -> str:
    """Write a commit of ``tree`` by ``identity`` (name, email) at ``now`` (local time zone); its sha.

    ``committer``: who commits it, when not its author."""
    offset = time.localtime(now).tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    by, via = identity, committer or identity
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {by[0]} <{by[1]}> {int(now)} {zone}", f"committer {via[0]} <{via[1]}> {int(now)} {zone}", "", ""]
    body = "\n".join(lines).encode("utf-8") + message.encode("utf-8")
    return write_object(common_dir, b"commit", body)


def write_object(common_dir: Path, kind: bytes, body: bytes) -> str:
    """Store ``body`` as a loose object of ``kind`` unless it is there already; its sha.

    As git writes one: a temporary file created read-only (``0444`` less the umask) in the
    object's folder, made when it is missing, then linked to the object's name."""
    data = kind + b" " + str(len(body)).encode() + b"\0" + body
    sha = digests.sha1(data).hexdigest()  # git's object name
    folder = f"{common_dir}/objects/{sha[:2]}"
    final = f"{folder}/{sha[2:]}"
    if os.path.exists(final):
        return sha
    tmp = f"{folder}/tmp_obj_specflow_{os.getpid()}_{time.monotonic_ns()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o444)
    except FileNotFoundError:  # the object's folder is made on its first object
        with contextlib.suppress(FileExistsError):  # or by another process meanwhile
            os.mkdir(folder)
        fd = os.open(tmp, flags, 0o444)
    try:
        with open(fd, "wb", closefd=True) as fh:
            fh.write(zlib.compress(data))
        os.link(tmp, final)  # never replaces an object another process just wrote
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return sha


def has_object(common_dir: Path, sha: str) -> bool:
    """True when ``sha`` is a loose object file (False says only: not loose; it may be packed)."""
    return (common_dir / "objects" / sha[:2] / sha[2:]).is_file()


def in_packs(common_dir: Path, shas: Sequence[str]) -> set[str] | None:
    """Which of ``shas`` (sha1) the repository's packs hold, looked up in their ``.idx`` files as
    git looks them up (a pack's index names every object in it, sorted); None when objects may
    lie elsewhere too (alternates) and git is asked instead."""
    objects = common_dir / "objects"
    if (objects / "info" / "alternates").exists():
        return None
    if not all(_SHA1.fullmatch(sha) for sha in shas):
        return None
    wanted = {bytes.fromhex(sha): sha for sha in shas}
    found: set[str] = set()
    try:
        names = set(os.listdir(objects / "pack"))
    except FileNotFoundError:
        return found
    for name in sorted(names):
        if not name.endswith(".idx") or name[:-4] + ".pack" not in names:
            continue
        try:
            with open(objects / "pack" / name, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                if not _lookup(data, wanted, found):
                    return None  # an index of another version: git reads it
        except (OSError, ValueError):
            return None
    return found


def _lookup(data: mmap.mmap, wanted: dict[bytes, str], found: set[str]) -> bool:
    """Add to ``found`` the ``wanted`` objects a pack index (version 2) names; False for another
    version, or an index too short for the names its fan-out table counts."""
    if data[:8] != b"\xfftOc\0\0\0\x02" or len(data) < 8 + 1024:
        return False
    fanout = data[8 : 8 + 1024]
    if len(data) < 8 + 1024 + 20 * int.from_bytes(fanout[-4:], "big"):
        return False
    for raw, sha in wanted.items():
        first = raw[0]
        lo = int.from_bytes(fanout[4 * first - 4 : 4 * first], "big") if first else 0
        hi = int.from_bytes(fanout[4 * first : 4 * first + 4], "big")
        while lo < hi:  # the names with this first byte, 20 bytes each, sorted
            mid = (lo + hi) // 2
            probe = data[8 + 1024 + 20 * mid : 8 + 1024 + 20 * mid + 20]
            if probe == raw:
                found.add(sha)
                break
            if probe < raw:
                lo = mid + 1
            else:
                hi = mid
    return True


def create_refs(common_dir: Path, refs: Mapping[str, str]) -> None:
    """Create each ref (``name -> sha``), all or none; refuse one that exists already, as
    ``git update-ref`` refuses a ``create``."""
    packed = _packed_names(common_dir)
    made: list[Path] = []
    try:
        for name, sha in refs.items():
            made.append(_create_ref(common_dir, name, sha, packed))
    except BaseException:
        for path in made:
            path.unlink(missing_ok=True)
        raise


def _create_ref(common_dir: Path, name: str, sha: str, packed: set[str]) -> Path:
    path = common_dir / name
    lock = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise GitError(f"cannot create the ref {name} in {common_dir}: {exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(sha + "\n")
        if name in packed or path.exists():
            raise GitError(f"cannot create the ref {name} in {common_dir}: it exists already")
        os.rename(lock, path)
    finally:
        lock.unlink(missing_ok=True)
    return path


def _packed_names(common_dir: Path) -> set[str]:
    try:
        text = (common_dir / "packed-refs").read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line.partition(" ")[2] for line in text.splitlines() if line and line[0] not in "#^"}


def read_tree(common_dir: Path, sha: str) -> list[tuple[str, str, str]] | None:
    """The entries ``(mode, name, sha)`` of the tree ``sha`` read from its loose object file;
    None when it is not one (packed, or not a tree), and git is asked instead."""
    try:
        with open(common_dir / "objects" / sha[:2] / sha[2:], "rb") as fh:
            raw = zlib.decompress(fh.read())
    except (OSError, zlib.error):
        return None
    header, _, body = raw.partition(b"\0")
    if not header.startswith(b"tree "):
        return None
    entries = []
    pos, end = 0, len(body)
    while pos < end:
        space = body.index(b" ", pos)
        nul = body.index(b"\0", space)
        name = body[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries.append((body[pos:space].decode("ascii"), name, body[nul + 1 : nul + 21].hex()))
        pos = nul + 21
    return entries


#: One path that differs between two trees, as ``git diff-tree -r --raw`` prints it:
#: ``(path, status, old mode, new mode, old sha, new sha)``.
RawChange = tuple[str, str, str, str, str, str]


def diff_trees(common_dir: Path, old: str, new: str, limit: int = 64) -> list[RawChange] | None:
    """What ``git diff-tree -r --no-renames`` reports between two trees, read from their loose
    object files (only the subtrees that differ); None when a tree is not loose or more than
    ``limit`` trees would be read, and git is asked instead."""
    changes: list[RawChange] = []
    budget = [limit]
    if not _diff_into(common_dir, "", old, new, changes, budget):
        return None
    # a recursive walk in git's tree order lists full paths sorted byte-wise
    changes.sort(key=lambda c: c[0].encode("utf-8", "surrogateescape"))
    return changes


def _diff_into(
    common_dir: Path, prefix: str, old: str | None, new: str | None, out: list[RawChange], budget: list[int]
) -> bool:
    sides: list[dict[str, tuple[str, str]]] = []
    for sha in (old, new):
        if sha is None:
            sides.append({})
            continue
        budget[0] -= 1
        entries = read_tree(common_dir, sha) if budget[0] >= 0 else None
        if entries is None:
            return False
        sides.append({name: (mode, oid) for mode, name, oid in entries})
    before, after = sides
    zero = "0" * 40
    for name in before.keys() | after.keys():
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        path = prefix + name
        a_tree = a[1] if a is not None and a[0] == "40000" else None
        b_tree = b[1] if b is not None and b[0] == "40000" else None
        if a_tree or b_tree:
            if not _diff_into(common_dir, path + "/", a_tree, b_tree, out, budget):
                return False
            a = None if a_tree else a
            b = None if b_tree else b
            if a is None and b is None:
                continue
        old_mode, new_mode = (f"{int(e[0], 8):06o}" if e else "000000" for e in (a, b))
        if a is None:
            status = "A"
        elif b is None:
            status = "D"
        else:
            status = "T" if int(a[0], 8) >> 12 != int(b[0], 8) >> 12 else "M"
        out.append((path, status, old_mode, new_mode, a[1] if a else zero, b[1] if b else zero))
    return True
