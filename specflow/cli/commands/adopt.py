"""``specflow adopt <id> [--workflow W]`` / ``--all``: put existing OpenSpec changes under a workflow.

The state is inferred from the change's files (exploration notes → explore; proposal and tasks →
propose; every task done → apply), limited to the states the workflow has, and the adoption is
recorded in the change's history.
"""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.errors import OpenSpecError, SpecflowError
from specflow.openspec.adopt import unmanaged_changes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change to adopt")
    p.add_argument("--all", action="store_true", help="adopt every open change specflow does not manage yet")
    p.add_argument("--workflow", help="the workflow (default: the hub's default workflow)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    hub = ctx.open_hub()
    if bool(args.id) == bool(args.all):
        raise OpenSpecError(
            "name one change to adopt, or pass --all (not both)",
            fix="specflow adopt <id> [--workflow W], or specflow adopt --all",
        )
    name = args.workflow or hub.config.default_workflow
    if not args.all:
        adopted = [hub.adopt(args.id, workflow=name)]
        skipped: list[dict[str, str]] = []
    else:
        # one change that cannot be adopted (a bad id, a broken file) does not stop the others
        adopted, skipped = [], []
        for cid in unmanaged_changes(hub.root):
            try:
                adopted.append(hub.adopt(cid, workflow=name))
            except SpecflowError as exc:
                skipped.append({"change": cid, "reason": exc.message})
    if args.json:
        ctx.json({"adopted": [a.to_json() for a in adopted], "skipped": skipped})
        return 1 if skipped else 0
    if not adopted and not skipped:
        ctx.out("Nothing to adopt: every open change is already managed by specflow.")
        return 0
    for a in adopted:
        ctx.out(f"adopted {a.change} under workflow '{a.workflow}' in state '{a.state}' ({a.reason})")
    for s in skipped:
        ctx.err(f"skipped {s['change']}: {s['reason']}")
    return 1 if skipped else 0
