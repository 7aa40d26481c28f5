"""The scripted demo agent's explore phase: read the specs and the code, answer with notes.

It writes nothing (the gate is read-only): its answer, on stdout, is the exploration notes the
engine saves.  The notes are a template filled in with what it found in the example hub.
"""

from __future__ import annotations

import re
from pathlib import Path

from specflow.definitions.config import load_config
from specflow.demo.agent_tools import Run


def _requirements(spec: str) -> list[str]:
    return re.findall(r"^###\s*Requirement:\s*(.+?)\s*$", spec, re.MULTILINE)


def _repo_paths(run: Run) -> dict[str, Path]:
    """The component repos named in the hub's ``specflow.yaml`` (base checkouts)."""

    config = load_config(run.hub)
    return {name: (run.hub / rc.path).resolve() for name, rc in config.repos.items()}


def explore(run: Run) -> str:
    """Read the specs and the code; answer with notes (the engine saves them)."""
    specs_dir = run.hub / "openspec" / "specs"
    found: list[str] = []
    for spec in sorted(specs_dir.glob("*/spec.md")):
        names = _requirements(run.read(spec))
        found.append(f"- `openspec/specs/{spec.parent.name}/spec.md`: " + "; ".join(names))
    repos = _repo_paths(run)
    routes: list[str] = []
    commands: list[str] = []
    if "api" in repos and (repos["api"] / "service.py").is_file():
        text = run.read(repos["api"] / "service.py")
        routes = re.findall(r'url\.path == "(/[^"]*)"', text)
    if "bot" in repos and (repos["bot"] / "bot.py").is_file():
        text = run.read(repos["bot"] / "bot.py")
        commands = re.findall(r'command == "(/[^"]*)"', text)
    others = sorted(
        p.name
        for p in (run.hub / "openspec" / "changes").iterdir()
        if p.is_dir() and p.name not in ("archive", run.change_id)
    )
    run.tool("Grep", '"greet" in api/ and bot/')
    return f"""# Exploration: {run.change_id}

## Problem
Greetings are only reachable through the chat bot. Other clients (the web page, partner
integrations) need the same greeting, and the bot answers a bare `/hello` with `Hello, !`:
the greetings spec never says what a greeting without a name is.

## Context found
{chr(10).join(found)}
- `api/service.py` routes: {", ".join(f"`{r}`" for r in routes) or "none"}; every answer comes
  from `route(method, target)`, so a new route is one `if` and a test.
- `bot/bot.py` commands: {", ".join(f"`{c}`" for c in commands) or "none"}; `/hello` calls
  `greet(rest)` with whatever follows the command, even nothing.
- Open changes that might overlap: {", ".join(others) or "none"}.

## Options
1. **A `GET /greet` route in the API, and the same rule in the bot's `greet`.** Two small,
   independent edits; each repo keeps its own two-line `greet`.
2. **The bot calls the API for every greeting.** One implementation, but every `/hello` then
   needs the network and the API to be up.
3. **A shared greetings package.** Tidy, but a third repo and a release process for two lines.

## Recommendation
Option 1. Write the rule once in the `greetings` spec (modify "Greeting by name": trim the
name, greet a missing or blank one as `there`; add "Greeting endpoint"), then implement it
in both repos with tests. Update `shared/api.md` when the change is archived.

## Open questions
- Should `/greet` accept `POST` too? (Proposed: no, `GET` only.)
- Is there a maximum name length? (Proposed: not in this change.)

## Risks
- The two `greet` functions could drift apart; the spec's scenarios, tested in both repos,
  keep them aligned.
"""
