"""``specflow checkpoints <id> [--json]``: the change's checkpoints, with the files changed since."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.cli.render import table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    infos = change.checkpoints()
    if args.json:
        ctx.json([info.to_dict() for info in infos])
        return 0
    if not infos:
        ctx.out(f"change '{change.id}' has no checkpoints yet (one is taken before every agent turn)")
        return 0
    rows = [
        [
            str(i.checkpoint.number),
            i.checkpoint.time[:19].replace("T", " "),
            i.checkpoint.phase,
            i.checkpoint.state,
            str(i.changed_since),
            ", ".join(sorted(i.checkpoint.refs)),
        ]
        for i in infos
    ]
    table(
        ctx,
        ["#", "time (UTC)", "phase", "state", "files changed since", "workspaces"],
        rows,
        title=f"checkpoints of {change.id}",
    )
    return 0
