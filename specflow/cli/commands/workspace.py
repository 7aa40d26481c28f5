"""``specflow workspace <id> [--repo R]``: where a change's workspaces are."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--repo", metavar="R", help="print only this repo's worktree path (for cd)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(args.id)
    if args.repo:
        ctx.out(str(change.workspace_path(args.repo)))
        return 0
    paths = change.workspace_paths()
    if args.json:
        ctx.json({"change": change.id, "workspaces": [p.to_dict() for p in paths]})
        return 0
    width = max(len(p.name) for p in paths)
    for p in paths:
        note = "" if p.exists else "  (not created yet)"
        on = f"  [{p.branch}]" if p.branch else ""
        ctx.out(f"{p.name:<{width}}  {p.path}{on}{note}")
    return 0
