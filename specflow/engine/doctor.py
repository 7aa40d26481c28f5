"""Checks of a hub's setup: configuration, repos, base branches, links, agents, tools, sandbox layers.

``check_hub`` runs every check (``specflow doctor``); ``check_phase`` runs only those a phase
depends on (the repos it works in, their base branches, its agent's program), so a problem with
the machine is reported as a setup error with its fix before any agent starts.  Each check is a
typed ``Check``; nothing here prints.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from specflow.agents import adapter_names, is_adapter
from specflow.definitions.config import AgentConfig, HubConfig, RepoConfig, load_config
from specflow.definitions.workflow import StateDef, Workflow, load_workflow_by_name
from specflow.errors import SetupError, SpecflowError
from specflow.structs import Struct, asdict
from specflow.workspace.git import GitRepo, find_git_dirs, git_version
from specflow.workspace.layout import DEFAULT_LINKS

Status = Literal["ok", "fail", "info"]
"""``fail`` breaks a run (doctor exits 1); ``info`` is something optional this machine lacks."""

LANDLOCK_CREATE_RULESET = 444  # x86_64, arm64 and every architecture on the shared system call table
LANDLOCK_CREATE_RULESET_VERSION = 1
PROBE_TIMEOUT_S = 20.0


class Check(Struct, frozen=True):
    """One verdict: what was checked, what was found, and the fix when it failed."""

    name: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


# -- the whole hub ---------------------------------------------------------------------------


def check_hub(hub_root: Path) -> list[Check]:
    """Every check of the hub at ``hub_root`` and of this machine, in the order a person reads them."""
    checks = [check_git()]
    config, config_check = _load_config(hub_root)
    checks.append(config_check)
    if config is not None:
        workflow, workflow_check = _load_workflow(hub_root, config)
        checks.append(workflow_check)
        checks += _check_shared(hub_root, config)
        for name in config.repos:
            checks += check_repo(hub_root, config, name)
        for name in _agents_in_use(config, workflow):
            checks.append(check_agent(hub_root, config, name))
    checks.append(check_openspec(hub_root))
    checks += check_sandbox_layers()
    return checks


def check_phase(
    hub_root: Path,
    config: HubConfig,
    state: StateDef,
    repos: Sequence[str],
    agent: str | None = None,
    *,
    versions: bool = True,
) -> list[Check]:
    """Only the checks phase ``state`` depends on: its repos (when it works in worktrees) and its agent.

    ``repos`` are the change's repos; ``agent`` overrides the phase's and the hub's default agent.
    ``versions=False`` finds programs without starting them (what ``advance`` does before a phase).
    """
    checks: list[Check] = []
    if state.gate.worktrees:
        for name in repos:
            checks += check_repo(hub_root, config, name)
    if state.runs_agent:
        checks.append(check_agent(hub_root, config, agent or state.agent or config.default_agent, versions=versions))
    return checks


def require_ready(checks: Sequence[Check]) -> None:
    """Raise ``SetupError`` naming every failed check and its fix; nothing when none failed."""
    failed = [c for c in checks if c.failed]
    if len(failed) == 1:
        raise SetupError(f"{failed[0].name}: {failed[0].detail}", fix=failed[0].fix)
    if failed:
        raise SetupError(
            f"{len(failed)} setup problems:\n" + "\n".join(f"  - {c.name}: {c.detail}" for c in failed),
            fix="; ".join(f"{c.name}: {c.fix}" for c in failed),
        )


def _load_config(hub_root: Path) -> tuple[HubConfig | None, Check]:
    try:
        config = load_config(hub_root)
    except SpecflowError as exc:
        return None, _fail("config", exc.message, exc.fix or "correct specflow.yaml")
    if not (hub_root / "specflow.yaml").is_file():
        return config, Check("config", "info", "no specflow.yaml: every setting has its default")
    found = f"{len(config.repos)} repo(s), {len(config.agents)} agent(s)"
    return config, _ok("config", f"specflow.yaml is valid ({found})")


def _load_workflow(hub_root: Path, config: HubConfig) -> tuple[Workflow | None, Check]:
    name = f"workflow {config.default_workflow}"
    try:
        wf = load_workflow_by_name(config.default_workflow, hub_root)
    except SpecflowError as exc:
        return None, _fail(name, exc.message, exc.fix or "correct the workflow file")
    return wf, _ok(name, f"{wf.source} is valid ({len(wf.states)} states)")


def _check_shared(hub_root: Path, config: HubConfig) -> list[Check]:
    return [
        _ok(f"shared {folder}", f"{hub_root / folder} is linked into every worktree")
        if (hub_root / folder).is_dir()
        else _fail(
            f"shared {folder}",
            f"{hub_root / folder} does not exist",
            f"create the folder {folder}/ in the hub, or remove it from 'shared:' in specflow.yaml",
        )
        for folder in config.shared
    ]


def _agents_in_use(config: HubConfig, workflow: Workflow | None) -> list[str]:
    """The default agent, every configured one, and those the default workflow's phases name."""
    names = [config.default_agent, *config.agents]
    if workflow is not None:
        names += [st.agent for st in workflow.states.values() if st.agent]
    return list(dict.fromkeys(names))


