"""``specflow pull <id> [--remote R]``: bring a change's branches and checkpoints from their remotes."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.engine.change import Change

_SAID = {
    "created": "created from {remote}",
    "fast-forwarded": "fast-forwarded to {remote}",
    "up-to-date": "up to date with {remote}",
    "ahead": "ahead of {remote} (push it: specflow push {id})",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--remote", metavar="R", help="every repo's remote (default: what each branch tracks, or origin)")
    p.add_argument("--json", action="store_true", help="what was fetched and updated, as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    hub = ctx.open_hub()
    result = Change.named(hub, ctx.change_id(args.id, args.command)).pull(remote=args.remote)
    if args.json:
        ctx.json(result.to_dict())
        return 0
    for r in result.repos:
        said = _SAID.get(r.outcome)
        if said is None:
            continue
        line = f"{r.repo}: {r.branch} " + said.format(remote=f"{r.remote}/{r.branch}", id=result.change_id)
        line += f" ({(r.commit or '')[:10]}), {r.checkpoints} checkpoint ref(s)"
        if r.worktree is not None:
            line += f"; worktree {r.worktree} {'made' if r.worktree_made else 'updated'}"
        ctx.out(line)
    ctx.out(f"next: specflow advance {result.change_id}")
    return 0
