"""``specflow graph``: a workflow as a Mermaid state diagram, a change's state marked."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="a change: its workflow, with its state marked")
    p.add_argument("--workflow", "-w", help="a workflow by name")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.workflow import mermaid

    hub = ctx.open_hub()
    if args.id:
        change = hub.change(args.id)
        record = change.require_record()
        ctx.stdout.write(mermaid(hub.workflow(record.get("workflow")), record["state"]))
    else:
        ctx.stdout.write(mermaid(hub.workflow(args.workflow)))
    return 0
