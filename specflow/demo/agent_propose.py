"""The scripted demo agent's propose phase: the proposal, design, tasks and a delta spec.

The texts are the example's change, written out; only the MODIFIED requirement is built from
the hub's living ``greetings`` spec, so every scenario it has is kept and OpenSpec's strict
validation passes.
"""

from __future__ import annotations

import re

from specflow.demo.agent_tools import CAPABILITY, DemoAgentError, Run

PROPOSAL = """## Why
Greetings are only reachable through the chat bot, and the bot answers a bare `/hello` with
`Hello, !`. Other clients need the same greeting over HTTP, and every client must greet a
person in exactly the same words — including when no name is given.

## What Changes
- Add `GET /greet?name=<name>` to the API, answering `200 {{"greeting": "Hello, <name>!"}}`.
- Greetings trim the name and greet a missing or blank name as `there`, in the API and in the
  bot (a bare `/hello` now answers `Hello, there!`).
- No breaking change: every existing route and reply answers as before.

## Impact
- Specs: `{capability}` — requirement "Greeting endpoint" added, "Greeting by name" modified.
- Repos: `api` (`service.py`, tests, `README.md`) and `bot` (`bot.py`, tests).
- Docs: `shared/api.md` lists the new route once the change is archived.
"""

DESIGN = """## Context
`api` answers every request from `route(method, target)`; `bot` answers every message from
`reply(message)`, which calls `greet(name)` for `/hello`. Both are standard-library Python
with unittest tests. The hub's `greetings` spec is the source of truth for the wording.

## Goals / Non-Goals
- Goals: one greeting rule, written in the spec and implemented in both repos; an HTTP route.
- Non-Goals: localisation, name length limits, `POST /greet`.

## Decisions
- **Each repo keeps its own `greet`.** It is two lines; sharing it would need a package and a
  release. Alternative considered: the bot calls the API — rejected, it makes every greeting
  depend on the network.
- **`GET /greet?name=`**, the name as a query parameter; a missing or blank name is `there`.
- **Trim in `greet`, not in callers**, so every path to a greeting behaves the same.

## Risks / Trade-offs
- Two implementations can drift → the spec's scenarios are tested in both repos.
"""

TASKS = """## 1. API (`api` repo)
- [ ] 1.1 Add `greet(name)` to `service.py`: trim the name, greet a blank one as `there`
- [ ] 1.2 Answer `GET /greet?name=<name>` with `200 {"greeting": ...}` in `route`
- [ ] 1.3 Test the route with a name, without one and with a padded one
- [ ] 1.4 List `GET /greet` in the API's `README.md`

## 2. Bot (`bot` repo)
- [ ] 2.1 Make `greet(name)` in `bot.py` trim the name and greet a blank one as `there`
- [ ] 2.2 Test `/hello` without a name and with a padded name

## 3. Check
- [ ] 3.1 Run the tests of both repos
"""

ADDED = """## ADDED Requirements
### Requirement: Greeting endpoint
The API SHALL answer `GET /greet?name=<name>` with status 200 and the JSON body
`{"greeting": "<greeting>"}`, where the greeting follows the requirement "Greeting by name".

#### Scenario: Greeting a named person
- **WHEN** a client sends `GET /greet?name=Ada`
- **THEN** the API answers 200 with `{"greeting": "Hello, Ada!"}`

#### Scenario: Greeting without a name
- **WHEN** a client sends `GET /greet`
- **THEN** the API answers 200 with `{"greeting": "Hello, there!"}`
"""

MODIFIED_TEXT = (
    "The system SHALL greet a person by name with the text `Hello, <name>!`. Surrounding\n"
    "whitespace SHALL be trimmed from the name, and a missing or blank name SHALL be greeted\n"
    "as `there`."
)

NEW_SCENARIOS = {
    "No name given": (
        "- **WHEN** a greeting is asked for without a name, or with a blank one\n"
        "- **THEN** the greeting is `Hello, there!`"
    ),
    "A name with surrounding spaces": (
        "- **WHEN** a greeting is asked for with the name `  Ada `\n- **THEN** the greeting is `Hello, Ada!`"
    ),
}


def _scenarios(block: str) -> list[tuple[str, str]]:
    """The ``#### Scenario:`` sections of a requirement block: (name, body)."""
    parts = re.split(r"^####\s*Scenario:\s*(.+?)\s*$", block, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def modified_requirement(current_spec: str, name: str = "Greeting by name") -> str:
    """The MODIFIED block: new text, every current scenario kept, the new scenarios added."""
    m = re.search(
        rf"^###\s*Requirement:\s*{re.escape(name)}\s*$(.*?)(?=^###\s|^##\s|\Z)",
        current_spec,
        re.MULTILINE | re.DOTALL,
    )
    if m is None:
        raise DemoAgentError(
            f"the {CAPABILITY} spec has no requirement {name!r}; the scripted demo agent only knows the example hub"
        )
    scenarios = dict(_scenarios(m.group(1)))
    for title, body in NEW_SCENARIOS.items():
        scenarios.setdefault(title, body)
    lines = [f"### Requirement: {name}", MODIFIED_TEXT, ""]
    for title, body in scenarios.items():
        lines += [f"#### Scenario: {title}", body, ""]
    return "\n".join(lines).rstrip() + "\n"


def propose(run: Run) -> str:
    """Write the proposal, design, tasks and the delta spec into the change folder."""
    living = run.hub / "openspec" / "specs" / CAPABILITY / "spec.md"
    current = run.read(living)
    notes = run.change_dir / "exploration.md"
    if notes.is_file():
        run.read(notes)
    run.write(run.change_dir / "proposal.md", PROPOSAL.format(capability=CAPABILITY))
    run.write(run.change_dir / "design.md", DESIGN)
    run.write(run.change_dir / "tasks.md", TASKS)
    delta = ADDED + "\n## MODIFIED Requirements\n" + modified_requirement(current)
    run.write(run.change_dir / "specs" / CAPABILITY / "spec.md", delta)
    return (
        f"Proposed **{run.change_id}**: a `GET /greet` route in the API, and one greeting rule"
        " (trimmed name, `there` when blank) in both repos.\n\n"
        f'- `specs/{CAPABILITY}/spec.md`: ADDED "Greeting endpoint", MODIFIED "Greeting by'
        ' name" (both current scenarios kept, two added).\n'
        "- `tasks.md`: 7 tasks in 3 groups (api, bot, check).\n\n"
        "Review first: the wording of the MODIFIED requirement — it changes what a bare"
        " `/hello` answers.\n"
    )
