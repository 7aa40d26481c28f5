"""The example hub shipped with specflow, put in place for ``specflow demo``.

``examples/hub/`` holds a hub and two component repos (``api``, ``bot``).  This module finds it,
refuses a destination or an agent the demo cannot use before anything is written, and copies
it into a new folder: the example's ``python`` commands pointed at this interpreter, the hub
linked into each repo, and each folder made a git repo with everything committed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from specflow.agents import adapter_names
from specflow.definitions.config import load_config
from specflow.definitions.resources import builtin_dir
from specflow.demo.report import DemoCallback, DemoEvent, ignore_demo_event
from specflow.errors import AgentError, DemoError
from specflow.workspace.git import run_git

REPOS = ("api", "bot")
IDENTITY = {"user.name": "specflow demo", "user.email": "demo@specflow.invalid"}
# hub folders each component repo sees through a symlink, as in the hub pattern
HUB_LINKS = ("openspec", "shared")


def example_dir() -> Path:
    """The example shipped with specflow (``examples/hub``: folders ``hub``, ``api``, ``bot``)."""

    return builtin_dir("examples") / "hub"


def check_destination(dest: Path) -> None:
    """Refuse a destination that is a file or a folder with anything in it."""
    if dest.is_file() or (dest.is_symlink() and not dest.is_dir()):
        raise DemoError(f"{dest} is a file; the demo needs a new or empty folder", fix="pass --dir with another path")
    if dest.is_dir() and any(dest.iterdir()):
        raise DemoError(
            f"{dest} is not empty; the demo writes a hub and two repos into a new or empty folder",
            fix=f"pass --dir with a new folder, or remove {dest} first",
        )


def check_agent(name: str) -> None:
    """Refuse an agent the example hub cannot run, before anything is written."""

    config = load_config(example_dir() / "hub", cache=False)  # never write inside the installed package
    if name not in config.agents and config.agent(name).adapter not in adapter_names():
        known = sorted(set(config.agents) | set(adapter_names()))
        raise AgentError(
            f"unknown agent {name!r} (known: {', '.join(known)})",
            fix="pass one of the known names, e.g. --agent claude-code",
        )


# -- setting up the example -------------------------------------------------------------------


def _python_word(value: str) -> str:
    """``value`` with a leading ``python`` word replaced by this interpreter (shell-quoted)."""
    if value == "python" or value.startswith("python "):
        return shlex.quote(sys.executable) + value[len("python") :]
    return value


def localize_config(path: Path) -> None:
    """Point the example's ``python`` commands at the interpreter running specflow.

    ``command: [python, ...]`` (agents) and ``setup:`` / ``test:`` lines starting with ``python``
    are rewritten, so the demo works where only ``python3`` (or a virtualenv) exists.
    """
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"^(\s*command:\s*\[)\s*python\s*,(.*)$", line, re.DOTALL)
        if m:
            line = f"{m.group(1)}{json.dumps(sys.executable)},{m.group(2)}"
        m = re.match(r"^(\s*(?:setup|test):\s*)(python\b[^\n#]*?)(\s*(?:#.*)?)(\n?)$", line)
        if m:
            line = f"{m.group(1)}{json.dumps(_python_word(m.group(2)))}{m.group(3)}{m.group(4)}"
        out.append(line)
    path.write_text("".join(out), encoding="utf-8")


def git_output(cwd: Path, *args: str) -> str:
    """git's stdout in ``cwd``, as text."""
    return run_git(list(args), cwd).stdout.decode("utf-8", "replace")


def init_repo(path: Path, message: str) -> str:
    """``git init`` with branch ``main``, a local identity, and everything committed."""
    git_output(path, "init", "-q")
    git_output(path, "symbolic-ref", "HEAD", "refs/heads/main")
    for key, value in IDENTITY.items():
        git_output(path, "config", key, value)
    git_output(path, "config", "commit.gpgsign", "false")
    git_output(path, "add", "-A")
    git_output(path, "commit", "-q", "-m", message)
    return git_output(path, "rev-parse", "--short", "HEAD").strip()


def copy_example(dest: Path, on_event: DemoCallback = ignore_demo_event) -> dict[str, Path]:
    """Copy the example into ``dest``, link the hub into each repo, and make each a git repo."""
    src = example_dir()
    if not (src / "hub" / "specflow.yaml").is_file():
        raise DemoError(
            f"the example hub is missing from this installation ({src})",
            fix="reinstall specflow (pip install --force-reinstall specflow)",
        )
    if shutil.which("git") is None:
        raise DemoError("git is not installed (no 'git' on PATH)", fix="install git 2.38 or later")
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".setup-done", ".specflow")
    paths: dict[str, Path] = {}
    for name in ("hub", *REPOS):
        shutil.copytree(src / name, dest / name, ignore=ignore, symlinks=True)
        paths[name] = dest / name
    localize_config(paths["hub"] / "specflow.yaml")
    for name in REPOS:
        for link in HUB_LINKS:
            target = paths[name] / link
            if not target.exists() and not target.is_symlink():
                try:
                    os.symlink(Path("..") / "hub" / link, target, target_is_directory=True)
                except OSError:  # no symlinks here (some Windows setups): worktrees get their own
                    continue
    for name in ("hub", *REPOS):
        sha = init_repo(paths[name], f"{name}: initial commit")
        on_event(
            DemoEvent(
                "info", f"{name:<4} {paths[name]}  (git repo, main at {sha})", {"repo": name, "path": str(paths[name])}
            )
        )
    on_event(DemoEvent("info", "api and bot see the hub's openspec/ and shared/ through symlinks (git-ignored)"))
    return paths
