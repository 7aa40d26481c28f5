"""``specflow prompt <id>``: the rendered prompt of the next (or a named) phase."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--state", metavar="S", help="the phase whose prompt to render (default: the next one)")
    p.add_argument("--json", action="store_true", help="the phase, its template, the prompt and the gate as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(args.id)
    if args.json:
        ctx.json(change.prompt_info(args.state).to_dict())
        return 0
    text = change.prompt(args.state)
    ctx.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
