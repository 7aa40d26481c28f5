"""Every git call specflow makes, in one place.

Plumbing runs as plain ``git`` subprocesses (fast, and with full control of the environment: a
temporary index through ``GIT_INDEX_FILE``, optional locks off so read-only queries never
rewrite a user's index).  Nothing else in specflow starts git: a test holds every other module to
that.  What git would answer from its own files without work is read in-process instead: index files
through ``indexfile``, loose objects and refs through ``looseobjects`` and ``looserefs``, trees
written from an index's cache tree through ``indextrees``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from specflow.errors import GitError
from specflow.structs import Struct
from specflow.workspace import indexdelta, indexfile, indextrees, looseobjects, looserefs

ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: Identity of the commits specflow makes for itself (checkpoints): they never need the user's.
SPECFLOW_IDENTITY = {
    "GIT_AUTHOR_NAME": "specflow",
    "GIT_AUTHOR_EMAIL": "specflow@localhost",
    "GIT_COMMITTER_NAME": "specflow",
    "GIT_COMMITTER_EMAIL": "specflow@localhost",
}

# Variables that would point git at another repository or index than the one we name.
_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
)

_BASE_ENV: dict[str, str] | None = None


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    global _BASE_ENV
    if _BASE_ENV is None:
        base = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        base["GIT_TERMINAL_PROMPT"] = "0"
        base["GIT_OPTIONAL_LOCKS"] = "0"  # queries never rewrite the index to refresh stat data
        # an agent can write refs/replace and grafts: checkpoint, audit, revert and merge see real objects
        base["GIT_NO_REPLACE_OBJECTS"] = "1"
        base.setdefault("LC_ALL", "C")
        _BASE_ENV = base
    if not extra:
        return _BASE_ENV
    env = dict(_BASE_ENV)
    env.update(extra)
    return env


#: Snapshot options for big files: a file of 32 MiB or more that git stores itself (one not yet
#: tracked: tracked ones are stored by ``specflow.workspace.bigfiles``, read once) is streamed
#: into a pack as it is read, stored without compression (``pack.compression=0``) or delta.
#: Compressing a changed 256 MiB file took 8.6 s per checkpoint and per audit; stored, each
#: version takes its full size on disk (benchmarks/bigfile_bench.py prints it).  Smaller files
#: are compressed as git always does.
BIG_FILES_STORED = ("-c", "core.bigFileThreshold=32m", "-c", "pack.compression=0")


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd``; raise ``GitError`` with git's own message when it fails."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(env),
            input=input,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise GitError(f"{cwd} does not exist", fix="check the path in specflow.yaml") from None
        raise GitError("git is not installed (no 'git' on PATH)", fix="install git 2.38 or later") from exc
    if check and proc.returncode != 0:
        raise GitError(_failure(args, cwd, proc))
    return proc


class ChangedUnderAdd(Exception):
    """A snapshot's ``beside`` work changed the working tree while ``add`` scanned it: take it again."""


def _run_git_beside(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], beside: Callable[[], bool]
) -> tuple[subprocess.CompletedProcess[bytes], bool]:
    """``run_git(args, check=False)``, with ``beside()`` called while git runs; its answer too."""
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        run_git(args, cwd, env=env)  # says why: no git, or no such folder
        raise
    try:
        changed = beside()
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), changed


def _failure(args: Sequence[str], cwd: Path, proc: subprocess.CompletedProcess[bytes]) -> str:
    msg = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()
    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in args[:6])
    return f"git {shown} failed in {cwd} (exit {proc.returncode}): {msg or 'no message'}"


def config_value(key: str, cwd: Path | None = None) -> str | None:
    """``git config KEY`` as seen from ``cwd`` (any folder; a repo's own config wins), or None."""
    try:
        proc = run_git(["config", key], cwd or Path.cwd(), check=False)
    except GitError:
        return None
    value = proc.stdout.decode("utf-8", "replace").strip()
    return value if proc.returncode == 0 and value else None


def git_version() -> tuple[int, ...]:
    """The installed git's version, e.g. ``(2, 39, 5)``."""
    out = run_git(["--version"], Path.cwd()).stdout.decode().split()
    nums = out[2].split(".") if len(out) > 2 else []
    return tuple(int(n) for n in nums if n.isdigit())


class Head(Struct, frozen=True):
    """Where HEAD points: a branch (``ref``) or a detached commit (``sha``)."""

    ref: str | None
    sha: str | None

    def describe(self) -> str:
        if self.ref:
            return self.ref.removeprefix("refs/heads/")
        return f"detached at {self.sha[:10]}" if self.sha else "no commit"

    def to_dict(self) -> dict[str, str | None]:
        return {"ref": self.ref, "sha": self.sha}


class TreeChange(Struct, frozen=True):
    """One path that differs between two trees (``diff-tree --raw``)."""

    path: str
    status: str  # A, D, M, T
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str

    @property
    def old_exists(self) -> bool:
        return self.old_mode != "000000"

    @property
    def new_exists(self) -> bool:
        return self.new_mode != "000000"


class IndexEntry(Struct, frozen=True):
    """One entry of an index file: mode, blob and stage of a path."""

    mode: str
    sha: str
    stage: int


class WorktreeInfo(Struct, frozen=True):
    """One working tree of a repository, from ``git worktree list --porcelain``."""

    path: Path
    head: str | None
    branch: str | None
    locked: bool = False
    prunable: bool = False


