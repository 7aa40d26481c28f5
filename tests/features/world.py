"""The world a feature scenario runs in, and the phrasing its steps are written in.

A module of its own (not a ``conftest``) so the area step modules import it by one name.  The
shared steps in ``tests/features/conftest.py`` and each area's steps pass one :class:`World`
between them: the first ``Given`` of a scenario builds it (``target_fixture="world"``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_bdd import parsers

from specflow.errors import SpecflowError

CliRunner = Callable[..., tuple[int, str, str]]

# The file in the scripted agent's control folder that lets a waiting agent go on.
GO_AHEAD = "go"

# Python for a scripted agent: when the control folder holds "wait", announce the run in
# "working-<change>" and wait (60 s at most) until the test writes "go".  The announcement and the
# go-ahead are the two halves of a barrier: runs that must overlap are held until the test saw them.
WAIT_FOR_GO_AHEAD = r"""
(ctl / f"working-{change}").write_text(str(os.getpid()))
if (ctl / "wait").exists():
    deadline = time.monotonic() + 60
    while not (ctl / "go").exists():
        if time.monotonic() > deadline:
            sys.exit(f"{change}: the test never gave the go-ahead within 60 s")
        time.sleep(0.02)
"""


class Quoted:
    """One double-quoted value of a step; ``\\"`` and ``\\n`` inside it stand for a quote and a newline.

    ``parse`` reads ``pattern`` to know what the ``{name:Q}`` field matches.
    """

    pattern = r'"(?:[^"\\]|\\.)*"'

    def __call__(self, text: str) -> str:
        return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text[1:-1])


def phrase(text: str) -> parsers.parse:
    """A step parser in which ``{name:Q}`` matches exactly one double-quoted value.

    So ``I advance {cid:Q}`` can never swallow ``I advance "a" to "b"``: one phrase, one step.
    """
    return parsers.parse(text, extra_types={"Q": Quoted()})


@dataclass(frozen=True)
class CommandResult:
    """What one ``specflow`` command line did."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"specflow {' '.join(self.args)} -> exit {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


@dataclass
class BackgroundRun:
    """A ``specflow`` command running as its own process."""

    args: tuple[str, ...]
    proc: subprocess.Popen[str]
    result: CommandResult | None = None

    @property
    def finished(self) -> bool:
        return self.proc.poll() is not None

    def finish(self) -> CommandResult:
        """Wait (two minutes at most) for the command to end and return its result."""
        if self.result is None:
            out, err = self.proc.communicate(timeout=120)
            self.result = CommandResult(self.args, self.proc.returncode, out, err)
        return self.result


@dataclass
class World:
    """What a scenario built and saw: the folder commands run in, the agent's controls, the results.

    ``root`` is the hub (or plain OpenSpec project) every command runs in with ``-C``; ``ctl`` is the
    scripted agent's control folder; ``runs`` the commands started in the background (the
    ``make_world`` fixture stops any still running at teardown); ``result`` the last command's
    result; ``before`` what a step recorded for a later step to compare.
    """

    root: Path
    cli: CliRunner
    ctl: Path
    runs: list[BackgroundRun]
    result: CommandResult | None = None
    before: dict[str, Any] = field(default_factory=dict)

    def run(self, *args: str) -> CommandResult:
        """Run ``specflow -C root ARGS`` in-process and remember the result as the last one."""
        code, out, err = self.cli("-C", self.root, *args)
        self.result = CommandResult(args, code, out, err)
        return self.result

    def run_ok(self, *args: str) -> CommandResult:
        """Run a command that must succeed."""
        result = self.run(*args)
        assert result.code == 0, result
        return result

    @property
    def last(self) -> CommandResult:
        assert self.result is not None, "no command has run yet in this scenario"
        return self.result

    def start(self, *args: str) -> BackgroundRun:
        """Start ``specflow -C root ARGS`` as a separate process, in the background."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "specflow", "-C", str(self.root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run = BackgroundRun(args, proc)
        self.runs.append(run)
        return run

    def give_go_ahead(self) -> None:
        (self.ctl / GO_AHEAD).write_text("go\n")

    def change_dir(self, cid: str) -> Path:
        """Where the change's folder is now: in its own worktree of the hub (or on the hub's checkout)."""
        from specflow.engine.hub import Hub

        try:
            change = Hub(self.root).change(cid)
        except SpecflowError:  # not a hub, or no such change: where a plain OpenSpec project has it
            return self.root / "openspec" / "changes" / cid
        return self.root / "openspec" / "changes" / cid if change.archived else change.dir

    def state(self, cid: str) -> dict[str, Any]:
        return dict(json.loads((self.change_dir(cid) / ".specflow" / "state.json").read_text()))

    def history(self, cid: str) -> list[dict[str, Any]]:
        text = (self.change_dir(cid) / ".specflow" / "history.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]
