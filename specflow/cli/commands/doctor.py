"""``specflow doctor``: every check of the hub's setup and of this machine, each failure with its fix."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.engine.doctor import check_hub

MARKS = {"ok": "ok", "fail": "FAIL", "info": "--"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="every check (name, status, detail, fix) as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    hub = ctx.open_hub()
    checks = check_hub(hub.root)
    failed = [c for c in checks if c.failed]
    if args.json:
        ctx.json({"hub": str(hub.root), "ok": not failed, "checks": [c.to_dict() for c in checks]})
        return 1 if failed else 0
    width = max(len(c.name) for c in checks)
    for c in checks:
        ctx.out(f"{MARKS[c.status]:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != "ok":
            ctx.out(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    if failed:
        ctx.err(f"{len(failed)} problem(s) found in {hub.root}; each is listed above with its fix")
        return 1
    ctx.out(f"everything specflow needs is in place in {hub.root}")
    return 0