# -- repos -----------------------------------------------------------------------------------


def check_repo(hub_root: Path, config: HubConfig, name: str) -> list[Check]:
    """Repo ``name`` exists, is a git repo, has its base branch, and its links resolve."""
    rc = config.repos.get(name)
    if rc is None:
        known = ", ".join(config.repos) or "none configured"
        return [
            _fail(
                f"repo {name}",
                f"no repo {name!r} in specflow.yaml (configured: {known})",
                "add it under 'repos:' in specflow.yaml",
            )
        ]
    path = Path(os.path.realpath(hub_root / rc.path))
    problem = _repo_problem(path, rc)
    if problem is not None:
        return [_fail(f"repo {name}", problem[0], problem[1])]
    repo = GitRepo.open(path)
    return [
        _ok(f"repo {name}", f"{path} is a git repository"),
        _check_base(name, repo, rc),
        *_check_links(hub_root, config, name, path, rc),
    ]


def _repo_problem(path: Path, rc: RepoConfig) -> tuple[str, str] | None:
    if not path.exists():
        return f"{rc.path} does not exist (resolved to {path})", (
            f"clone the repo to {path}, or correct its 'path:' in specflow.yaml (relative to the hub)"
        )
    if not path.is_dir():
        return f"{path} is a file, not a folder", "point 'path:' in specflow.yaml at the repo's folder"
    if find_git_dirs(path) is None:
        return f"{path} is not a git repository (no .git at its top)", (
            f"run 'git init' in {path}, or point 'path:' in specflow.yaml at the repo's top folder"
        )
    return None


def _check_base(name: str, repo: GitRepo, rc: RepoConfig) -> Check:
    check = f"repo {name}: base branch"
    if rc.base is None:
        current = repo.current_branch()
        if current is None:
            return _fail(
                check,
                f"no 'base:' set and {repo.root} has no branch checked out (detached HEAD)",
                f"set 'base:' for {name} in specflow.yaml, or check out its main branch",
            )
        return _ok(check, f"{current} (the branch checked out; set 'base:' to pin it)")
    if not repo.branch_exists(rc.base):
        return _fail(
            check,
            f"branch {rc.base!r} does not exist in {repo.root}",
            f"create it (git -C {repo.root} branch {rc.base}) or correct 'base:' for {name} in specflow.yaml",
        )
    return _ok(check, rc.base)


def _check_links(hub_root: Path, config: HubConfig, name: str, path: Path, rc: RepoConfig) -> list[Check]:
    """Each hub folder linked into the repo's worktrees exists; a link already in the repo leads to it."""
    links = rc.links if rc.links is not None else [*DEFAULT_LINKS, *config.shared]
    checks = []
    for link in dict.fromkeys(links):
        check = f"repo {name}: link {link}"
        target = hub_root / link
        if not target.exists():
            checks.append(
                _fail(check, f"the hub has no {link} to link", f"create {target}, or remove {link!r} from 'links:'")
            )
            continue
        present = path / link
        if present.is_symlink() and os.path.realpath(present) != os.path.realpath(target):
            checks.append(
                _fail(
                    check,
                    f"{present} leads to {os.path.realpath(present)}, not to this hub's {link}",
                    f"re-point it: ln -sfn {target} {present}",
                )
            )
            continue
        checks.append(_ok(check, f"{target}"))
    return checks


# -- agents ----------------------------------------------------------------------------------


def check_agent(hub_root: Path, config: HubConfig, name: str, *, versions: bool = True) -> Check:
    """Agent ``name``'s adapter is known and its program is found (with its version when it tells)."""
    agent = config.agent(name)
    check = f"agent {name}"
    if not is_adapter(agent.adapter):
        return _fail(
            check,
            f"unknown adapter {agent.adapter!r} (known: {', '.join(adapter_names())})",
            "correct 'adapter:' in specflow.yaml, or install the package that provides it",
        )
    if agent.adapter == "claude-code":
        return _check_claude(check, agent, versions)
    if agent.adapter == "command":
        return _check_command(check, hub_root, agent)
    return _ok(check, f"adapter {agent.adapter} (from an installed package)")


