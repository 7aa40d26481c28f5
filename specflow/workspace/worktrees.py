"""Worktrees: a change is its branches, ``specflow/<id>`` in the hub and in each affected repo.

Layout under the hub (``.specflow/`` is git-ignored through ``.git/info/exclude``, never through
the user's ``.gitignore``)::

    .specflow/worktrees/<id>/<hub>/    the change's worktree of the hub: its hub phases run here
    .specflow/worktrees/<id>/<repo>/   the change's worktree of each affected repo (apply)

and in the hub's records folder (``<git-common-dir>/specflow/``, out of every agent's reach)::

    workspaces/<id>/                   specflow's local records: snapshot indexes, audits, setup marks
    logs/<id>/                         setup and test logs

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

import collections
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow.agents.base import AgentEvent, EventCallback, ignore_event
from specflow.definitions.config import HubConfig, RepoConfig
from specflow.errors import GitError, WorkspaceError
from specflow.localdir import records_dir
from specflow.structs import Struct
from specflow.trees import remove_tree
from specflow.workspace.git import GitRepo, find_git_dirs

BRANCH_PREFIX = "specflow/"
STATE_ROOT = ".specflow"
DEFAULT_LINKS = ("openspec",)


def branch_name(change_id: str) -> str:
    """The branch a change's worktrees work on."""
    return BRANCH_PREFIX + change_id


class Layout(Struct, frozen=True):
    """Where a change's worktrees and specflow's local records live under the hub."""

    hub: Path
    change_id: str
    worktrees_dir: str = ".specflow/worktrees"

    @property
    def worktrees_root(self) -> Path:
        """The change's worktrees folder: ``<hub>/.specflow/worktrees/<id>``."""
        base = Path(self.worktrees_dir)
        return (base if base.is_absolute() else self.hub / base) / self.change_id

    @property
    def hub_worktree(self) -> Path:
        """The change's own worktree of the hub: ``<worktrees_root>/<hub folder name>``."""
        return self.worktrees_root / self_repo_name(self.hub)

    @property
    def state_dir(self) -> Path:
        """The change's checkpoint records, seed indexes, gate file and setup marks."""
        return records_dir(self.hub) / "workspaces" / self.change_id

    @property
    def logs_dir(self) -> Path:
        """The change's setup and test logs."""
        return records_dir(self.hub) / "logs" / self.change_id

    def hub_excludes(self) -> list[str]:
        """``info/exclude`` lines that keep specflow's folders out of the hub's git status."""
        # the running totals ``status`` keeps beside a change's history: a cache, never committed
        lines = [f"/{STATE_ROOT}/", "/openspec/changes/*/.specflow/summary.json"]
        lines.append("/openspec/changes/archive/*/.specflow/summary.json")
        base = Path(self.worktrees_dir)
        if not base.is_absolute() and base.parts and base.parts[0] != STATE_ROOT:
            lines.append("/" + base.as_posix().strip("/") + "/")
        return lines


class RepoTarget(Struct, frozen=True):
    """An affected repo as the change sees it: where it is, where its worktree goes."""

    name: str
    source: Path
    """The repo's own checkout (for the single-repo case: the hub)."""
    worktree: Path
    branch: str
    base: str | None
    setup: str | None
    test: str | None
    links: tuple[str, ...]
    is_hub: bool = False

    @property
    def exists(self) -> bool:
        """True if the worktree has been created (and not removed)."""
        return find_git_dirs(self.worktree) is not None