class CommitInfo(Struct, frozen=True):
    """A commit, as refusals describe it."""

    sha: str
    summary: str
    author: str
    parents: tuple[str, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def describe(self) -> str:
        return f"{self.sha[:10]} {self.summary!r} by {self.author}"


class MergePreview(Struct, frozen=True):
    """What ``git merge-tree --write-tree`` says a merge would give."""

    clean: bool
    tree: str
    conflicts: tuple[str, ...]


_UNINDEXABLE = re.compile(r"^error: '(.+?)/?' does not have a commit checked out$", re.MULTILINE)


def find_git_dirs(root: Path) -> tuple[Path, Path] | None:
    """``(git_dir, common_dir)`` of the working tree whose top is ``root``, read without git."""
    dotgit = root / ".git"
    if dotgit.is_dir():
        git_dir = dotgit
    elif dotgit.is_file():
        try:
            text = dotgit.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not text.startswith("gitdir:"):
            return None
        git_dir = Path(text[len("gitdir:") :].strip())
        if not git_dir.is_absolute():
            git_dir = root / git_dir
    else:
        return None
    git_dir = Path(os.path.realpath(git_dir))
    common = git_dir
    commondir_file = git_dir / "commondir"
    if commondir_file.is_file():
        rel = commondir_file.read_text(encoding="utf-8").strip()
        common = Path(os.path.realpath(git_dir / rel))
    return git_dir, common


def _has_entries(folder: Path) -> bool:
    """Whether ``folder`` holds anything (False when it is missing)."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


@functools.lru_cache(maxsize=32)
def _object_format(config: str, stamp: tuple[int, int, int]) -> str:
    """The object format a repository's ``config`` names, as it was at ``stamp`` (its stat data)."""
    try:
        with open(config, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return "sha1"
    return "sha256" if re.search(r"(?im)^\s*objectformat\s*=\s*sha256\s*$", text) else "sha1"


class IgnoredListing:
    """A ``git ls-files`` of ignored files started ahead (``GitRepo.ignored_files_started``)."""

    def __init__(self, proc: subprocess.Popen[bytes], args: Sequence[str], cwd: Path) -> None:
        self._proc = proc
        self._args = args
        self._cwd = cwd

    def result(self) -> list[str]:
        """The ignored files, once git has listed them all."""
        out, err = self._proc.communicate()
        if self._proc.returncode != 0:
            done = subprocess.CompletedProcess(self._args, self._proc.returncode, out, err)
            raise GitError(_failure(self._args, self._cwd, done))
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p and not p.endswith("/")]

    def close(self) -> None:
        """Stop the listing if it was never read (the snapshot beside it failed)."""
        if self._proc.returncode is None:
            self._proc.kill()
            self._proc.communicate()


def _read_small(path: str) -> bytes:
    """The bytes of a small file (a ref) through a raw descriptor: no file object built."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


class GitRepo:
    """A working tree (a main checkout or a linked worktree) of a git repository."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.unindexable: list[str] = []
        """Nested repositories without a commit that the last ``snapshot`` had to leave out."""

    def __repr__(self) -> str:
        return f"GitRepo({str(self.root)!r})"

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """The working tree at ``path`` (its top, or any folder inside it)."""
        root = Path(os.path.realpath(path))
        dirs = find_git_dirs(root)
        if dirs is not None:
            return cls(root, *dirs)
        if not root.is_dir():
            raise GitError(f"{path} does not exist", fix="check the path in specflow.yaml")
        proc = run_git(
            ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
            root,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(
                f"{path} is not inside a git repository",
                fix=f"run 'git init' in {path}, or fix the repo's path in specflow.yaml",
            )
        top, git_dir, common = proc.stdout.decode().splitlines()[:3]
        common_path = Path(common) if os.path.isabs(common) else Path(top) / common
        return cls(
            Path(os.path.realpath(top)),
            Path(os.path.realpath(git_dir)),
            Path(os.path.realpath(common_path)),
        )

    @property
    def is_linked_worktree(self) -> bool:
        return self.git_dir != self.common_dir

    # -- running --------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        check: bool = True,
        index: Path | None = None,
    ) -> bytes:
        """Run git in this working tree and return its stdout (``index``: a temporary index)."""
        if index is not None:
            env = {**(env or {}), "GIT_INDEX_FILE": str(index)}
        return run_git(args, self.root, env=env, input=input, check=check).stdout

    def text(self, *args: str, **kwargs: Any) -> str:
        return self.run(*args, **kwargs).decode("utf-8", "replace")

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> bool:
        """True when git exits 0."""
        return run_git(args, self.root, env=env, check=False).returncode == 0

    # -- refs and HEAD --------------------------------------------------------------------

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

    def head_file(self) -> tuple[str | None, str | None]:
        """HEAD as written: ``(ref, None)`` when on a branch, ``(None, sha)`` when detached."""
        try:
            text = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return None, None
        if text.startswith("ref:"):
            return text[4:].strip(), None
        return None, text or None

    def resolve(self, rev: str) -> str | None:
        """The commit sha of ``rev``, or None if it does not exist."""
        proc = run_git(["rev-parse", "-q", "--verify", rev + "^{commit}"], self.root, check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

    def refs(self, *patterns: str) -> dict[str, str]:
        """``refname -> object sha`` for refs matching ``patterns`` (e.g. ``refs/heads/``)."""
        out = self.text("for-each-ref", "--format=%(objectname) %(refname)", *patterns)
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition(" ")
            if name:
                refs[name] = sha
        return refs

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

    def _packed_refs(self) -> list[tuple[str, str]]:
        """``(refname, sha)`` of every ref in ``packed-refs`` (peeled lines and comments left out)."""
        try:
            packed = (self.common_dir / "packed-refs").read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in packed.splitlines():
            if line and line[0] not in "#^":
                sha, _, name = line.partition(" ")
                found.append((name, sha))
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
        return self.ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}")

    def current_branch(self) -> str | None:
        ref, _ = self.head_file()
        return ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if ``ancestor`` is reachable from ``descendant`` (or equal to it)."""
        proc = run_git(["merge-base", "--is-ancestor", ancestor, descendant], self.root, check=False)
        if proc.returncode > 1:
            raise GitError(_failure(["merge-base", "--is-ancestor", ancestor, descendant], self.root, proc))
        return proc.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        proc = run_git(["merge-base", a, b], self.root, check=False)
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

    # -- snapshots through a temporary index ----------------------------------------------

    def snapshot(
        self,
        index: Path,
        seed: Path | None,
        exclude: Sequence[str] = (),
        known: tuple[bytes, str] | None = None,
        stored: Sequence[tuple[str, str, str]] = (),
        beside: Callable[[], bool] | None = None,
    ) -> str:
        """Write the working tree (tracked and untracked, not ignored) as a tree; return its sha.

        ``index`` is a temporary index file (created from ``seed``, a previous snapshot's index
        or a copy of the real index, so unchanged files are not hashed again); the tree is written
        from it in process where that is git's own result (``_write_tree``).  ``exclude``:
        glob pathspecs left out.  ``known``: an index checksum and the tree written from that
        index; when ``add`` leaves the index as it was (git does not write an index it did not
        change), that tree is the answer and ``write-tree`` is not run.  ``stored``: ``(path,
        mode, blob)`` of files already hashed and stored (big files): set as they are and left
        out of ``add``.  ``beside``: work done while ``add`` scans the tree (the look for a nested
        ``.git``); when it returns True it changed the tree under ``add``, whose index is then
        stale: ``ChangedUnderAdd`` is raised, and the caller starts again from its seed.  HEAD, the
        real index, the stash and the working tree are never touched.
        """
        index.parent.mkdir(parents=True, exist_ok=True)
        if seed is not None and seed.is_file():
            if seed.resolve() != index.resolve():
                shutil.copy2(seed, index)  # keep the mtime: git's racy-clean check relies on it
        else:
            index.unlink(missing_ok=True)
        # the entries ``known``'s tree was written from, when ``index`` starts as that very index
        before = self.index_ctimes(index) if known is not None and self._checksum_is(index, known[0]) else None
        # removed from the seed, so 'add' hashes them again (those it looks at: not the excluded)
        stale = [rel for rel in self._ctime_racy(index) if not any(_glob(g).fullmatch(rel) for g in exclude)]
        if stale and not indexfile.smudge_entries(index, stale, self._hash_len()):
            payload = ("\0".join(stale) + "\0").encode("utf-8", "surrogateescape")
            self.run("update-index", "-z", "--force-remove", "--stdin", input=payload, index=index)
        if stored:
            lines = [f"{mode} {sha} 0\t{path}" for path, mode, sha in stored]
            payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
            self.run("update-index", "-z", "--index-info", input=payload, index=index)
        pathspec = [".", *(f":(exclude,glob){g}" for g in exclude), *(f":(exclude,literal){p}" for p, _, _ in stored)]
        args = [*BIG_FILES_STORED, "add", "-A", "--ignore-errors", "--", *pathspec]
        env = {"GIT_INDEX_FILE": str(index)}
        if beside is None:
            proc = run_git(args, self.root, env=env, check=False)
        else:
            proc, changed = _run_git_beside(args, self.root, env, beside)
            if changed:
                raise ChangedUnderAdd
        # a nested repository without a commit cannot be indexed; everything else still is
        errors = (proc.stderr or b"").decode("utf-8", "replace")
        self.unindexable = _UNINDEXABLE.findall(errors)
        if proc.returncode != 0 and not self.unindexable:
            raise GitError(_failure(["add", "-A"], self.root, proc))
        # 'add' rewrites an index whose stat data it refreshed (files written in the second of
        # the last snapshot): the same paths, modes and objects still make the same tree
        if (
            known is not None
            and before is not None
            and (self.index_checksum(index) == known[0] or indexfile.same_objects(before, self.index_ctimes(index)))
        ):
            return known[1]
        tree = self._write_tree(index)
        if tree is not None:
            return tree
        # the blobs were just written by 'add': no need for write-tree to look each one up
        return self.text("write-tree", "--missing-ok", index=index).strip()

    def _write_tree(self, index: Path) -> str | None:
        """The tree of ``index`` written without a process (``indextrees``: only the folders
        ``add`` changed); None when git must write it.

        When many folders were written, the index gets its whole cache tree back: rewritten under
        git's lock name, it keeps its mtime, which git's racy-clean check compares its entries with.
        """
        if self.object_format() != "sha1" or not looseobjects.plain(self.common_dir):
            return None
        try:
            data = index.read_bytes()
            st = os.stat(index)
        except OSError:
            return None
        entries, end = self._parsed_index(index, data)
        if not end:
            return None
        common = self.common_dir
        layout = indexfile.layout_of(data[-20:])  # the order of a derived parse's paths
        written = indextrees.write_tree(
            data,
            entries,
            end,
            lambda body: bytes.fromhex(looseobjects.write_object(common, b"tree", body)),
            order=None if layout is None else layout.keys,
            written_at=int(st.st_mtime),
        )
        if written is None:
            return None
        tree, new = written
        if new is not None:
            lock = index.with_name(index.name + ".lock")
            try:
                with open(lock, "xb") as fh:
                    fh.write(new)
                os.utime(lock, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.replace(lock, index)
            except FileExistsError:
                return None  # someone else is writing it: git decides
            except BaseException:
                lock.unlink(missing_ok=True)
                raise
            # the same entries, where they were
            moved = layout and indexdelta.Layout(new, layout.keys, layout.offsets)
            indexfile.keep_parse(new[-20:], (entries, end), moved)
        return tree.hex()

    def _ctime_racy(self, index: Path) -> list[str]:
        """Entries of ``index`` that changed although git would take them for unchanged.

        git compares stat times to the second: a file rewritten with its size and mtime kept, in
        the very second its entry was last refreshed, looks unchanged to it (its ctime moved, but
        within that second).  Entries refreshed in or after the second the index was written
        are compared with the file here, to the nanosecond; those git would see changed anyway
        are left to it.
        """
        try:
            written = index.stat().st_mtime_ns // 1_000_000_000
        except FileNotFoundError:
            return []
        cut = written.to_bytes(4, "big") + b"\0\0\0\0"
        stale: list[str] = []
        recent = [(rel, stamp) for rel, stamp in self.index_ctimes(index).items() if stamp >= cut]
        for rel, stamp in recent:
            try:
                st = (self.root / os.fsdecode(rel)).lstat()
            except OSError:
                continue  # gone: git sees that
            if st.st_ctime_ns != indexfile.stamp_ns(stamp) and indexfile.looks_unchanged_to_git(stamp, st):
                stale.append(rel.decode("utf-8", "surrogateescape"))
        return stale

    def trusts_file_modes(self) -> bool:
        """False when the repository's ``core.fileMode`` is off (git keeps recorded modes then)."""
        try:
            config = (self.common_dir / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        return not re.search(r"(?im)^\s*filemode\s*=\s*(false|no|off|0)\s*$", config)

    def _checksum_is(self, index: Path, checksum: bytes) -> bool:
        try:
            return self.index_checksum(index) == checksum
        except OSError:
            return False

    def index_checksum(self, index: Path) -> bytes:
        """The checksum that ends an index file: it names the file's whole content."""
        with index.open("rb") as fh:
            fh.seek(-self._hash_len(), os.SEEK_END)
            return fh.read()

    def _hash_len(self) -> int:
        """The length of an object id in this repository's files, in bytes."""
        return 32 if self.object_format() == "sha256" else 20

    def index_ctimes(self, index: Path) -> dict[bytes, bytes]:
        """``path -> stat data`` of ``index``'s entries (``indexfile.parse_index_ctimes``), read without a process.

        Two snapshot indexes compared this way tell which files were touched (a ``chmod``
        changes the ctime) without another scan of the working tree.
        """
        return self._parsed_index(index)[0]

    def _parsed_index(self, index: Path, data: bytes | None = None) -> tuple[dict[bytes, bytes], int]:
        """``index``'s parse and where its extensions begin (``indexfile.parsed``); ``data``: the
        file's bytes, when the caller has them."""
        return indexfile.parsed(index, self._hash_len(), data)

    def keep_index_parse(self, index: Path) -> None:
        """Keep the parse of ``index`` made in this process beside it (``indexfile.kept_parse_path``),
        for the next process to load instead of reading every entry; nothing when it holds it already."""
        indexfile.keep_beside(index, self.index_checksum(index))

    def index_folders(self, index: Path) -> frozenset[bytes]:
        """Every folder that holds an entry of ``index`` (at any depth), read without a process
        (``indexfile.folders``)."""
        return indexfile.folders(self.index_ctimes(index))

    def object_format(self) -> str:
        """``sha1`` or ``sha256``, from the repository's configuration (no process; read again
        only when the file changed: a snapshot asks several times)."""
        config = os.path.join(self.common_dir, "config")
        try:
            st = os.stat(config)
        except OSError:
            return "sha1"
        return _object_format(config, (st.st_ino, st.st_size, st.st_mtime_ns))

    def ignored_files(self, skip: Sequence[str] = ()) -> list[str]:
        """The ignored (untracked) files of the working tree, never below the ``skip`` folders."""
        return self.ignored_files_started(skip).result()

    def ignored_files_started(self, skip: Sequence[str] = ()) -> IgnoredListing:
        """``ignored_files``, its process started now and read when asked: it walks the working
        tree while the caller does something else (a snapshot)."""
        args = ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", "."]
        args += [f":(exclude,top,literal){prefix}" for prefix in skip]
        try:
            proc = subprocess.Popen(
                ["git", *args], cwd=self.root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except FileNotFoundError:
            run_git(args, self.root)  # says why: no git, or no such folder
            raise
        return IgnoredListing(proc, args, self.root)

    def hash_files(self, paths: Sequence[str]) -> list[str]:
        """Write each file's bytes as a blob (no filters: the bytes as they are); return the shas."""
        if not paths:
            return []
        payload = "".join(f"{p}\n" for p in paths).encode("utf-8", "surrogateescape")
        out = self.text("hash-object", "-w", "--no-filters", "--stdin-paths", input=payload)
        return out.split()

    def compact_index(self, index: Path) -> None:
        """Rewrite an index file in version 4 (prefix-compressed paths: less to read and write).

        An index already in version 4 (a change's worktree is made with one) is left as it is.
        """
        with index.open("rb") as fh:
            header = fh.read(8)
        if header != b"DIRC\x00\x00\x00\x04":
            self.run("update-index", "--index-version", "4", index=index)

    def real_index(self) -> Path:
        return self.git_dir / "index"

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A commit of ``tree`` made by specflow (its own identity, never signed).

        Written as git's own object file when the repository is ``looseobjects.plain`` (no process).
        """
        if looseobjects.plain(self.common_dir):
            identity = (SPECFLOW_IDENTITY["GIT_COMMITTER_NAME"], SPECFLOW_IDENTITY["GIT_COMMITTER_EMAIL"])
            return looseobjects.commit(self.common_dir, tree, parents, message, identity, time.time())
        args = ["commit-tree", "--no-gpg-sign"]
        for p in parents:
            args += ["-p", p]
        args.append(tree)
        return self.text(*args, env=SPECFLOW_IDENTITY, input=message.encode("utf-8")).strip()

    def commit_all(self, message: str, *, exclude: Sequence[str] = ()) -> str | None:
        """Stage everything in the working tree (but ``exclude`` globs) and commit it on the
        checked-out branch as specflow; no hook runs, nothing is signed.  None when nothing changed.

        ``add`` is the one scan of the working tree; the tree it staged is written (in-process
        where ``indextrees`` can, else by ``write-tree``) and compared with HEAD's, and only a new
        tree is committed (``commit-tree``, then HEAD's branch moved from the very commit it was
        on, as ``git commit`` does, with the same reflog line).
        """
        pathspec = [".", *(f":(exclude,glob){g}" for g in exclude)]
        self.run("add", "-A", "--", *pathspec)
        tree = self._write_tree(self.real_index()) or self.text("write-tree").strip()
        head = self.head_sha_from_files() or self.resolve("HEAD")
        if head is not None and tree == self.tree_of(head):
            return None
        commit = self.commit_tree(tree, [head] if head else [], message)
        subject = message.split("\n", 1)[0]
        self.move_refs([looserefs.RefMove("HEAD", commit, head or ZERO_SHA)], f"commit: {subject}")
        return commit

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

    def tree_of(self, commit: str) -> str:
        """The tree of ``commit``: read from its loose object file when it has one, else asked of git."""
        folder = self.common_dir / "objects" / commit[:2]
        try:
            raw = zlib.decompress((folder / commit[2:]).read_bytes())
        except (OSError, zlib.error):
            raw = b""
        header, _, body = raw.partition(b"\0")
        if header.startswith(b"commit ") and body.startswith(b"tree "):
            return body[5 : body.index(b"\n")].decode()
        return self.text("rev-parse", "--verify", f"{commit}^{{tree}}").strip()

    def head_sha_from_files(self) -> str | None:
        """HEAD's sha read from the files (no process): a detached HEAD, or a branch's loose ref
        (as a commit just wrote it); None when git must be asked (packed ref, reftable)."""
        ref, sha = self.head_file()
        if ref is None:
            return sha
        try:
            text = (self.common_dir / ref).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if len(text) >= 40 and not text.startswith("ref:") else None

    def tracks(self, rel: str) -> bool:
        """True when the index of this working tree holds ``rel`` (a file or anything under a folder)."""
        return bool(self.run("ls-files", "-z", "--", rel).strip())

    def remove_committed(self, rel: str, message: str) -> str:
        """Remove ``rel`` from this checkout and commit just that on its branch, as specflow; no hook runs.

        Other staged or local changes of the checkout are left as they are.
        """
        self.run("rm", "-r", "-q", "--", rel)
        self.run("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message, "--", rel, env=SPECFLOW_IDENTITY)
        return self.text("rev-parse", "HEAD").strip()

    def commit_tree_as_user(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A commit of ``tree`` made as the user (their configured identity), e.g. a merge.

        Written as git's own object file where ``looserefs`` knows the identities git would use
        (no process)."""
        identities = looserefs.user_identities(self.git_dir, self.common_dir)
        if identities is not None and self.object_format() == "sha1":
            author, committer = identities
            return looseobjects.commit(self.common_dir, tree, parents, message, author, time.time(), committer)
        args = ["commit-tree"]
        for p in parents:
            args += ["-p", p]
        args.append(tree)
        return self.text(*args, input=message.encode("utf-8")).strip()

    def edit_tree(self, tree: str, entries: Mapping[str, tuple[str, str] | None], index: Path) -> str:
        """``tree`` with each path set to ``(mode, sha)`` (None removes it), through a temporary index."""
        index.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.run("read-tree", tree, index=index)
            lines = [
                f"0 {ZERO_SHA}\t{path}" if entry is None else f"{entry[0]} {entry[1]} 0\t{path}"
                for path, entry in entries.items()
            ]
            if lines:
                payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
                self.run("update-index", "-z", "--index-info", input=payload, index=index)
            return self.text("write-tree", "--missing-ok", index=index).strip()
        finally:
            index.unlink(missing_ok=True)

    def diff_trees(self, old: str, new: str) -> list[TreeChange]:
        """Every path that differs between two trees, recursively, renames not detected."""
        if old == new:
            return []
        out = self.run("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", old, new)
        return _parse_raw(out)

    def diff_to_tree(self, commit: str, tree: str) -> list[TreeChange]:
        """``diff_trees`` from ``commit``'s tree to ``tree``, read from the loose tree objects
        where they are (a merge just computed: no process), else by git."""
        if self.object_format() != "sha1" or not looseobjects.has_object(self.common_dir, commit):
            return self.diff_trees(commit, tree)  # a packed commit: one process, as ever
        old = self.tree_of(commit)
        if old == tree:
            return []
        found = looseobjects.diff_trees(self.common_dir, old, tree)
        if found is not None:
            return [TreeChange(*change) for change in found]
        return self.diff_trees(old, tree)

    def diff_indexes(self, old: Path, new: Path) -> list[TreeChange] | None:
        """What ``diff_trees`` reports between the trees ``write-tree`` writes from two index files,
        read from the files without a process; None when an index is missing or either holds a
        changed entry ``write-tree`` treats apart (unmerged, intent-to-add, skip-worktree)."""
        before, after = self.index_ctimes(old), self.index_ctimes(new)
        if not before or not after:
            return None
        changes: list[TreeChange] = []
        # the index's order (bytes) is the order of a recursive tree walk
        for rel in sorted(indexfile.differing_entries(before, after)):
            a, b = before.get(rel), after.get(rel)
            if any(d is not None and d[-2] & 0x70 for d in (a, b)):  # stage bits or extended flags
                return None
            if a is not None and b is not None and a[24:28] == b[24:28] and a[40:-2] == b[40:-2]:
                continue  # only the stat data moved
            changes.append(_index_change(rel.decode("utf-8", "surrogateescape"), a, b))
        return changes

    def diff_trees_batch(self, pairs: Sequence[tuple[str, str]]) -> list[list[str]]:
        """Changed path names for each ``(old, new)`` tree pair, in one git process."""
        if not pairs:
            return []
        payload = "".join(f"{a} {b}\n" for a, b in pairs).encode()
        out = self.run("diff-tree", "--stdin", "-z", "-r", "--name-only", "--no-renames", input=payload).decode(
            "utf-8", "surrogateescape"
        )
        # git prints each pair as a header line "<old> <new>\n", then its paths, NUL-terminated.
        results: list[list[str]] = []
        pos = 0
        for a, b in pairs:
            header = f"{a} {b}\n"
            if not out.startswith(header, pos):
                raise GitError(f"unexpected output from git diff-tree --stdin in {self.root}")
            pos += len(header)
            names: list[str] = []
            while pos < len(out):
                nxt = pairs[len(results) + 1] if len(results) + 1 < len(pairs) else None
                if nxt is not None and out.startswith(f"{nxt[0]} {nxt[1]}\n", pos):
                    break
                end = out.find("\0", pos)
                if end < 0:
                    end = len(out)
                names.append(out[pos:end])
                pos = end + 1
            results.append(names)
        return results

    def diff(self, old: str, new: str, *, stat: bool = False, color: bool = False) -> str:
        """A patch (or ``--stat``) between two trees or commits."""
        args = ["diff", "--no-ext-diff", "--color=always" if color else "--no-color"]
        args.append("--stat" if stat else "--patch")
        return self.text(*args, old, new, "--")

    def numstat(self, old: str, new: str) -> list[dict[str, Any]]:
        """Each file changed between two trees or commits, with its added and deleted lines.

        ``added`` and ``deleted`` are None for a binary file; ``old_path`` is set for a rename.
        """
        fields = self.text("diff", "--no-ext-diff", "--no-color", "--numstat", "-z", old, new, "--").split("\0")
        files: list[dict[str, Any]] = []
        i = 0
        while i < len(fields):
            record = fields[i]
            i += 1
            if not record:
                continue
            added, deleted, path = record.split("\t", 2)
            old_path = None
            if not path:  # a rename: the old and the new path follow
                old_path, path = fields[i], fields[i + 1]
                i += 2
            files.append(
                {
                    "path": path,
                    "old_path": old_path,
                    "added": None if added == "-" else int(added),
                    "deleted": None if deleted == "-" else int(deleted),
                }
            )
        return files

    def missing_objects(self, shas: Iterable[str]) -> list[str]:
        """Which of ``shas`` are not in the repository's object store (one ``cat-file --batch-check``)."""
        # a loose object file, or a pack's index, answers without a process; only the others are asked of git
        wanted = [sha for sha in dict.fromkeys(shas) if not looseobjects.has_object(self.common_dir, sha)]
        if wanted and self.object_format() == "sha1":
            packed = looseobjects.in_packs(self.common_dir, wanted)
            wanted = [sha for sha in wanted if packed is None or sha not in packed]
        if not wanted:
            return []
        out = self.text("cat-file", "--batch-check=%(objectname)", input=("\n".join(wanted) + "\n").encode())
        return [sha for sha, line in zip(wanted, out.splitlines(), strict=False) if line.endswith(" missing")]

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The content of each blob, read through one ``cat-file --batch``."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
        blobs: dict[str, bytes] = {}
        pos = 0
        for sha in wanted:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode().split()
            pos = nl + 1
            if len(header) < 3 or header[1] == "missing":
                raise GitError(f"object {sha} is missing from {self.common_dir}")
            size = int(header[2])
            blobs[sha] = out[pos : pos + size]
            pos += size + 1
        return blobs

    def tree_dirs(self, tree: str, dirs: Iterable[str]) -> set[str]:
        """Which of ``dirs`` exist as folders in ``tree``."""
        wanted = sorted(set(dirs))
        if not wanted:
            return set()
        out = self.run("ls-tree", "-d", "-z", "--name-only", tree, "--", *wanted)
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}

    def index_entries(self, index: Path | None = None, paths: Sequence[str] = ()) -> dict[str, IndexEntry]:
        """``path -> entry`` of an index file (default: the real one), stage 0 and conflicts."""
        args = ["ls-files", "-s", "-z"]
        if paths:
            args += ["--", *(f":(literal){p}" for p in paths)]
        out = self.run(*args, index=index)
        entries: dict[str, IndexEntry] = {}
        for rec in out.decode("utf-8", "surrogateescape").split("\0"):
            if not rec:
                continue
            meta, _, path = rec.partition("\t")
            mode, sha, stage = meta.split()
            entries[path] = IndexEntry(mode, sha, int(stage))
        return entries

    def flagged_entries(self, index: Path | None = None) -> dict[str, tuple[str, ...]]:
        """``path -> flags`` of an index's entries marked ``assume-unchanged`` or ``skip-worktree``.

        Both make git (and a snapshot built from that index) look away from the file's edits.
        """
        out = self.run("ls-files", "-v", "-z", index=index)
        flagged: dict[str, tuple[str, ...]] = {}
        for rec in out.decode("utf-8", "surrogateescape").split("\0"):
            tag, _, path = rec.partition(" ")
            flags = (("assume-unchanged",) if tag.islower() else ()) + (
                ("skip-worktree",) if tag.upper() == "S" else ()
            )
            if path and flags:
                flagged[path] = flags
        return flagged

    def set_index_flag(self, paths: Sequence[str], flag: str, *, on: bool) -> None:
        """Set or clear ``flag`` (``assume-unchanged`` or ``skip-worktree``) of ``paths`` in the real index."""
        if not paths:
            return
        payload = ("\0".join(paths) + "\0").encode("utf-8", "surrogateescape")
        self.run("update-index", "-z", f"--{'' if on else 'no-'}{flag}", "--stdin", input=payload)

    def set_index_entries(self, entries: Mapping[str, IndexEntry | None]) -> None:
        """Put entries into the real index (None removes the path) with ``update-index``."""
        if not entries:
            return
        lines = []
        for path, entry in entries.items():
            if entry is None:
                lines.append(f"0 {ZERO_SHA}\t{path}")
            else:
                lines.append(f"{entry.mode} {entry.sha} {entry.stage}\t{path}")
        payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
        self.run("update-index", "-z", "--index-info", input=payload)

    def reset_index_paths(self, commit: str, paths: Sequence[str]) -> None:
        """Make the real index match ``commit`` for ``paths`` (``git reset -- paths``)."""
        if not paths:
            return
        payload = ("\0".join(paths) + "\0").encode("utf-8", "surrogateescape")
        self.run("reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul", commit, input=payload)

    def reset_mixed(self, commit: str) -> None:
        """Move the checked-out branch to ``commit`` and the index with it; files untouched."""
        self.run("reset", "-q", "--mixed", commit)

    def status(self, *, untracked: bool = True) -> list[str]:
        """``git status --porcelain`` lines (never rewrites the index)."""
        mode = "--untracked-files=all" if untracked else "--untracked-files=no"
        out = self.run("status", "--porcelain=v1", "-z", mode)
        lines: list[str] = []
        parts = out.decode("utf-8", "surrogateescape").split("\0")
        i = 0
        while i < len(parts):
            rec = parts[i]
            if rec:
                lines.append(rec)
                if rec[:1] in ("R", "C"):
                    i += 1  # the rename source follows
            i += 1
        return lines

    def staged_paths(self) -> list[str]:
        """Paths whose index entry differs from HEAD's: staged changes (no scan of the working tree).

        None at all when the tree the index holds is HEAD's, worked out without a process
        (``indextrees``: only the folders whose cached tree is invalid are hashed; nothing is written).
        """
        if self._index_holds_head():
            return []
        return _nul_list(self.run("diff-index", "--cached", "--name-only", "-z", "--no-renames", "HEAD"))

    def _index_holds_head(self) -> bool:
        head = self.head_sha_from_files()
        if head is None or self.object_format() != "sha1" or not looseobjects.has_object(self.common_dir, head):
            return False  # HEAD's tree would cost a process: diff-index answers in one
        index = self.real_index()
        try:
            data = index.read_bytes()
        except OSError:
            return False
        entries, end = self._parsed_index(index, data)
        if not end:
            return False
        found = indextrees.write_tree(data, entries, end, indexfile.tree_id, keep_from=len(entries) + 1)
        return found is not None and found[0].hex() == self.tree_of(head)

    def edited_paths(self, among: Sequence[str] | None = None) -> list[str]:
        """Tracked files whose working-tree copy differs from the index (no scan for untracked files).

        ``among``: look at those paths only (stat data of a few files instead of every one).
        """
        args = ["diff", "--name-only", "-z", "--no-ext-diff", "--no-renames"]
        if among is not None:
            if not among or self._surely_unedited(among):
                return []
            args += ["--", *(f":(literal){p}" for p in among)]
        return _nul_list(self.run(*args))

    def _surely_unedited(self, paths: Sequence[str]) -> bool:
        """True when git would call none of ``paths`` edited, read from the index without a
        process: each is untracked (and no tracked folder), or its file has exactly the stat
        data its entry records, written before the index (not racily clean), with no flag."""
        index = self.real_index()
        try:
            written = index.stat().st_mtime_ns // 1_000_000_000
        except OSError:
            return False
        entries = self._parsed_index(index)[0]
        if not entries:
            return False
        folders = self.index_folders(index)
        for rel in paths:
            key = rel.encode("utf-8", "surrogateescape")
            entry = entries.get(key)
            if key in folders:
                return False
            if entry is None:
                continue
            try:
                st = os.lstat(self.root / rel)
            except OSError:
                return False
            if entry[-2] & 0xF0 or not indexfile.same_stat(entry, st) or int.from_bytes(entry[8:12], "big") >= written:
                return False
        return True

    def untracked_among(self, paths: Sequence[str]) -> list[str]:
        """Those of ``paths`` that are untracked files git does not ignore."""
        if not paths:
            return []
        return _nul_list(
            self.run("ls-files", "-z", "--others", "--exclude-standard", "--", *(f":(literal){p}" for p in paths))
        )

    def operation_in_progress(self) -> str | None:
        """A merge, rebase, cherry-pick or revert left half done in this working tree, if any."""
        for name, what in (
            ("MERGE_HEAD", "a merge"),
            ("rebase-merge", "a rebase"),
            ("rebase-apply", "a rebase"),
            ("CHERRY_PICK_HEAD", "a cherry-pick"),
            ("REVERT_HEAD", "a revert"),
        ):
            if (self.git_dir / name).exists():
                return what
        return None

    # -- worktrees ------------------------------------------------------------------------

    def worktree_add(self, path: Path, branch: str, start: str | None, *, no_checkout: bool = False) -> None:
        """``git worktree add`` on ``branch``, creating it from ``start`` when given.

        Its index is written in version 4, as specflow's snapshots keep theirs.
        """
        args = ["-c", "index.version=4", "worktree", "add", "--quiet"]
        if no_checkout:
            args.append("--no-checkout")
        if start is not None:
            args += ["-b", branch, str(path), start]
        else:
            args += [str(path), branch]
        self.run(*args)

    def worktree_remove(self, path: Path, *, force: bool = False) -> None:
        args = ["worktree", "remove"]
        if force:
            args += ["--force", "--force"]
        self.run(*args, str(path))

    def worktree_prune(self) -> None:
        self.run("worktree", "prune")

    def worktrees(self) -> list[WorktreeInfo]:
        """Every working tree of the repository, the main one first."""
        out = self.text("worktree", "list", "--porcelain", "-z")
        result: list[WorktreeInfo] = []
        fields: dict[str, str] = {}
        for rec in [*out.split("\0"), ""]:
            if rec:
                key, _, value = rec.partition(" ")
                fields[key] = value
                continue
            if "worktree" in fields:
                branch = fields.get("branch")
                result.append(
                    WorktreeInfo(
                        Path(fields["worktree"]),
                        fields.get("HEAD"),
                        branch.removeprefix("refs/heads/") if branch else None,
                        "locked" in fields,
                        "prunable" in fields,
                    )
                )
            fields = {}
        return result

    def enable_sparse(self, worktree_git_dir: Path, patterns: Sequence[str]) -> None:
        """Make a linked worktree sparse (non-cone ``patterns``), for that worktree only.

        Uses per-worktree configuration (``extensions.worktreeConfig``, as ``git sparse-checkout``
        itself does) and tells git to expect files outside the patterns, so the links specflow
        puts where excluded folders were do not turn the skip-worktree bits off again.
        """
        if self.config_get("extensions.worktreeConfig") != "true":
            self.run("config", "extensions.worktreeConfig", "true")
        (worktree_git_dir / "info").mkdir(parents=True, exist_ok=True)
        (worktree_git_dir / "info" / "sparse-checkout").write_text("\n".join(patterns) + "\n", encoding="utf-8")
        (worktree_git_dir / "config.worktree").write_text(
            "[core]\n\tsparseCheckout = true\n\tsparseCheckoutCone = false\n"
            "[sparse]\n\texpectFilesOutsideOfPatterns = true\n",
            encoding="utf-8",
        )

    def checkout_head(self) -> None:
        """Fill the index and working tree from HEAD (after ``worktree add --no-checkout``)."""
        self.run("read-tree", "-m", "-u", "HEAD")

    def config_get(self, key: str) -> str | None:
        proc = run_git(["config", "--get", key], self.root, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def config_set(self, key: str, value: str) -> None:
        self.run("config", key, value)

    def add_excludes(self, patterns: Sequence[str], comment: str) -> None:
        """Append ``patterns`` to the repository's ``info/exclude`` (never the user's .gitignore)."""
        path = self.common_dir / "info" / "exclude"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        present = set(text.splitlines())
        missing = [p for p in patterns if p not in present]
        if not missing:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        block = ("" if not text or text.endswith("\n") else "\n") + f"# {comment}\n"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(block + "\n".join(missing) + "\n")

    # -- merging --------------------------------------------------------------------------

    def merge_preview(self, base: str, branch: str) -> MergePreview:
        """What merging ``branch`` into ``base`` would give, computed without touching anything."""
        proc = run_git(
            ["merge-tree", "--write-tree", "--name-only", "--no-messages", base, branch],
            self.root,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise GitError(_failure(["merge-tree", "--write-tree", base, branch], self.root, proc))
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        tree = lines[0].strip() if lines else ""
        conflicts: list[str] = []
        for line in lines[1:]:
            if not line:
                break
            if line not in conflicts:
                conflicts.append(line)
        return MergePreview(proc.returncode == 0, tree, tuple(conflicts))

    def move_checkout(self, branch: str, old: str, new: str, message: str) -> None:
        """Move the checked-out ``branch`` from commit ``old`` to ``new`` with its index and files.

        A two-tree ``read-tree -m -u`` changes only the paths that differ between the two
        commits and refuses (changing nothing) when a local edit or an untracked file is in the
        way; local edits elsewhere stay.  The branch then moves from ``old`` only (``ORIG_HEAD``
        names ``old``, as after ``git merge``); if it moved meanwhile, the files go back.
        """
        self.run("read-tree", "-m", "-u", old, new)
        try:
            moves = [looserefs.RefMove(f"refs/heads/{branch}", new, old), looserefs.RefMove("ORIG_HEAD", old)]
            self.move_refs(moves, message)
        except GitError:
            run_git(["read-tree", "-m", "-u", new, old], self.root, check=False)
            raise

    def reset_keep(self, commit: str) -> None:
        """Move the checked-out branch back to ``commit`` keeping local changes (undo a merge)."""
        self.run("reset", "-q", "--keep", commit)


@functools.lru_cache(maxsize=16)
def _glob(pattern: str) -> re.Pattern[str]:
    """A pathspec's ``glob`` magic as a regular expression: ``**/`` any folders, ``*`` and ``?`` within one."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out, i = out + "/.*", i + 3
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _nul_list(out: bytes) -> list[str]:
    """The paths of a ``-z`` listing."""
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def _index_change(path: str, old: bytes | None, new: bytes | None) -> TreeChange:
    """The ``TreeChange`` of one path from its two parsed index entries (None: absent)."""
    old_mode = int.from_bytes(old[24:28], "big") if old is not None else 0
    new_mode = int.from_bytes(new[24:28], "big") if new is not None else 0
    zero = "0" * (2 * (len(old or new or b"") - 42))
    old_sha = old[40:-2].hex() if old is not None else zero
    new_sha = new[40:-2].hex() if new is not None else zero
    if old is None:
        status = "A"
    elif new is None:
        status = "D"
    else:
        status = "T" if old_mode >> 12 != new_mode >> 12 else "M"
    return TreeChange(path, status, f"{old_mode:06o}", f"{new_mode:06o}", old_sha, new_sha)


def _parse_raw(out: bytes) -> list[TreeChange]:
    changes: list[TreeChange] = []
    parts = out.split(b"\0")
    i = 0
    while i < len(parts) - 1:
        meta = parts[i].decode()
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split()
        path = parts[i + 1].decode("utf-8", "surrogateescape")
        changes.append(TreeChange(path, status[0], old_mode, new_mode, old_sha, new_sha))
        i += 2
    return changes
