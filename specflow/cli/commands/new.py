"""``specflow new <id>``: a change in its workflow's initial state."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id (kebab-case, e.g. add-user-auth)")
    p.add_argument("--workflow", "-w", help="the workflow (default: specflow.yaml's default_workflow)")
    p.add_argument("--goal", help="one sentence on what the change is for")
    p.add_argument("--repo", action="append", default=[], metavar="NAME", help="a repo the change affects (repeatable)")
    p.add_argument("--json", action="store_true", help="print the change's status as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    hub = ctx.open_hub()
    change = hub.new_change(args.id, workflow=args.workflow, goal=args.goal, repos=args.repo)
    if args.json:
        ctx.json(change.status())
        return 0
    ctx.out(
        f"created change '{change.id}' in {change.dir.relative_to(hub.root)}"
        f" (workflow {change.workflow_name}, state {change.state})"
    )
    ctx.out(f"next: specflow advance {change.id}")
    return 0