def self_repo_name(hub: Path) -> str:
    """The name of the hub's own worktree in a single-repo project: the hub folder's name."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", hub.name).strip(".-") or "repo"
    return "repo" if name == "hub" else name


def plan_targets(
    hub: Path, config: HubConfig, change_id: str, repos: Sequence[str], *, strict: bool = True
) -> list[RepoTarget]:
    """The worktrees the change needs: one per affected repo, or the hub's own when none is configured.

    ``strict``: a repo name missing from ``specflow.yaml`` is an error (else it is skipped).
    """
    layout = Layout(hub, change_id, config.worktrees_dir)
    branch = branch_name(change_id)
    if not repos and not config.repos:
        return [hub_target(hub, config, change_id)]
    unknown = [r for r in repos if r not in config.repos]
    if not strict:
        repos = [r for r in repos if r in config.repos]
    elif unknown:
        known = ", ".join(config.repos) or "none configured"
        raise WorkspaceError(
            f"change '{change_id}' names unknown repo(s) {', '.join(unknown)} (configured: {known})",
            fix=f"remove them with 'specflow repos {change_id} remove NAME', or add them under"
            " 'repos:' in specflow.yaml",
        )
    targets = []
    for name in dict.fromkeys(repos):
        rc: RepoConfig = config.repos[name]
        source = Path(os.path.realpath(hub / rc.path))
        links = tuple(rc.links) if rc.links is not None else (*DEFAULT_LINKS, *config.shared)
        targets.append(
            RepoTarget(
                name,
                source,
                layout.worktrees_root / name,
                branch,
                rc.base,
                rc.setup,
                rc.test,
                tuple(dict.fromkeys(links)),
            )
        )
    return targets


def hub_target(hub: Path, config: HubConfig, change_id: str) -> RepoTarget:
    """The change's worktree of the hub itself, on ``specflow/<id>``: where its hub phases run.

    It holds the change's own ``openspec/`` (its folder, records and the specs as the branch sees
    them), so it links nothing; the repo worktrees link their ``openspec/`` to it.
    """
    layout = Layout(hub, change_id, config.worktrees_dir)
    # among component repos it is "the hub"; alone, it is the project, named after its folder
    name = "hub" if config.repos else self_repo_name(hub)
    return RepoTarget(name, hub, layout.hub_worktree, branch_name(change_id), None, None, None, (), True)


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


# -- commands (setup and tests) ----------------------------------------------------------------


class CommandResult(Struct, frozen=True):
    """A finished shell command: exit code (None after a timeout), log file and output tail."""

    command: str
    exit_code: int | None
    log: Path
    duration_s: float
    tail: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


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


def run_logged(
    command: str,
    cwd: Path,
    log: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_event: EventCallback = ignore_event,
    label: str = "",
    tail_lines: int = 20,
) -> CommandResult:
    """Run a shell command, its output going to ``log`` and streamed as ``output`` events.

    After ``timeout`` seconds its whole process group is killed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    with log.open("w", encoding="utf-8", errors="replace") as fh:
        fh.write(f"$ {command}\n# in {cwd}\n")
        fh.flush()
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = threading.Event()
        timer = threading.Timer(timeout, _kill_group, (proc, timed_out))
        timer.daemon = True
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                fh.write(line + "\n")
                fh.flush()
                tail.append(line)
                on_event(AgentEvent("output", line, {"label": label, "log": str(log)}))
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                _kill_group(proc, timed_out)
                proc.wait()
        if timed_out.is_set():
            fh.write(f"# killed after {timeout:g}s\n")
    killed = timed_out.is_set()
    return CommandResult(command, None if killed else code, log, time.monotonic() - start, "\n".join(tail), killed)


def _kill_group(proc: subprocess.Popen[bytes], timed_out: threading.Event) -> None:
    """Kill the command's whole process group (it runs in a session of its own)."""
    timed_out.set()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def setup_marker(layout: Layout, target: RepoTarget) -> Path:
    return layout.state_dir / f"setup-{target.name}.ok"


def run_setup(
    target: RepoTarget,
    layout: Layout,
    *,
    timeout: float,
    on_event: EventCallback = ignore_event,
) -> CommandResult | None:
    """Run the repo's setup command in its worktree once (again after a failure)."""
    if not target.setup:
        return None
    marker = setup_marker(layout, target)
    if marker.exists():
        return None
    log = layout.logs_dir / f"setup-{target.name}.log"
    on_event(AgentEvent("output", f"setting up {target.name}: {target.setup}", {"repo": target.name, "stage": "setup"}))
    result = run_logged(
        target.setup,
        target.worktree,
        log,
        timeout=timeout,
        env=command_env(layout, target),
        on_event=on_event,
        label=f"setup {target.name}",
    )
    if not result.ok:
        what = f"timed out after {timeout:g}s" if result.timed_out else f"failed with exit code {result.exit_code}"
        raise WorkspaceError(
            f"setup of repo '{target.name}' ({target.setup}) {what}; log: {result.log}"
            + (f"\n{_indent(result.tail)}" if result.tail else ""),
            fix=f"read the log, fix the setup command (repos.{target.name}.setup in specflow.yaml)"
            " or the worktree, then run again; setup runs again until it succeeds",
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{target.setup}\n", encoding="utf-8")
    return result


def command_env(layout: Layout, target: RepoTarget) -> dict[str, str]:
    return {
        "SPECFLOW_CHANGE": layout.change_id,
        "SPECFLOW_HUB": str(layout.hub),
        "SPECFLOW_REPO": target.name,
        "SPECFLOW_WORKTREE": str(target.worktree),
    }


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


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
