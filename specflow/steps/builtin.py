"""The steps every workflow can use, whatever else is installed."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from specflow.changestate.approvals import current_approval
from specflow.changestate.records import read_state
from specflow.openspec.tasks import parse_tasks
from specflow.steps.registry import StepCollector, StepContext, StepResult

STEPS = StepCollector()


def _inside(base: Path, rel: str) -> Path | None:
    """``base/rel`` resolved, or None if it escapes ``base``."""
    target = Path(os.path.realpath(base / rel))
    root = Path(os.path.realpath(base))
    if target != root and root not in target.parents:
        return None
    return target


@STEPS("the change exists")
def change_exists(ctx: StepContext) -> StepResult:
    return StepResult.check(
        (ctx.change_dir / ".openspec.yaml").is_file() or ctx.change_dir.is_dir(),
        f"the change folder {ctx.change_dir} does not exist; create it with 'specflow new {ctx.change_id}'",
    )


@STEPS('the file "{path}" exists')
def file_exists(ctx: StepContext, path: str) -> StepResult:
    target = _inside(ctx.change_dir, path)
    if target is None:
        return StepResult.failed(f"{path!r} is outside the change folder")
    return StepResult.check(
        target.is_file() and target.stat().st_size > 0,
        f"{path} is missing or empty in {ctx.change_dir}; the phase that writes it has to run (again)",
    )


@STEPS('the file "{path}" contains "{text}"')
def file_contains(ctx: StepContext, path: str, text: str) -> StepResult:
    target = _inside(ctx.change_dir, path)
    if target is None:
        return StepResult.failed(f"{path!r} is outside the change folder")
    if not target.is_file():
        return StepResult.failed(f"{path} does not exist in {ctx.change_dir}")
    content = target.read_text(encoding="utf-8", errors="replace")
    return StepResult.check(text in content, f"{path} does not contain {text!r}")


@STEPS("all tasks are done")
def all_tasks_done(ctx: StepContext) -> StepResult:

    path = ctx.change_dir / "tasks.md"
    if not path.is_file():
        return StepResult.failed("tasks.md does not exist, so no task can be done")
    tasks = parse_tasks(path.read_text(encoding="utf-8", errors="replace"))
    if tasks.total == 0:
        return StepResult.failed("tasks.md has no tasks ('- [ ] ...' lines)")
    if tasks.done < tasks.total:
        open_items = [t.text for t in tasks.items if not t.done][:3]
        more = "" if tasks.total - tasks.done <= 3 else ", ..."
        return StepResult.failed(f"{tasks.done}/{tasks.total} tasks done; still open: " + "; ".join(open_items) + more)
    return StepResult.passed(f"{tasks.done}/{tasks.total} tasks done")


@STEPS("the proposal is approved")
def proposal_approved(ctx: StepContext) -> StepResult:

    record = read_state(ctx.change_dir) or {"state": ctx.state}
    approval, reason = current_approval(record, ctx.change_dir)
    if approval is None:
        return StepResult.failed(f"{reason}; run 'specflow approve {ctx.change_id}' after reviewing it")
    return StepResult.passed(reason)


@STEPS('the command "{cmd}" succeeds')
def command_succeeds(ctx: StepContext, cmd: str) -> StepResult:
    import shlex  # only for a workflow that runs a command as a step

    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        return StepResult.failed(f"cannot parse the command {cmd!r}: {exc}")
    if not argv:
        return StepResult.failed("the command is empty")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.hub_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return StepResult.failed(f"cannot run {argv[0]!r}: {exc.strerror}")
    try:
        out, _ = proc.communicate(timeout=ctx.command_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return StepResult.failed(f"{cmd!r} did not finish within {ctx.command_timeout:g} s")
    tail = out.decode("utf-8", errors="replace").strip().splitlines()[-10:]
    if proc.returncode != 0:
        return StepResult.failed(f"{cmd!r} exited with {proc.returncode}" + (":\n" + "\n".join(tail) if tail else ""))
    return StepResult.passed(f"{cmd!r} succeeded")
