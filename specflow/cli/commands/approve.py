"""``specflow approve <id>``: record a person's approval of the change as it is now."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--note", help="why it is approved, or conditions")
    p.add_argument("--by", help="who approves (default: git user.name)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    approval = change.approve(by=args.by, note=args.note)
    if args.json:
        ctx.json(approval)
    else:
        ctx.out(f"approved '{change.id}' in state {approval['state']} by {approval['by']}")
        ctx.out("the approval holds until the proposal, design, tasks or delta specs change")
    return 0
