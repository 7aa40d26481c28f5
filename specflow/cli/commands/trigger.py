"""``specflow trigger <id> <name>``: fire a workflow-defined trigger, such as ``reject``."""

from __future__ import annotations

import argparse

from specflow.cli.commands.advance import add_run_options, run_trigger
from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("name", help="the trigger, as the workflow's scenarios name it under 'when'")
    add_run_options(p)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return run_trigger(args, ctx, args.name)
