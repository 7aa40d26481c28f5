"""``specflow init``: ``openspec/`` and a commented ``specflow.yaml``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=None, help="the hub folder (default: -C or the current folder)")
    p.add_argument("--json", action="store_true", help="the hub and the files created, as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.engine.hub import Hub

    root = Path(args.path or ctx.hub_arg or ".")
    hub, created = Hub.init(root)
    if args.json:
        ctx.json(
            {
                "root": str(hub.root),
                "created": [os.path.abspath(p) for p in created],
                "already_initialised": not created,
            }
        )
        return 0
    if created:
        for p in created:
            ctx.out(f"created {p.relative_to(hub.root) if p.is_relative_to(hub.root) else p}")
    else:
        ctx.out(f"{hub.root} is already a specflow hub; nothing to do")
    ctx.out(f"next: specflow -C {hub.root} new <change-id>")
    return 0
