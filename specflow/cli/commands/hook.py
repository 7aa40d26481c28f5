"""``specflow guard [--gate FILE]``: the PreToolUse hook that keeps Claude Code inside the gate.

Claude Code runs it before each file-writing tool call (the ``claude-code`` adapter wires it into
the settings it generates); see ``specflow.agents.claude.hook`` for the protocol.  It needs no hub.
"""

from __future__ import annotations

import argparse
import sys

from specflow.agents.claude.hook import run_hook
from specflow.cli.context import CliContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate",
        metavar="FILE",
        help="the gate as JSON (GatePolicy.to_json()); default: the SPECFLOW_GATE variable",
    )


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    return run_hook(sys.stdin, ctx.stdout, ctx.stderr, gate_file=args.gate)
