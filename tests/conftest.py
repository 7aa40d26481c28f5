"""Shared fixtures: real git hubs in tmp_path, scripted agents, and the CLI run in-process."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pinned_tools import NEEDED_BY_FIXTURE, PINNED_TOOLS, PinnedTool, in_ci

REPO_ROOT = Path(__file__).resolve().parent.parent

MINI_WORKFLOW = """\
workflow: mini
version: 1
description: A small workflow for tests.
initial: draft
states:
  draft: {}
  think:
    prompt: think.md.j2
    workspace: read-only
    record: notes.md
  write:
    prompt: write.md.j2
    workspace:
      write: ["openspec/changes/{{ change.id }}/**"]
  done:
    final: true
scenarios:
  - scenario: Think first
    given: [the change exists]
    when: advance
    from: draft
    to: think
    then: [the file "notes.md" exists]
  - scenario: Write the proposal
    given: [the file "notes.md" exists]
    when: advance
    from: think
    to: write
    then: [the file "proposal.md" contains "Why"]
  - scenario: Send it back
    when: reject
    from: write
    to: think
  - scenario: Finish once approved
    given: [the proposal is approved]
    when: advance
    from: write
    to: done
"""

THINK_TEMPLATE = """\
Think about {{ change.id }} in phase {{ phase.name }}.
{{ gate.description }}
{% if last_failure %}LAST FAILURE:
{% for r in last_failure.reasons %}- {{ r }}
{% endfor %}{% endif %}
"""

WRITE_TEMPLATE = """\
Write the proposal for {{ change.id }}.
Notes: {{ previous.text if previous else "none" }}
{{ gate.description }}
{% if last_failure %}LAST FAILURE:
{% for r in last_failure.reasons %}- {{ r }}
{% endfor %}{% endif %}
"""


def held_to_modes() -> None:
    """For a child process, before it runs: as root, drop from its capability bounding set the
    two capabilities that let root past permission bits (``CAP_DAC_OVERRIDE``,
    ``CAP_DAC_READ_SEARCH``), so the child and everything it starts are bound by the mode bits
    as any other user is; as any other user, nothing to do."""
    if os.geteuid() != 0:
        return
    import ctypes  # only for a test that needs it

    pr_capbset_drop, dac_override, dac_read_search = 24, 1, 2
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (dac_override, dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def python_script(body: str) -> str:
    """The text of an executable file that runs the Python code ``body`` with this interpreter.

    A ``#!`` line ends at its first space, so ``#!/home/me/my code/.venv/bin/python`` cannot start
    anything.  As pip's console scripts do, ``sh`` starts it instead: the line after ``#!/bin/sh``
    is a command to ``sh`` and the start of a string to Python.
    """
    return f"#!/bin/sh\n'''exec' {shlex.quote(sys.executable)} \"$0\" \"$@\"\n' '''\n{body}"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout (raises on failure)."""
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


def git_commands_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the git command (``add``, ``write-tree`` …) of every process specflow's git door
    starts, in order: a test counts the processes a step costs."""
    from specflow.workspace.git import process as gitdoor

    ran: list[str] = []
    real = gitdoor.run_git

    def counted(args: list[str], cwd: Path, **kwargs: object) -> object:
        ran.append(next(a for a in args if not a.startswith("-") and "=" not in a))
        return real(args, cwd, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gitdoor, "run_git", counted)
    return ran


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.02)


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev Eloper")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit_all(path: Path, message: str = "commit") -> None:
    git(path, "add", "-A")
    git(path, "commit", "-q", "--allow-empty", "-m", message)


def committed(path: Path, message: str = "commit") -> str:
    """``commit_all``, and the commit it made."""
    commit_all(path, message)
    return git(path, "rev-parse", "HEAD").strip()


@dataclass
class HubFixture:
    root: Path

    def write(self, rel: str, text: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    def agent(self, name: str, script: str, timeout: float | None = None) -> Path:
        """Write a Python agent script and register it in specflow.yaml as a command agent."""
        path = self.write(f"agents/{name}.py", script)
        config = self.root / "specflow.yaml"
        lines = config.read_text(encoding="utf-8") if config.exists() else ""
        if "agents:" not in lines:
            lines += "\nagents:\n"
        entry = f"  {name}:\n    adapter: command\n    command: [{sys.executable!r}, {str(path)!r}]\n"
        if timeout is not None:
            entry += f"    timeout: {timeout}\n"
        config.write_text(lines + entry, encoding="utf-8")
        return path

    def commit(self, message: str = "commit") -> None:
        commit_all(self.root, message)

    def worktree(self, change_id: str) -> Path:
        """Change ``change_id``'s own worktree of the hub (where its hub phases run)."""
        from specflow.engine.hub import Hub

        return Hub(self.root).worktree_of(change_id)

    def change_dir(self, change_id: str) -> Path:
        """Where change ``change_id``'s folder is now: in its own worktree of the hub, once it has one."""
        from specflow.engine.hub import Hub

        return Hub(self.root).change(change_id).dir


@pytest.fixture
def hub(tmp_path: Path) -> HubFixture:
    """A git hub with openspec/, the 'mini' workflow and its templates, committed."""
    from specflow.engine.hub import Hub

    root = init_repo(tmp_path / "hub")
    Hub.init(root)
    h = HubFixture(root)
    # the scripted agents write control files (and, on purpose, outside their gate to test the
    # audit): these hubs run them unconfined; tests/sandbox/ tests the sandbox layers
    (root / "specflow.yaml").write_text(
        "default_workflow: mini\ndefault_agent: scripted\nsandbox: off\n", encoding="utf-8"
    )
    h.write("openspec/workflows/mini.yaml", MINI_WORKFLOW)
    h.write("openspec/templates/think.md.j2", THINK_TEMPLATE)
    h.write("openspec/templates/write.md.j2", WRITE_TEMPLATE)
    h.write("CLAUDE.md", "# Hub rules\nBe careful.\n")
    h.commit("hub")
    return h


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``specflow`` in-process: returns (exit code, stdout, stderr)."""
    from specflow.cli.main import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user-level workflows or templates leak into tests; plain output."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("SPECFLOW_MACHINE", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Dev Eloper")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Dev Eloper")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "dev@example.com")
    os.environ.pop("SPECFLOW_CLAUDE", None)
    yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that need a pinned tool; under ``CI=true`` an absent one fails the run here.

    Locally those tests skip, each saying why (``PinnedTool.require``); in CI a skipped quarter
    of the suite would pass unnoticed, so the run stops before the first test, naming the tool.
    """
    needed: dict[str, PinnedTool] = {}
    for item in items:
        for fixture, tool in NEEDED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(tool.marker)
        needed.update((tool.marker, tool) for tool in PINNED_TOOLS if item.get_closest_marker(tool.marker))
    missing = [tool.missing() for tool in needed.values() if tool.find() is None]
    if missing and in_ci():
        raise pytest.UsageError(
            "CI=true, and tests of this run need programs that are absent:\n  - " + "\n  - ".join(missing)
        )