def _check_claude(check: str, agent: AgentConfig, versions: bool = True) -> Check:
    from specflow.agents.claude.binary import find_binary  # only for a phase whose agent is Claude Code

    try:
        binary = find_binary(agent.binary)
    except SpecflowError as exc:
        return _fail(check, exc.message, exc.fix or "install Claude Code")
    if not versions:
        return _ok(check, str(binary))
    version = program_version([str(binary), "--version"])
    return _ok(check, f"{binary} ({version or 'version unknown'})")


def _check_command(check: str, hub_root: Path, agent: AgentConfig) -> Check:
    if not agent.command:
        return _fail(
            check,
            "the command adapter has no 'command:'",
            "add 'command: [program, args...]' to the agent in specflow.yaml",
        )
    program = agent.command[0]
    found = _find_program(program, hub_root)
    if found is None:
        return _fail(
            check,
            f"program {program!r} not found (not a file, and not on PATH)",
            f"install {program}, or correct the agent's 'command:' in specflow.yaml",
        )
    return _ok(check, f"{found}")


def _find_program(program: str, hub_root: Path) -> Path | None:
    """``program`` as the command adapter would start it: a path, or a name on PATH."""
    expanded = os.path.expanduser(program)
    if os.sep not in expanded:
        found = shutil.which(expanded)
        return Path(found) if found else None
    for candidate in (Path(expanded), hub_root / expanded):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def program_version(argv: Sequence[str]) -> str | None:
    """The first line a program prints for ``argv`` (e.g. ``claude --version``), or None."""
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


# -- tools -----------------------------------------------------------------------------------


def check_git() -> Check:
    try:
        version = git_version()
    except SpecflowError as exc:
        return _fail("git", exc.message, exc.fix or "install git")
    return _ok("git", "git " + ".".join(str(n) for n in version))


def check_openspec(hub_root: Path) -> Check:
    """OpenSpec's CLI, if installed: specflow does its work without it."""
    candidates = [os.environ.get("SPECFLOW_OPENSPEC"), shutil.which("openspec")]
    candidates.append(str(hub_root / "node_modules" / ".bin" / "openspec"))
    for candidate in _existing(candidates):
        version = program_version([candidate, "--version"])
        if version is not None:
            return _ok("openspec", f"{candidate} (OpenSpec {version})")
    return Check(
        "openspec",
        "info",
        "the OpenSpec CLI is not installed (specflow reads and archives changes without it)",
        "to use it alongside: npm install -g @fission-ai/openspec",
    )


def _existing(paths: Iterable[str | None]) -> list[str]:
    return [p for p in dict.fromkeys(paths) if p and os.path.isfile(p) and os.access(p, os.X_OK)]


# -- sandbox layers --------------------------------------------------------------------------


def check_sandbox_layers() -> list[Check]:
    """Which OS sandbox layers this machine offers an agent (their absence is not an error)."""
    system = os.uname().sysname
    if system != "Linux":
        return [Check("sandbox", "info", f"{system}: Landlock and bubblewrap are Linux only")]
    return [_check_landlock(), _check_bubblewrap()]


def landlock_abi() -> int | str:
    """The kernel's Landlock ABI version, or why it has none (a sentence)."""
    import ctypes  # ~1 ms to import: only ``specflow doctor`` asks

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = int(
            libc.syscall(
                LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION)
            )
        )
    except (OSError, AttributeError) as exc:
        return f"the landlock_create_ruleset system call cannot be made ({exc})"
    if abi >= 1:
        return abi
    code = ctypes.get_errno()
    if code == errno.ENOSYS:
        return "the kernel has no Landlock (built without CONFIG_SECURITY_LANDLOCK)"
    if code == errno.EOPNOTSUPP:
        return "Landlock is built in but not enabled (add landlock to the kernel's lsm= boot parameter)"
    return f"landlock_create_ruleset failed: {os.strerror(code)}"


def _check_landlock() -> Check:
    abi = landlock_abi()
    if isinstance(abi, int):
        return _ok("sandbox landlock", f"Landlock ABI {abi}")
    return Check("sandbox landlock", "info", abi, "use Linux 5.13 or later with Landlock enabled")


def _check_bubblewrap() -> Check:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check(
            "sandbox bubblewrap", "info", "bubblewrap is not installed", "apt-get install bubblewrap (or your distro's)"
        )
    try:
        proc = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "true"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("sandbox bubblewrap", "info", f"{bwrap} could not run: {exc}", "reinstall bubblewrap")
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        return Check(
            "sandbox bubblewrap",
            "info",
            f"{bwrap} is installed but cannot make a sandbox here: {said[-1] if said else f'exit {proc.returncode}'}",
            "allow unprivileged user namespaces (e.g. sysctl kernel.apparmor_restrict_unprivileged_userns=0)",
        )
    version = program_version([bwrap, "--version"])
    return _ok("sandbox bubblewrap", f"{bwrap} ({version or 'version unknown'}) works")
