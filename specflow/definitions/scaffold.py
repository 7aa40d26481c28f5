"""``specflow init``: the ``openspec/`` layout (as ``openspec init --tools none``) and ``specflow.yaml``."""

from __future__ import annotations

from pathlib import Path

from specflow.definitions.config import CONFIG_FILE

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

# Component repos a change can be applied to (paths relative to this hub).
# repos:
#   api:
#     path: ../api
#     base: main
#     setup: make setup
#     test: make test

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


def init_hub(root: Path) -> list[Path]:
    """Create what is missing; never overwrite.  Returns the paths created."""
    created: list[Path] = []
    root.mkdir(parents=True, exist_ok=True)
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
    sf = root / CONFIG_FILE
    if not sf.exists():
        sf.write_text(SPECFLOW_YAML, encoding="utf-8")
        created.append(sf)
    return created
