"""``specflow advance <id>``: run the next transition(s), with live progress."""

from __future__ import annotations

import argparse
from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.render import LiveProgress, say
from specflow.engine.runnable import PhaseRunner, RunnableChange, RunnerHub
from specflow.errors import ChangeNotFoundError, GuardFailed, PhaseFailed, QueueError
from specflow.workspace.remote import remote_only_error


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    add_run_options(p)
    p.add_argument(
        "--background", action="store_true", help="run in a detached process of its own; print where to follow it"
    )
    p.add_argument(
        "--queue",
        action="store_true",
        help="queue it for a worker ('specflow worker', the 'queue' extra); print the workflow id and return",
    )
    p.add_argument(
        "--machine", metavar="NAME", help="with --queue: the machine whose worker runs it (default: the change's)"
    )
    p.add_argument("--cancel", action="store_true", help="with --queue: cancel the change's queued runs instead")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="STATE", help="keep advancing until the change reaches STATE")
    p.add_argument("--agent", metavar="NAME", help="run this agent instead of the phase's")
    p.add_argument("--dry-run", action="store_true", help="check the given steps and show the prompt; run nothing")
    p.add_argument("--fresh", action="store_true", help="start a new agent session instead of resuming a failed one")
    p.add_argument(
        "--take-over",
        action="store_true",
        help="take the change's lease from another machine once it has expired (that machine died)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no live progress")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if (args.machine or args.cancel) and not args.queue:
        flag = "--machine" if args.machine else "--cancel"
        ctx.fail(f"{flag} is about queued advances: it goes with --queue", "add --queue", 2)
        return 2
    if args.queue and (args.background or args.dry_run):
        ctx.fail(
            "--queue runs the phase in a worker: it goes with neither --background nor --dry-run",
            "drop --background or --dry-run",
            2,
        )
        return 2
    if args.queue:
        return run_queued(args, ctx)
    if args.background and not args.dry_run:
        from specflow.cli.live import run_background  # the CLI's door to the dashboard's features

        return run_background(args, ctx, "advance")
    return run_trigger(args, ctx, "advance")


def _change(ctx: CliContext, change_id: str | None) -> RunnableChange:
    """The change (given, or the one whose worktree this is), or an error that says to pull it
    when only a remote has it."""
    hub = ctx.opened(RunnerHub) or ctx.open(PhaseRunner)  # a Hub opened already runs phases too
    change_id = ctx.change_id(change_id, "advance")
    try:
        return hub.change(change_id)
    except ChangeNotFoundError as exc:
        raise remote_only_error(hub.root, hub.config, change_id) or exc from None


def run_queued(args: argparse.Namespace, ctx: CliContext) -> int:
    """Enqueue the advance for the worker of the change's machine; print the workflow id."""
    from specflow.queue.place import ANY_MACHINE  # the queue's own modules load only for --queue

    try:
        from specflow.queue.client import cancel, enqueue
    except ImportError as exc:
        raise QueueError(
            f"the queue's dependencies are not installed ({exc.name} is missing)",
            fix="pip install 'specflow-openspec[queue]', or advance without --queue",
        ) from None
    change = ctx.open_hub().change(ctx.change_id(args.id, "advance"))
    if args.cancel:
        cancelled = cancel(change.hub, change.id)
        if args.json:
            ctx.json({"change": change.id, "cancelled": [r.to_dict() for r in cancelled]})
            return 0
        if not cancelled:
            ctx.out(f"{change.id}: no queued advance to cancel")
        for r in cancelled:
            ctx.out(f"{change.id}: cancelled {r.workflow_id} ({r.where}, {r.status.lower()})")
        return 0
    run = enqueue(change, to=args.to, agent=args.agent, fresh=args.fresh, machine=args.machine)
    if args.json:
        ctx.json(run.to_dict())
        return 0
    ctx.out(run.workflow_id)
    say(ctx, f"{change.id}: advance queued for {run.where} (queue {run.queue})", "green")
    if run.machine == ANY_MACHINE:
        ctx.out("  its branches are pushed: the first free worker of any machine pulls it, runs it, pushes it")
        ctx.out("  run one:        specflow worker")
    else:
        ctx.out(f"  run it there:  specflow worker --machine {run.machine}")
    ctx.out("  follow it:     specflow status --watch")
    return 0


def run_trigger(args: argparse.Namespace, ctx: CliContext, trigger: str) -> int:
    change = _change(ctx, args.id)  # trigger names its id always
    quiet = args.quiet or args.json or args.dry_run
    results: list[Any]
    failure: GuardFailed | PhaseFailed | None = None
    with LiveProgress(ctx, quiet=quiet) as progress:
        try:
            results = change.trigger(
                trigger,
                to=args.to,
                agent=args.agent,
                on_event=progress,
                dry_run=args.dry_run,
                fresh=args.fresh,
                take_over=getattr(args, "take_over", False),
            )
        except (GuardFailed, PhaseFailed) as exc:
            failure = exc
            results = list(exc.results)
    blocked = _blocked_dry_run(results) if args.dry_run else None
    if args.json:
        doc: dict[str, Any] = {"change": change.id, "state": change.state, "results": [r.to_dict() for r in results]}
        problem = failure or blocked
        if problem is not None:  # the results, and the error as every --json error reads
            doc.update(error=problem.message, fix=problem.fix, exit_code=problem.exit_code)
        ctx.json(doc)
        return problem.exit_code if problem is not None else 0
    if args.dry_run:
        r = results[0]
        say(ctx, f"dry run: {r.from_state} -> {r.to_state} ({r.scenario})", "bold")
        for o in r.given:
            say(
                ctx,
                f"  {'ok' if o.ok else 'FAILS'}  given {o.text}" + (f": {o.reason}" if not o.ok else ""),
                "green" if o.ok else "red",
            )
        ctx.out("")
        ctx.out(r.prompt or "(this phase runs no agent)")
        if blocked is not None:
            ctx.error(blocked)
            return blocked.exit_code
        return 0
    for r in results:
        if r.outcome == "succeeded":
            took = (r.event or {}).get("duration_s")
            say(
                ctx,
                f"{change.id}: {r.from_state} -> {r.to_state} succeeded"
                + (f" in {took:.1f}s" if took is not None else ""),
                "green",
            )
    if failure is not None:
        raise failure
    say(ctx, f"{change.id} is now in state {change.state}")
    return 0


def _blocked_dry_run(results: list[Any]) -> GuardFailed | None:
    """The refusal a real run would meet: a ``given`` step of the dry run did not hold."""
    r = results[0]
    if all(o.ok for o in r.given):
        return None
    return GuardFailed(
        f"{r.trigger} '{r.change_id}' from {r.from_state!r} to {r.to_state!r} would be blocked:"
        f" {len(r.reasons)} given step(s) do not hold:\n" + "\n".join(f"  - {reason}" for reason in r.reasons),
        fix="satisfy the steps above, then run the command without --dry-run",
    )
