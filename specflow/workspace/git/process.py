"""Every git process specflow starts: the environment it runs in and the one place that starts it.

git runs with full control of its environment: a temporary index through ``GIT_INDEX_FILE``,
optional locks off so read-only queries never rewrite a user's index, replacement objects ignored.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from specflow.errors import GitError

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
        raise GitError(failure(args, cwd, proc))
    return proc


class ChangedUnderAdd(Exception):
    """A snapshot's ``beside`` work changed the working tree while ``add`` scanned it: take it again."""


def start_git(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``git args`` started in ``cwd``, its output piped, read by the caller when it needs it."""
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        run_git(args, cwd, env=env)  # says why: no git, or no such folder
        raise


def run_git_beside(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], beside: Callable[[], bool]
) -> tuple[subprocess.CompletedProcess[bytes], bool]:
    """``run_git(args, check=False)``, with ``beside()`` called while git runs; its answer too."""
    proc = start_git(args, cwd, env)
    try:
        changed = beside()
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), changed


def failure(args: Sequence[str], cwd: Path, proc: subprocess.CompletedProcess[bytes]) -> str:
    """What a failed ``git args`` said, and where it ran: a ``GitError``'s message."""
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


def who_am_i(cwd: Path | None = None) -> str:
    """The person's name, as an approval or a discard records it: git's user.name, else the login name."""
    name = config_value("user.name", cwd)
    if name:
        return name
    import getpass  # its terminal handling costs every advance ~0.5 ms to import; used only here

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def git_version() -> tuple[int, ...]:
    """The installed git's version, e.g. ``(2, 39, 5)``."""
    out = run_git(["--version"], Path.cwd()).stdout.decode().split()
    nums = out[2].split(".") if len(out) > 2 else []
    return tuple(int(n) for n in nums if n.isdigit())
