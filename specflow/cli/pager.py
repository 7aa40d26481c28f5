"""Long output on a terminal the way git shows it: coloured, through a pager.

The pager is ``GIT_PAGER``, else ``PAGER``, else ``less``; it runs through the shell as git runs it,
with ``LESS=FRX`` (quit if one screen, keep colours, leave the screen as it is) and ``LV=-c`` unless
the user set them.  An empty pager or ``cat`` means none.  Piped output is never paged nor coloured.
"""

from __future__ import annotations

import os
import re
import subprocess

from specflow.cli.context import CliContext

BOLD, RED, GREEN, CYAN, RESET = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[m"
_STAT_GRAPH = re.compile(r"^( \S.* \| +\d+ )(\+*)(-*)$")


def pager_command() -> str | None:
    """The pager to run, as git chooses it; None for no pager."""
    for name in ("GIT_PAGER", "PAGER"):
        if name in os.environ:
            command = os.environ[name].strip()
            return None if command in ("", "cat") else command
    return "less"


def colour_diff(text: str) -> str:
    """A patch (or ``--stat``) with git's default colours; ``== repo`` headings in bold."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        end = line[len(body) :]
        stat = _STAT_GRAPH.match(body)
        if body.startswith("== ") or body.startswith(("diff --git ", "index ", "--- ", "+++ ")):
            body = f"{BOLD}{body}{RESET}"
        elif body.startswith("@@"):
            head, sep, rest = body.partition(" @@")
            body = f"{CYAN}{head}{sep}{RESET}{rest}"
        elif body.startswith("+"):
            body = f"{GREEN}{body}{RESET}"
        elif body.startswith("-"):
            body = f"{RED}{body}{RESET}"
        elif stat is not None:
            prefix, plus, minus = stat.groups()
            body = prefix + (f"{GREEN}{plus}{RESET}" if plus else "") + (f"{RED}{minus}{RESET}" if minus else "")
        out.append(body + end)
    return "".join(out)


def show_long(ctx: CliContext, text: str, *, paged: bool = True) -> None:
    """Write ``text``: through the pager on a terminal (unless ``paged`` is false), else as is."""
    command = pager_command() if paged and ctx.is_tty and text else None
    if command is None:
        ctx.stdout.write(text)
        ctx.stdout.flush()
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    ctx.stdout.flush()
    # the pager writes to our terminal itself: it inherits stdout
    proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    try:
        proc.stdin.write(text.encode("utf-8", errors="replace"))
        proc.stdin.close()
    except BrokenPipeError:  # the user quit the pager before the end: that is fine
        pass
    while True:
        try:
            proc.wait()
            break
        except KeyboardInterrupt:  # Ctrl-C belongs to the pager (less ignores it); wait for it
            continue
