"""A repository's working tree as specflow opens it, with what every part of the git door uses:
running git there, and reading HEAD, refs, commits and index files without a process."""

from __future__ import annotations

import functools
import os
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Self

from specflow.errors import GitError
from specflow.workspace import indexfile, looseobjects
from specflow.workspace.git import process


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


@functools.lru_cache(maxsize=32)
def _object_format(config: str, stamp: tuple[int, int, int]) -> str:
    """The object format a repository's ``config`` names, as it was at ``stamp`` (its stat data)."""
    try:
        with open(config, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return "sha1"
    return "sha256" if re.search(r"(?im)^\s*objectformat\s*=\s*sha256\s*$", text) else "sha1"


class GitBase:
    """A working tree (a main checkout or a linked worktree) of a git repository: where it is,
    and git run in it.  ``GitRepo`` adds what specflow does with it."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.unindexable: list[str] = []
        """Nested repositories without a commit that the last ``snapshot`` had to leave out."""
        self.unreadable: dict[str, str] = {}
        """What the last ``snapshot``'s add said it could not read: path -> reason (``unreadable.parse``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    @classmethod
    def open(cls, path: Path) -> Self:
        """The working tree at ``path`` (its top, or any folder inside it)."""
        root = Path(os.path.realpath(path))
        dirs = find_git_dirs(root)
        if dirs is not None:
            return cls(root, *dirs)
        if not root.is_dir():
            raise GitError(f"{path} does not exist", fix="check the path in specflow.yaml")
        proc = process.run_git(
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
        return process.run_git(args, self.root, env=env, input=input, check=check).stdout

    def text(self, *args: str, **kwargs: Any) -> str:
        return self.run(*args, **kwargs).decode("utf-8", "replace")

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> bool:
        """True when git exits 0."""
        return process.run_git(args, self.root, env=env, check=False).returncode == 0

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
        proc = process.run_git(["rev-parse", "-q", "--verify", rev + "^{commit}"], self.root, check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

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

    def unstored(self, shas: Iterable[str]) -> list[str]:
        """Which of ``shas`` are neither a loose object file nor named by a pack's index, told
        without a process; git knows about those (an alternate may hold them, or none does)."""
        wanted = [sha for sha in dict.fromkeys(shas) if not looseobjects.has_object(self.common_dir, sha)]
        if wanted and self.object_format() == "sha1":
            packed = looseobjects.in_packs(self.common_dir, wanted)
            wanted = [sha for sha in wanted if packed is None or sha not in packed]
        return wanted

    def real_index(self) -> Path:
        return self.git_dir / "index"

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

    def config_get(self, key: str) -> str | None:
        proc = process.run_git(["config", "--get", key], self.root, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None
