"""Steps about a change's workspaces: merged branches, passing tests, clean worktrees."""

from __future__ import annotations

from specflow.changestate.records import read_state
from specflow.errors import SpecflowError
from specflow.steps.registry import StepCollector, StepContext, StepResult
from specflow.workspace import branches
from specflow.workspace.git import GitRepo
from specflow.workspace.repocommands import command_env, run_logged
from specflow.workspace.workspaces import Workspaces

STEPS = StepCollector()


def _workspaces(ctx: StepContext) -> Workspaces:
    record = read_state(ctx.change_dir) or {}
    return Workspaces(ctx.hub, ctx.config, ctx.change_id, list(record.get("repos") or []))


@STEPS("the branches are merged")
def branches_merged(ctx: StepContext) -> StepResult:
    """Every affected repo's ``specflow/<id>`` branch is merged into its base (no branch: nothing to merge)."""
    try:
        status = branches.merged(_workspaces(ctx))
    except SpecflowError as exc:
        return StepResult.failed(exc.message)
    problems = [why for why in status.values() if why]
    if problems:
        return StepResult.failed("; ".join(problems) + f"; merge with 'specflow merge {ctx.change_id}'")
    return StepResult.passed(f"merged in {len(status)} repo(s)")


@STEPS("the tests pass in every affected repo")
def tests_pass(ctx: StepContext) -> StepResult:
    """Each affected repo's ``test`` command succeeds in its worktree, within ``command_timeout``."""
    try:
        ws = _workspaces(ctx)
        targets = ws.targets()
    except SpecflowError as exc:
        return StepResult.failed(exc.message)
    failures: list[str] = []
    ran: list[str] = []
    for target in targets:
        if not target.test:
            continue
        if not target.exists:
            failures.append(f"{target.name} has no worktree ({target.worktree}) to test in")
            continue
        log = ws.layout.logs_dir / f"test-{target.name}.log"
        result = run_logged(
            target.test,
            target.worktree,
            log,
            timeout=ctx.config.command_timeout,
            env=command_env(ws.layout, target),
            label=f"test {target.name}",
        )
        ran.append(target.name)
        if result.timed_out:
            failures.append(
                f"tests of {target.name} ({target.test}) did not finish within"
                f" {ctx.config.command_timeout:g} s; log: {log}"
            )
        elif not result.ok:
            failures.append(
                f"tests of {target.name} ({target.test}) failed with exit code {result.exit_code}; log: {log}\n"
                + result.tail
            )
    if failures:
        return StepResult.failed("\n".join(failures))
    if not ran:
        return StepResult.passed("no affected repo has a test command")
    return StepResult.passed("tests passed in " + ", ".join(ran))


@STEPS("the workspace is clean")
def workspace_clean(ctx: StepContext) -> StepResult:
    """No worktree of the change has uncommitted work (tracked changes or untracked files)."""
    try:
        targets = _workspaces(ctx).targets()
    except SpecflowError as exc:
        return StepResult.failed(exc.message)
    dirty: list[str] = []
    for target in targets:
        if not target.exists:
            continue
        lines = GitRepo.open(target.worktree).status()
        if lines:
            shown = ", ".join(line[3:] for line in lines[:5]) + (" ..." if len(lines) > 5 else "")
            dirty.append(f"{target.name} has {len(lines)} uncommitted change(s): {shown}")
    if dirty:
        return StepResult.failed("; ".join(dirty) + f"; commit them on {_workspaces(ctx).branch} in each worktree")
    return StepResult.passed()
