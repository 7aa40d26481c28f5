"""``specflow restore [<id>] [--checkpoint N] [--path P]... [--force]``: put back rejected work.

What an audit put back or removed (writes outside the gate) was saved first; the history of the
attempt names the save and this command.  Paths edited since the audit are refused unless
``--force``, which checkpoints the present first.
"""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument(
        "--checkpoint",
        type=int,
        metavar="N",
        help="the checkpoint whose audit saved the work, as the history names it (default: the latest save)",
    )
    p.add_argument("--path", action="append", default=[], metavar="P", help="only this file or folder (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite paths edited since (checkpointed first)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    result = change.restore(args.checkpoint, paths=args.path, force=args.force)
    if args.json:
        ctx.json(result.to_dict())
        return 0
    ctx.out(result.summary())
    for key, paths in result.restored.items():
        ctx.out(f"  {key}: {', '.join(paths)}")
    for folder in result.folders:
        ctx.out(f"  {folder}")
    return 0
