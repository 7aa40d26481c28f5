"""What an agent may write, in the terms a sandbox layer understands: folders and files.

A gate's glob maps to the folder of its longest literal prefix (``GatePolicy.writable_roots``); the
audit still judges everything inside.  Inside those folders git's data and specflow's own records
are listed as ``protected``: bubblewrap and seatbelt make them read-only again.  Landlock only
grants, so ``landlock_grants`` splits a writable folder that holds a git folder into the entries
beside it (git's folder holds the refs, hooks and specflow's records, and must stay read-only);
new entries directly in such a folder are then refused too, and the rest of ``protected`` is left
to the audit.  A worktree phase may commit on the change's branch,
so the worktree's own git folder, the object store and ``refs/heads/specflow/`` are writable too;
hooks, config and every other ref are not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from specflow.sandbox.settings import Network
from specflow.structs import Struct
from specflow.workspace.gates import GatePolicy

#: Names that are read-only wherever they appear in a writable folder (git's data, specflow's records).
PROTECTED_NAMES = (".git", ".specflow")


class SandboxPolicy(Struct, frozen=True):
    """The resolved confinement of one agent run."""

    writable: tuple[Path, ...]
    """Folders (everything below) and single files the agent may write."""
    protected: tuple[Path, ...]
    """Existing paths inside ``writable`` folders that stay read-only where the layer can."""
    tmpdir: Path
    cwd: Path
    visible: tuple[Path, ...] = ()
    """Paths the agent must still see when a layer hides the host's /tmp."""
    network: Network = "any"
    read_only: bool = False


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def protected_within(roots: Iterable[Path], hub: Path) -> list[Path]:
    """Existing git data and specflow records that lie inside (or are) one of ``roots``."""
    roots = list(roots)
    candidates: list[Path] = [hub / name for name in PROTECTED_NAMES]
    for root in roots:
        candidates += [root / name for name in PROTECTED_NAMES]
    changes = hub / "openspec" / "changes"
    if _inside(changes, roots) or any(changes in root.parents for root in roots):
        candidates += list(changes.glob("*/.specflow")) + list(changes.glob("archive/*/.specflow"))
    found: list[Path] = []
    for path in candidates:
        if os.path.lexists(path) and _inside(path, roots) and path not in found:
            found.append(path)
    return found


def gate_roots(gate: GatePolicy) -> list[Path]:
    """The gate's writable folders (a read-only gate has none), resolved."""
    return [] if gate.read_only else [_real(r) for r in gate.writable_roots()]


def _git_dir_of(worktree: Path) -> Path | None:
    """The private git folder of a linked worktree (from its ``.git`` file), None for others."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    found = Path(text[len("gitdir:") :].strip())
    return _real(found if found.is_absolute() else worktree / found)


def commit_paths(gate: GatePolicy) -> list[Path]:
    """What committing on the change's branch in its worktrees writes inside git's folders.

    The worktree's own git folder (index, HEAD), the shared object store, and the refs and logs
    under ``refs/heads/specflow/``; hooks, config and every other ref stay read-only.
    """
    paths: list[Path] = []
    for worktree in () if gate.read_only else gate.worktrees:
        private = _git_dir_of(worktree)
        if private is None:
            continue
        try:
            common_rel = (private / "commondir").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        common = _real(private / common_rel)
        paths += [private, common / "objects", common / "refs" / "heads" / "specflow"]
        paths.append(common / "logs" / "refs" / "heads" / "specflow")
    return [p for i, p in enumerate(paths) if p not in paths[:i]]


def _split_around(folder: Path, keep_out: list[Path]) -> list[Path]:
    """``folder``'s entries, each granted whole unless it is or holds one of ``keep_out``."""
    grants: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return grants
    for entry in entries:
        if entry in keep_out:
            continue
        if any(entry in p.parents for p in keep_out) and entry.is_dir() and not entry.is_symlink():
            grants += _split_around(entry, keep_out)
        else:
            grants.append(entry)
    return grants


def landlock_grants(policy: SandboxPolicy) -> list[Path]:
    """What Landlock grants for ``policy``: its writable paths, none of them holding a git folder."""
    git_dirs = [p for p in policy.protected if p.name == ".git" and p.is_dir() and not p.is_symlink()]
    grants: list[Path] = []
    for path in policy.writable:
        inner = [g for g in git_dirs if path in g.parents]
        for grant in _split_around(path, inner) if inner else [path]:
            if grant not in grants:
                grants.append(grant)
    return grants


def build_policy(
    gate: GatePolicy,
    *,
    cwd: Path,
    tmpdir: Path,
    network: Network,
    own: Iterable[str | Path] = (),
    extra: Iterable[str] = (),
    visible: Iterable[str | Path] = (),
) -> SandboxPolicy:
    """The policy of one run: the gate's roots, the private temp folder, the program's own paths."""
    roots = gate_roots(gate)
    writable: list[Path] = []
    for path in [*roots, *commit_paths(gate), _real(tmpdir), *(_real(p) for p in own), *(_real(p) for p in extra)]:
        if path not in writable:
            writable.append(path)
    shown: list[Path] = []
    for p in (cwd, gate.hub, *visible):
        # a path and, when a link leads elsewhere (a venv's bin/python), where it leads: both
        # must be seen where a layer hides the host's /tmp
        for seen in (_real(p), Path(os.path.abspath(os.path.expanduser(str(p))))):
            if seen not in shown:
                shown.append(seen)
    return SandboxPolicy(
        writable=tuple(writable),
        protected=tuple(protected_within(roots, gate.hub)),
        tmpdir=_real(tmpdir),
        cwd=_real(cwd),
        visible=tuple(shown),
        network=network,
        read_only=gate.read_only,
    )
