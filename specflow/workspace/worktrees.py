"""Worktrees: making and removing a change's worktrees, on its branch ``specflow/<id>``.

Where they go and which a change needs is ``layout.py``; the setup command run in a new worktree
is ``repocommands.py``.  Here: creating a worktree (from the base branch, the change's branch, or
the commits another clone pushed), its links to the hub, the base branch it was made from, whether
its branch is merged, and removing it.

**One change folder, the change's own.**  The hub worktree holds the change's folder on its
branch; each repo worktree gets ``openspec`` (and the hub's shared folders) as a symlink to the
change's hub worktree, so an agent working in a repo worktree reads and ticks the change's own
``tasks.md``.  The links are hidden from git by the pair ``/<link>`` + ``!/<link>/`` in
``info/exclude``: a *file or symlink* named ``openspec`` is ignored, a real *folder* is not.  When
a repo's branch itself tracks a linked path (a component repo that commits an ``openspec`` link),
the worktree is made sparse for that path only (per-worktree configuration, as
``git sparse-checkout`` does): commits on the branch never touch it.  The person's own checkouts
are never an agent's workspace.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from specflow.agents.base import AgentEvent, EventCallback, ignore_event
from specflow.errors import GitError, WorkspaceError
from specflow.trees import remove_tree
from specflow.workspace.git import GitRepo
from specflow.workspace.layout import Layout, RepoTarget
from specflow.workspace.repocommands import setup_marker


def open_source(target: RepoTarget) -> GitRepo:
    """The repo a target's worktree comes from, with an error that names the repo."""
    try:
        return GitRepo.open(target.source)
    except GitError as exc:
        raise WorkspaceError(
            f"repo '{target.name}' at {target.source} is not usable: {exc.message}",
            fix=f"check repos.{target.name}.path in specflow.yaml (relative to the hub)",
        ) from None


def resolve_base(target: RepoTarget, repo: GitRepo) -> str:
    """The base branch: the configured one, else the branch the repo has checked out."""
    base = target.base or repo.current_branch()
    if base is None:
        raise WorkspaceError(
            f"repo '{target.name}' ({target.source}) has no branch checked out (detached HEAD)"
            " and no base branch configured",
            fix=f"set repos.{target.name}.base in specflow.yaml, or check out a branch there",
        )
    if not repo.branch_exists(base):
        raise WorkspaceError(
            f"base branch '{base}' of repo '{target.name}' does not exist in {target.source}",
            fix=f"create it, or set repos.{target.name}.base in specflow.yaml to an existing branch",
        )
    return base


def link_excludes(links: Sequence[str]) -> list[str]:
    """``info/exclude`` lines hiding a symlink named like ``link`` but not a real folder of that name."""
    lines: list[str] = []
    for link in links:
        rel = link.strip("/")
        lines += [f"/{rel}", f"!/{rel}/"]
    return lines


def create_worktree(
    target: RepoTarget,
    layout: Layout,
    on_event: EventCallback = ignore_event,
) -> tuple[Path, str]:
    """Create the target's worktree (idempotent) with its links; return ``(path, base)``.

    The setup command is not run here (see ``run_setup``).
    """
    repo = open_source(target)
    path = target.worktree
    if target.exists:
        base = read_base(layout, target) or target.base or repo.current_branch() or "?"
        make_links(target, layout.hub_worktree, on_event)
        return path, base
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
        else:
            raise WorkspaceError(
                f"{path} exists but is not a git worktree of '{target.name}'",
                fix="move it away or delete it, then run again",
            )
    branch_exists = repo.branch_exists(target.branch)
    base = (read_base(layout, target) if branch_exists else None) or resolve_base(target, repo)
    # a change continued from another clone starts from the commits that clone pushed, never from base
    pushed = None if branch_exists else pushed_branch(repo, target.branch)
    start = target.branch if branch_exists else pushed or base
    tracked = tracked_links(repo, start, target.links)
    path.parent.mkdir(parents=True, exist_ok=True)
    repo.add_excludes(link_excludes(target.links), "specflow: hub folders linked into worktrees")
    if target.is_hub:
        repo.add_excludes(layout.hub_excludes(), "specflow: local state, worktrees and logs")
    on_event(
        AgentEvent(
            "output",
            f"creating worktree {path} on {target.branch} from {start}",
            {"repo": target.name, "stage": "worktree"},
        )
    )
    try:
        _worktree_add(repo, path, target.branch, None if branch_exists else start, sparse=bool(tracked))
        if pushed is not None:
            repo.run("branch", "--quiet", f"--set-upstream-to={pushed}", target.branch)
        if tracked:
            wt = GitRepo.open(path)
            repo.enable_sparse(wt.git_dir, ["/*", *(f"!/{t}" for t in tracked)])
            wt.checkout_head()
    except GitError as exc:
        raise WorkspaceError(
            f"could not create the worktree of '{target.name}' at {path}: {exc.message}",
            fix=f"if the branch {target.branch} is checked out elsewhere, switch that checkout"
            " to another branch; 'git worktree list' shows where",
        ) from None
    write_base(layout, target, base)
    make_links(target, layout.hub_worktree, on_event)
    return path, base


