"""``specflow completion bash|zsh|fish``: print a completion script for the shell.

bash: ``eval "$(specflow completion bash)"`` in ``~/.bashrc``; zsh: the same with ``zsh`` in
``~/.zshrc`` (after ``compinit``); fish: ``specflow completion fish >
~/.config/fish/completions/specflow.fish``.
"""

from __future__ import annotations

import argparse

from specflow.cli.completion import SHELLS, script
from specflow.cli.context import CliContext
from specflow.cli.main import build_parser


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    ctx.stdout.write(script(args.shell, build_parser(None, full=True)))
    ctx.stdout.flush()
    return 0
