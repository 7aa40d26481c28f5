"""Refs, HEAD and history: read from git's files where git would answer from them alone."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from specflow.errors import GitError
from specflow.workspace import looseobjects, looserefs
from specflow.workspace.git import process
from specflow.workspace.git.base import GitBase
from specflow.workspace.git.values import CommitInfo, Head


def _has_entries(folder: Path) -> bool:
    """Whether ``folder`` holds anything (False when it is missing)."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def _listed_refs(out: str, sep: str) -> dict[str, str]:
    """``refname -> sha`` from git's listing of refs, one ``<sha><sep><refname>`` a line."""
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition(sep)
        if name:
            refs[name] = sha
    return refs


_NAME_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NAME_REST = _NAME_FIRST | {".", "-"}


def _plain_branch(name: str) -> bool:
    """A branch name read from its ref file without git: ``/``-separated components of letters,
    digits, ``_``, ``-`` and ``.`` (not first), none ending in ``.`` or ``.lock``, no ``..``."""
    return ".." not in name and all(
        part and part[0] in _NAME_FIRST and _NAME_REST.issuperset(part) and not part.endswith((".", ".lock"))
        for part in name.split("/")
    )


def _object_id(text: str) -> bool:
    """Whether ``text`` is a full object id, as a ref file holds one (SHA-1 or SHA-256)."""
    return len(text) in (40, 64) and not text.strip("0123456789abcdef")


