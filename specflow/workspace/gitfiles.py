"""Git's own files: what an agent could plant in a repository's git folder, audited apart.

Config (``core.fsmonitor``, ``core.hooksPath``, aliases), excludes (which hide files from every
snapshot), attributes and hooks change what git — and so specflow — does.  No gate allows
writing them: their bytes are recorded with each checkpoint and put back, before the audit runs
any git command in the repository, with the agent's versions kept for inspection.  Their bytes are
kept as base64 through ``binascii``, which ``base64`` calls (it costs ``advance`` ~0.4 ms to import).
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from specflow.workspace.checkpoints import Workspace
from specflow.workspace.report import AuditReport, Violation

# Files inside a repository's git folder that change what git (and so specflow) does: config
# (core.fsmonitor, core.hooksPath, aliases), excludes (which hide files from every snapshot),
# attributes and hooks.  No gate allows writing them.
_GIT_FILES = ("config", "config.worktree", "info/exclude", "info/attributes")


def _hooks(folder: Path) -> list[Path]:
    """The hooks of a hooks folder that git would run: every file but ``*.sample`` (``git init``
    puts a dozen there, which git never runs under that name; one renamed is a new hook)."""
    return [p for p in folder.iterdir() if not p.name.endswith(".sample") and p.is_file()]


def snapshot_git_files(workspaces: Sequence[Workspace]) -> dict[str, str | None]:
    """The bytes (base64) of every sensitive git file of ``workspaces``, keyed by absolute path."""

    paths: set[Path] = set()
    for ws in workspaces:
        for folder in {ws.repo.common_dir, ws.repo.git_dir}:
            paths.update(folder / name for name in _GIT_FILES)
            hooks = folder / "hooks"
            if hooks.is_dir():
                paths.update(_hooks(hooks))
        dotgit = ws.path / ".git"
        if dotgit.is_file():
            paths.add(dotgit)
    out: dict[str, str | None] = {}
    for p in sorted(paths):
        try:
            out[str(p)] = binascii.b2a_base64(p.read_bytes(), newline=False).decode("ascii")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            out[str(p)] = None
    return out


def _read_b64(path: Path) -> str | None:

    try:
        return binascii.b2a_base64(path.read_bytes(), newline=False).decode("ascii")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def audit_git_files(
    before: dict[str, str | None], report: AuditReport, keep: Callable[[Path, bool], str] | None = None
) -> None:
    """Put back every sensitive git file changed since ``before`` (a snapshot); remove new hooks.

    ``keep(path, move)`` keeps the agent's version first (moved, or copied when it is written
    over) and returns where; it is kept for inspection, never restored by ``specflow restore``.
    """

    now = {path: _read_b64(Path(path)) for path in before}
    # every git folder recorded has its config in ``before``: its hooks folder is checked even
    # when it was empty or missing at the checkpoint (a hook planted there runs on the next commit)
    for hooks in {Path(path).parent / "hooks" for path in before if Path(path).name == "config"}:
        if hooks.is_dir():
            now.update({str(p): _read_b64(p) for p in _hooks(hooks) if str(p) not in now})
    for path in sorted(set(before) | set(now)):
        old, new = before.get(path), now.get(path)
        if old == new or (path not in before and new is None):
            continue
        target = Path(path)
        if not target.parent.is_dir():
            continue  # the whole folder is gone (a deleted worktree): it is made again as a whole
        saved = ""
        try:
            if keep is not None and new is not None:
                saved = keep(target, old is None)
            if old is None:
                target.unlink(missing_ok=True)
                detail = "created in git's own folder; removed"
            else:
                mode = target.stat().st_mode if target.exists() else None
                target.write_bytes(binascii.a2b_base64(old))
                if mode is not None:
                    os.chmod(target, mode)
                detail = "git's own file changed; put back" if new is not None else "git's own file deleted; restored"
        except OSError as exc:
            report.errors.append(f"could not put back {path}: {exc}")
            continue
        report.violations.append(Violation("git", path, "git", detail, saved=saved))
