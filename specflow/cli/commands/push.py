"""``specflow push <id> [--remote R]``: send the change's branches and checkpoints to their remotes."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--remote", metavar="R", help="every repo's remote (default: what each branch tracks, or origin)")
    p.add_argument("--json", action="store_true", help="what was pushed where, as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    hub = ctx.open_hub()
    result = hub.change(ctx.change_id(args.id, args.command)).push(remote=args.remote)
    if args.json:
        ctx.json(result.to_dict())
        return 0
    for r in result.repos:
        if r.outcome == "no-branch":
            continue
        if r.outcome == "checkpoints":
            ctx.out(f"{r.repo}: {r.checkpoints} checkpoint ref(s) pushed on {r.remote} (no branch of the change here)")
            continue
        what = "already there" if r.outcome == "up-to-date" else "pushed"
        ctx.out(
            f"{r.repo}: {r.branch} {what} on {r.remote} ({(r.commit or '')[:10]}), {r.checkpoints} checkpoint ref(s)"
        )
    ctx.out(f"continue on another machine: specflow pull {result.change_id}, then specflow advance {result.change_id}")
    return 0