def _read_small(path: str) -> bytes:
    """The bytes of a small file (a ref) through a raw descriptor: no file object built."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


class Refs(GitBase):
    """Reading and moving refs and HEAD; which commit descends from which."""

    def head(self) -> Head:
        """Where this working tree's HEAD points, read from ``HEAD`` (sha resolved by git)."""
        try:
            text = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        if text.startswith("ref:"):
            ref = text[4:].strip()
            return Head(ref, self.resolve(ref))
        return Head(None, text or None)

    def refs(self, *patterns: str) -> dict[str, str]:
        """``refname -> object sha`` for refs matching ``patterns`` (e.g. ``refs/heads/``)."""
        return _listed_refs(self.text("for-each-ref", "--format=%(objectname) %(refname)", *patterns), " ")

    def remote_refs(self, remote: str, *patterns: str) -> dict[str, str]:
        """``refname -> sha`` of the refs of ``remote`` matching ``patterns``, as it has them now."""
        return _listed_refs(self.text("ls-remote", "--refs", remote, *patterns), "\t")

    def read_refs(self, *prefixes: str) -> dict[str, str]:
        """``refname -> sha`` under ``prefixes`` (ending in ``/``), read from the ref files directly.

        Loose refs win over ``packed-refs``, as in git.  This costs no process, which matters on
        the audit's path; ``refs`` asks git itself.  Repositories using the reftable format (not
        the default) are read through git.
        """
        if (self.common_dir / "reftable").is_dir():
            return self.refs(*prefixes)
        found = {name: sha for name, sha in self._packed_refs() if name.startswith(prefixes)}
        common = str(self.common_dir)
        skip = len(common) + 1
        for prefix in prefixes:
            # plain strings and descriptors: a hub with many changes has many branches to read
            for dirpath, _dirs, files in os.walk(os.path.join(common, prefix)):
                for fname in files:
                    if fname.endswith(".lock"):
                        continue
                    path = os.path.join(dirpath, fname)
                    try:
                        text = _read_small(path).decode("utf-8").strip()
                    except (OSError, UnicodeDecodeError):
                        continue
                    name = path[skip:].replace(os.sep, "/")
                    if text.startswith("ref:"):
                        target = self.resolve(text[4:].strip())
                        if target:
                            found[name] = target
                    elif len(text) >= 40:
                        found[name] = text
        return found

    def all_refs(self, skip: str = "refs/specflow/") -> dict[str, str]:
        """Every ref but those under ``skip``: ``name -> sha``, ``"ref: <target>"`` for a symbolic ref.

        Read from the ref files directly, as ``read_refs`` (no process); a folder under ``refs/``
        that ``skip`` names is never walked, so specflow's own refs cost nothing however many.
        """
        if (self.common_dir / "reftable").is_dir():
            out = self.text("for-each-ref", "--format=%(objectname) %(refname) %(symref)")
            found: dict[str, str] = {}
            for line in out.splitlines():
                sha, name, target = [*line.split(" "), "", ""][:3]
                if name and not name.startswith(skip):
                    found[name] = f"ref: {target}" if target else sha
            return found
        found = {
            name: sha for name, sha in self._packed_refs() if name.startswith("refs/") and not name.startswith(skip)
        }
        for dirpath, dirs, files in os.walk(self.common_dir / "refs"):
            rel = Path(dirpath).relative_to(self.common_dir).as_posix()
            dirs[:] = [d for d in dirs if not f"{rel}/{d}/".startswith(skip)]
            for fname in files:
                name = f"{rel}/{fname}"
                if fname.endswith(".lock") or name.startswith(skip):
                    continue
                try:
                    text = _read_small(os.path.join(dirpath, fname)).decode("utf-8").strip()
                except (OSError, UnicodeDecodeError):
                    continue
                if text.startswith("ref:"):
                    found[name] = "ref: " + text[4:].strip()
                elif len(text) >= 40:
                    found[name] = text
        return found

    def set_symbolic_ref(self, name: str, target: str) -> None:
        """Point the symbolic ref ``name`` at ``target`` (put back by the audit)."""
        self.run("symbolic-ref", "-m", "specflow: put back a symbolic ref", name, target)

    def ref_children(self, prefix: str) -> set[str]:
        """The names one level below ``prefix`` (ending in ``/``) that hold a ref, read without a process.

        Only names are read, never the refs themselves, so this costs a directory listing
        however many refs lie below (checkpoint numbering).  Reftable repositories ask git.
        """
        if (self.common_dir / "reftable").is_dir():
            return {name[len(prefix) :].split("/", 1)[0] for name in self.refs(prefix)}
        found: set[str] = set()
        try:
            packed = (self.common_dir / "packed-refs").read_text(encoding="utf-8")
        except FileNotFoundError:
            packed = ""
        for line in packed.splitlines():
            _sha, _, name = line.partition(" ")
            if name.startswith(prefix) and line[0] not in "#^":
                found.add(name[len(prefix) :].split("/", 1)[0])
        try:
            entries = list(os.scandir(self.common_dir / prefix))
        except (FileNotFoundError, NotADirectoryError):
            return found
        # git removes the folder of a deleted ref with it, so every folder here holds a ref
        found.update(entry.name for entry in entries if not entry.name.endswith(".lock"))
        return found

    def refs_with_messages(self, prefix: str) -> list[tuple[str, str, str]]:
        """``(refname, sha, message)`` for every ref under ``prefix`` (one git process)."""
        sep = "\x1e\x1f"
        out = self.text("for-each-ref", f"--format=%(refname)%00%(objectname)%00%(contents){sep}", prefix)
        result = []
        for chunk in out.split(sep):
            chunk = chunk.lstrip("\n")
            if not chunk:
                continue
            parts = chunk.split("\x00", 2)
            if len(parts) == 3:
                result.append((parts[0], parts[1], parts[2]))
        return result

    def update_refs(self, commands: Iterable[str], message: str = "specflow") -> None:
        """Apply ``update-ref --stdin`` commands atomically (``update <ref> <new> [<old>]`` ...)."""
        lines = [c for c in commands]
        if not lines:
            return
        self.run("update-ref", "-m", message, "--stdin", input=("\n".join(lines) + "\n").encode())

    def move_refs(self, moves: Sequence[looserefs.RefMove], message: str) -> None:
        """Move refs as ``update_refs`` does, all or none, each from its ``old`` value when given.

        Written as git's own ref and reflog files where ``looserefs`` can (no process), else
        through ``update-ref``.
        """
        if not looserefs.move_refs(self.git_dir, self.common_dir, moves, message):
            self.update_refs(
                [f"update {m.name} {m.new}" + (f" {m.old}" if m.old is not None else "") for m in moves],
                message=message,
            )

    def create_refs(self, refs: Mapping[str, str], message: str = "specflow") -> None:
        """Create each ref (``name -> sha``), all or none; one that exists already is refused.

        Written as git's own ref files when the repository is ``looseobjects.plain`` (no process).
        """
        if looseobjects.plain(self.common_dir):
            looseobjects.create_refs(self.common_dir, refs)
        else:
            self.update_refs([f"create {name} {sha}" for name, sha in refs.items()], message=message)

    def set_head(self, head: Head) -> None:
        """Point HEAD back at a branch, or detach it at a commit."""
        if head.ref:
            self.run("symbolic-ref", "-m", "specflow: put HEAD back", "HEAD", head.ref)
        elif head.sha:
            self.run("update-ref", "--no-deref", "-m", "specflow: put HEAD back", "HEAD", head.sha)

    def branch_exists(self, branch: str) -> bool:
        """Whether ``refs/heads/<branch>`` exists, as ``git show-ref --verify --quiet`` says: a ref
        that names an object the repository has.

        Read from its loose file, else ``packed-refs``, and the object found loose or in a pack's
        index, with no process, where that is certain: a plain name (``_plain_branch``) whose ref
        holds an object id.  A symbolic or damaged ref file, an object found in neither place,
        another name, or a repository whose refs are a reftable: git is asked.
        """
        ref = f"refs/heads/{branch}"
        if not _plain_branch(branch) or (self.common_dir / "reftable").is_dir():
            return self.ok("show-ref", "--verify", "--quiet", ref)
        try:
            sha = _read_small(os.path.join(self.common_dir, ref)).decode("ascii").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            packed = dict(self._packed_refs()).get(ref)
            if packed is None:
                return False
            sha = packed
        except (OSError, UnicodeDecodeError):
            sha = ""  # unreadable here: git is asked
        if _object_id(sha) and not self.unstored([sha]):
            return True
        return self.ok("show-ref", "--verify", "--quiet", ref)

    def current_branch(self) -> str | None:
        ref, _ = self.head_file()
        return ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is reachable from ``descendant`` (or equal to it)."""
        proc = process.run_git(["merge-base", "--is-ancestor", ancestor, descendant], self.root, check=False)
        if proc.returncode > 1:
            raise GitError(process.failure(["merge-base", "--is-ancestor", ancestor, descendant], self.root, proc))
        return proc.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        proc = process.run_git(["merge-base", a, b], self.root, check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def rev_list(self, *args: str) -> list[str]:
        return self.text("rev-list", *args).split()

    def commits(self, rev_range: str) -> list[CommitInfo]:
        """The commits of ``rev_range`` (``a..b``), newest first."""
        out = self.run("log", "--no-color", "--format=%H%x1f%s%x1f%an%x1f%P%x1e", rev_range)
        commits = []
        for chunk in out.decode("utf-8", "replace").split("\x1e"):
            fields = chunk.strip("\n").split("\x1f")
            if len(fields) == 4:
                sha, summary, author, parents = fields
                commits.append(CommitInfo(sha, summary, author, tuple(parents.split())))
        return commits

    def surely_descends(self, descendant: str, ancestor: str, limit: int = 64) -> bool:
        """True when ``ancestor`` is ``descendant`` or one of its ancestors, read from loose commit
        objects within ``limit`` commits; False when that cannot be shown so (not an ancestor, a
        packed commit on the way, a longer history, or grafts, replacements or a shallow clone
        that make git's history differ from the objects'): then git must be asked."""
        common = self.common_dir
        if (common / "shallow").exists() or (common / "info" / "grafts").exists():
            return False
        replaced = any(name.startswith("refs/replace/") for name, _ in self._packed_refs())
        if replaced or _has_entries(common / "refs" / "replace") or "GIT_REPLACE_REF_BASE" in os.environ:
            return False
        seen: set[str] = set()
        todo = [descendant]
        while todo:
            sha = todo.pop()
            if sha == ancestor:
                return True
            if sha in seen:
                continue
            seen.add(sha)
            if len(seen) > limit:
                return False
            try:
                raw = zlib.decompress((common / "objects" / sha[:2] / sha[2:]).read_bytes())
            except (OSError, zlib.error):
                return False  # packed, or missing: git knows
            header, _, body = raw.partition(b"\0")
            if not header.startswith(b"commit "):
                return False
            for line in body.split(b"\n"):
                if line.startswith(b"parent "):
                    todo.append(line[7:].decode("ascii"))
                elif line and not line.startswith(b"tree "):
                    break  # the author line: parents are all above it
        return False