def pushed_branch(repo: GitRepo, branch: str) -> str | None:
    """``<remote>/<branch>`` when a fetched remote has ``branch`` (``origin`` first), else None."""
    remotes = sorted(
        ref.removeprefix("refs/remotes/").split("/", 1)[0]
        for ref in repo.read_refs("refs/remotes/")
        if ref.removeprefix("refs/remotes/").partition("/")[2] == branch
    )
    if not remotes:
        return None
    return f"{'origin' if 'origin' in remotes else remotes[0]}/{branch}"


def _worktree_add(repo: GitRepo, path: Path, branch: str, start: str | None, *, sparse: bool) -> None:
    try:
        repo.worktree_add(path, branch, start, no_checkout=sparse)
    except GitError as exc:
        if "already registered" not in exc.message and "missing but" not in exc.message:
            raise
        repo.worktree_prune()  # a worktree deleted by hand is still registered
        repo.worktree_add(path, branch, start, no_checkout=sparse)


def tracked_links(repo: GitRepo, start: str, links: Sequence[str]) -> list[str]:
    """Which link paths the start commit tracks (they must be made sparse in the worktree)."""
    names = [link.strip("/") for link in links if link.strip("/")]
    if not names:
        return []
    out = repo.run("ls-tree", "-z", "--name-only", start, "--", *names)
    present = {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}
    return [n for n in names if n in present]


def make_links(target: RepoTarget, hub: Path, on_event: EventCallback = ignore_event) -> list[Path]:
    """Symlink each hub folder of ``target.links`` into the worktree (absent ones are skipped)."""
    made: list[Path] = []
    for link in target.links:
        rel = link.strip("/")
        if not rel:
            continue
        src = hub / rel
        dst = target.worktree / rel
        if not src.exists():
            on_event(
                AgentEvent(
                    "warning", f"hub folder {rel} does not exist; not linked into {target.name}", {"repo": target.name}
                )
            )
            continue
        if dst.is_symlink():
            if os.path.realpath(dst) == os.path.realpath(src):
                continue
            dst.unlink()
        elif dst.exists():
            on_event(
                AgentEvent(
                    "warning", f"{dst} exists in the worktree; not replaced by a link to the hub", {"repo": target.name}
                )
            )
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(src, dst, target_is_directory=src.is_dir())
        made.append(dst)
    return made


def remove_links(target: RepoTarget) -> None:
    """Remove the hub links from a worktree (before deleting it, so nothing follows them)."""
    for link in target.links:
        dst = target.worktree / link.strip("/")
        if dst.is_symlink():
            dst.unlink()


def _base_file(layout: Layout, target: RepoTarget) -> Path:
    return layout.state_dir / f"base-{target.name}"


def read_base(layout: Layout, target: RepoTarget) -> str | None:
    """The base branch recorded when the worktree was created."""
    try:
        return _base_file(layout, target).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def write_base(layout: Layout, target: RepoTarget, base: str) -> None:
    path = _base_file(layout, target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base + "\n", encoding="utf-8")


def base_of(layout: Layout, target: RepoTarget, repo: GitRepo) -> str:
    """The base branch of a target: recorded at creation, else configured, else checked out."""
    return read_base(layout, target) or resolve_base(target, repo)


def merge_state(layout: Layout, targets: Sequence[RepoTarget]) -> dict[str, str | None]:
    """For each affected repo of ``targets``: None when its branch is merged into its base, else why not.

    The hub's own branch is not among them: it lands when the change reaches its final state (in
    a single-repo project, with the code on it).
    """
    out: dict[str, str | None] = {}
    for target in targets:
        if target.is_hub:
            continue
        source = open_source(target)
        base = base_of(layout, target, source)
        branch_sha = source.resolve(f"refs/heads/{target.branch}")
        if branch_sha is None:
            out[target.name] = None  # never worked on: nothing to merge
            continue
        if target.exists and GitRepo.open(target.worktree).status():
            out[target.name] = f"the worktree of {target.name} has uncommitted work"
            continue
        if source.is_ancestor(branch_sha, f"refs/heads/{base}"):
            out[target.name] = None
            continue
        ahead = len(source.rev_list(f"refs/heads/{base}..{branch_sha}"))
        out[target.name] = f"{target.branch} is not merged into {base} in {target.name} ({ahead} commit(s) ahead)"
    return out


def remove_worktree(target: RepoTarget, layout: Layout, *, force: bool = False) -> bool:
    """Remove the target's worktree (the branch is kept).  Refuse, unless ``force``, when dirty."""
    if not target.exists:
        return False
    if not force:
        check_clean(target)
    repo = open_source(target)
    remove_links(target)
    try:
        repo.worktree_remove(target.worktree, force=True)
    except GitError:
        remove_tree(target.worktree, ignore_errors=True)
        repo.worktree_prune()
    setup_marker(layout, target).unlink(missing_ok=True)
    return True


def check_clean(target: RepoTarget) -> None:
    """Refuse when the target's worktree has uncommitted work (tracked changes or untracked files)."""
    if not target.exists:
        return
    dirty = GitRepo.open(target.worktree).status()
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise WorkspaceError(
            f"the worktree of '{target.name}' ({target.worktree}) has {len(dirty)} uncommitted change(s): {shown}",
            fix=f"commit them on {target.branch} (git -C {target.worktree} add -A &&"
            f" git -C {target.worktree} commit), or pass --force to discard them",
        )
