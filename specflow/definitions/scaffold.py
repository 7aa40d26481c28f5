"""``specflow init``: the ``openspec/`` layout (as ``openspec init --tools none``) and ``specflow.yaml``.

A hub often exists before specflow does: its component repos sit beside it, each with an
``openspec`` symlink to the hub's ``openspec/``.  ``linked_repos`` finds them so ``init`` can
offer them, and write them under ``repos:`` when asked.  Nothing that exists is overwritten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from specflow.definitions.config import CONFIG_FILE, load_config
from specflow.errors import SpecflowError
from specflow.structs import Struct, field

OPENSPEC_CONFIG = """schema: spec-driven

# Project context (optional)
# This is shown to AI when creating artifacts.
# Add your tech stack, conventions, style guides, domain knowledge, etc.
# Example:
#   context: |
#     Tech stack: TypeScript, React, Node.js
#     We use conventional commits
#     Domain: e-commerce platform

# Per-artifact rules (optional)
# Add custom rules for specific artifacts.
# Example:
#   rules:
#     proposal:
#       - Keep proposals under 500 words
#       - Always include a "Non-goals" section
#     tasks:
#       - Break tasks into chunks of max 2 hours

# Per-operation guidance (optional)
# Add advisory guidance for how apply and archive work should be conducted.
# This is separate from artifact rules above.
# Example:
#   operations:
#     apply:
#       guidance:
#         - Keep test summaries concise
#     archive:
#       guidance:
#         - Summarize the archive outcome before finishing
"""

SPECFLOW_YAML = """# specflow.yaml: how specflow runs changes in this hub. Every key is optional.

# The workflow new changes follow (openspec/workflows/<name>.yaml, then the built-ins).
default_workflow: openspec

# The agent phases run with, unless a phase or --agent says otherwise.
# 'claude-code' runs the real Claude Code CLI; any adapter name works as an agent name.
default_agent: claude-code

# Named agents. The 'command' adapter runs any program with the prompt on stdin, in the
# phase's workspace, with SPECFLOW_CHANGE, SPECFLOW_PHASE, SPECFLOW_HUB and SPECFLOW_GATE set.
# agents:
#   claude:
#     adapter: claude-code
#     model: sonnet
#     max_turns: 40
#     timeout: 1800
#     budget_usd: 5
#   scripted:
#     adapter: command
#     command: [python, tools/agent.py]
#     timeout: 600

{repos}
# Hub folders linked into every repo worktree besides openspec/, so an agent working in a
# component repo reads the hub's shared docs and rules too (e.g. a folder 'shared' with
# CLAUDE.md parts and conventions). A repo's own 'links:' list replaces this one.
# shared: [shared]

# Python modules (importable from this hub) that declare steps with @specflow.step.
# steps: [tools.steps]

# Time limit in seconds for commands run by steps and setup scripts.
# command_timeout: 600

# The sandbox around every agent's process tree: auto (the strongest layer that works here:
# bubblewrap, then Landlock; seatbelt on macOS), a layer by name, or off; also per agent.
# require_sandbox: true refuses to start an agent no layer can hold. network: any, loopback
# or none (also per agent and per phase). An agent's 'writable:' lists extra paths it must write.
# sandbox: auto
# require_sandbox: false
# network: any
"""


REPOS_EXAMPLE = """# Component repos a change can be applied to (paths relative to this hub).
# repos:
#   api:
#     path: ../api
#     base: main
#     setup: make setup
#     test: make test
"""

REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class LinkedRepo(Struct, frozen=True):
    """A sibling git repo whose ``openspec`` link leads to this hub's ``openspec/``."""

    name: str
    path: str
    """As ``specflow.yaml`` writes it: relative to the hub."""


class InitResult(Struct):
    """What ``init`` found and did."""

    root: Path
    created: list[Path] = field(default_factory=list)
    linked: list[LinkedRepo] = field(default_factory=list)
    repos_written: bool = False
    """The linked repos were written, active, under ``repos:`` (``--yes`` on a new specflow.yaml)."""
    config_existed: bool = False


def linked_repos(root: Path) -> list[LinkedRepo]:
    """The git repos beside ``root`` holding an ``openspec`` symlink that resolves to ``root/openspec``."""
    hub = Path(os.path.realpath(root))
    target = os.path.realpath(hub / "openspec")
    try:
        siblings = sorted(p for p in hub.parent.iterdir() if p.is_dir() and p != hub)
    except OSError:
        return []
    return [
        LinkedRepo(sibling.name, os.path.relpath(sibling, hub))
        for sibling in siblings
        if _links_to(sibling, target) and REPO_NAME.fullmatch(sibling.name) and sibling.name != "hub"
    ]


def _links_to(sibling: Path, openspec: str) -> bool:
    """``sibling`` is a git repo whose ``openspec`` symlink resolves to the folder ``openspec``."""
    link = sibling / "openspec"
    return (sibling / ".git").exists() and link.is_symlink() and os.path.realpath(link) == openspec


def repos_yaml(repos: Sequence[LinkedRepo], *, active: bool) -> str:
    """The ``repos:`` section of a new ``specflow.yaml``; commented out unless ``active``."""
    if not repos:
        return REPOS_EXAMPLE
    body = ["repos:", *(f"  {r.name}:\n    path: {r.path}" for r in repos)]
    lines = "\n".join(body).splitlines()
    head = [
        "# Component repos a change can be applied to (paths relative to this hub).",
        "# Found by 'specflow init': sibling git repos whose openspec link leads to this hub.",
    ]
    if not active:
        head.append("# Uncomment them to apply changes there ('specflow init --yes' writes them in).")
        lines = [f"# {line}" for line in lines]
    return "\n".join([*head, *lines]) + "\n"


def init_hub(root: Path) -> list[Path]:
    """Create what is missing; never overwrite.  Returns the paths created."""
    return scaffold_hub(root).created


def scaffold_hub(root: Path, *, write_linked: bool = False) -> InitResult:
    """Create what is missing, offering the linked sibling repos; never overwrite anything.

    The repos found are written under ``repos:`` of a new ``specflow.yaml``: active with
    ``write_linked``, commented out otherwise.
    """
    result = InitResult(root)
    root.mkdir(parents=True, exist_ok=True)
    result.created = _init_openspec(root)
    result.linked = linked_repos(root)
    sf = root / CONFIG_FILE
    if sf.exists():
        result.config_existed = True
        listed = _already_listed(root)
        result.linked = [
            r for r in result.linked if r.name not in listed and os.path.realpath(root / r.path) not in listed
        ]
        return result
    text = SPECFLOW_YAML.replace("{repos}\n", repos_yaml(result.linked, active=write_linked))
    sf.write_text(text, encoding="utf-8")
    result.created.append(sf)
    result.repos_written = write_linked and bool(result.linked)
    return result


def _already_listed(root: Path) -> set[str]:
    """The names and resolved paths of the repos an existing ``specflow.yaml`` lists."""
    try:
        config = load_config(root, cache=False)
    except SpecflowError:
        return set()  # an invalid file is reported by the commands that read it
    return {*config.repos, *(os.path.realpath(root / rc.path) for rc in config.repos.values())}


def _init_openspec(root: Path) -> list[Path]:
    created: list[Path] = []
    openspec = root / "openspec"
    for folder in (openspec / "specs", openspec / "changes" / "archive"):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            keep = folder / ".gitkeep"
            keep.touch()
            created.append(keep)
    config = openspec / "config.yaml"
    if not config.exists():
        config.write_text(OPENSPEC_CONFIG, encoding="utf-8")
        created.append(config)
    return created
