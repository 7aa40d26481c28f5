"""The scripted demo agent: ``python -m specflow.demo.agent``.

A ``command`` agent that plays every phase of the built-in ``openspec`` workflow on the example
hub shipped with specflow (``examples/hub/``), so ``specflow demo`` runs end to end with no API
key and no network.  It does real work, deterministically and fast:

- explore: reads the specs and the code and answers with exploration notes (stdout);
- propose: writes ``proposal.md``, ``design.md``, ``tasks.md`` and a delta spec that passes
  OpenSpec's strict validation;
- apply: changes code and tests in each repo's worktree, ticks every task in the hub's
  ``tasks.md`` through the worktree's ``openspec`` link, runs the tests and commits on the
  change's branch.  On its *first* attempt it also edits a living spec directly, outside its
  gate, as an over-eager agent would: the sandbox refuses the write at the system call (the
  agent reports ``Refused ...`` and carries on), or, where no sandbox layer runs, specflow's
  audit puts the file back and fails the attempt, and the retry, seeing "Why the last attempt
  failed" in its prompt, stays inside;
- archive: brings the hub's ``shared/api.md`` up to date.

It reads the prompt on stdin and ``SPECFLOW_PHASE``, ``SPECFLOW_CHANGE``, ``SPECFLOW_HUB``,
``SPECFLOW_GATE`` and ``SPECFLOW_CWD`` from the environment; its stdout is the final answer and
each stderr line (``Read ...``, ``Write ...``, ``Edit ...``, ``Bash ...``) is a progress event.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from specflow.definitions.config import load_config
from specflow.structs import Struct, field
from specflow.workspace.git import run_git

CAPABILITY = "greetings"
FAILED_MARKER = "## Why the last attempt failed"
#: How the agent reports a write the system refused (``specflow demo`` shows these lines).
REFUSED_PREFIX = "Refused "


class DemoAgentError(Exception):
    """The demo agent cannot do its part (not the example hub, an unknown phase, ...)."""


class Run(Struct):
    """One run of the agent: where it is, what it may write, and what it has said."""

    phase: str
    change_id: str
    hub: Path
    cwd: Path
    gate: Mapping[str, object]
    prompt: str
    log: Callable[[str], None] = field(default=lambda line: None)
    escaped: bool = False
    """True once a write outside the gate went through (no sandbox held it)."""

    @property
    def change_dir(self) -> Path:
        return self.hub / "openspec" / "changes" / self.change_id

    @property
    def retrying(self) -> bool:
        """True when the prompt says the previous attempt at this phase failed."""
        return FAILED_MARKER in self.prompt

    @property
    def worktrees(self) -> list[Path]:
        raw = self.gate.get("worktrees") or []
        return [Path(str(p)) for p in raw] if isinstance(raw, list) else []

    def rel(self, path: Path) -> str:
        """``path`` as a person would name it: relative to the hub or to the worktrees' folder."""
        for base in (*[w.parent for w in self.worktrees], self.hub, self.hub.parent):
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return str(path)

    def tool(self, name: str, target: str) -> None:
        """Report a tool-call-like step on stderr (specflow shows it as live progress)."""
        self.log(f"{name} {target}")

    def read(self, path: Path) -> str:
        self.tool("Read", self.rel(path))
        return path.read_text(encoding="utf-8")

    def write(self, path: Path, text: str) -> None:
        self.tool("Write", self.rel(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit(self, path: Path, old: str, new: str, *, done_if: str | None = None) -> bool:
        """Replace ``old`` by ``new`` once; a no-op when ``done_if`` (default ``new``) is there."""
        text = path.read_text(encoding="utf-8")
        if (done_if or new) in text:
            return False
        if old not in text:
            raise DemoAgentError(
                f"{self.rel(path)} is not the example's file (cannot find {old.strip()[:40]!r});"
                " the scripted demo agent only knows the example hub"
            )
        self.tool("Edit", self.rel(path))
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return True


# -- explore ----------------------------------------------------------------------------------


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


# -- propose ----------------------------------------------------------------------------------

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


# -- apply ------------------------------------------------------------------------------------

API_GREET = '''

def greet(name: str) -> str:
    """The greeting for ``name``: trimmed, and ``there`` when blank (greetings spec)."""
    name = name.strip()
    return f"Hello, {name or 'there'}!"


def route('''

API_ROUTE = """    if method == "GET" and url.path == "/greet":
        name = parse_qs(url.query).get("name", [""])[0]
        return 200, {"greeting": greet(name)}
    return 404,"""

API_TESTS = """class GreetTest(unittest.TestCase):
    def test_greeting_a_named_person(self) -> None:
        self.assertEqual(route("GET", "/greet?name=Ada"), (200, {"greeting": "Hello, Ada!"}))

    def test_greeting_without_a_name(self) -> None:
        self.assertEqual(route("GET", "/greet"), (200, {"greeting": "Hello, there!"}))

    def test_a_name_with_surrounding_spaces(self) -> None:
        self.assertEqual(route("GET", "/greet?name=%20%20Ada%20"), (200, {"greeting": "Hello, Ada!"}))


if __name__ == "__main__":"""

BOT_GREET = '''def greet(name: str) -> str:
    """The greeting for ``name``: trimmed, and ``there`` when blank (see the hub's greetings spec)."""
    name = name.strip()
    return f"Hello, {name or 'there'}!"'''

BOT_TESTS = """        self.assertEqual(reply("/hello Ada"), "Hello, Ada!")

    def test_hello_without_a_name(self) -> None:
        self.assertEqual(reply("/hello"), "Hello, there!")

    def test_hello_with_a_padded_name(self) -> None:
        self.assertEqual(reply("/hello   Ada  "), "Hello, Ada!")
"""


def _tick(run: Run, tasks: Path, numbers: list[str]) -> None:
    text = tasks.read_text(encoding="utf-8")
    new = text
    for n in numbers:
        new = re.sub(rf"^(\s*-\s*)\[ \](\s*{re.escape(n)}\s)", r"\1[x]\2", new, flags=re.MULTILINE)
    if new != text:
        run.tool("Edit", f"{run.rel(tasks)} (tick {', '.join(numbers)})")
        tasks.write_text(new, encoding="utf-8")


def _git(cwd: Path, *args: str) -> str:
    out = run_git(args, cwd, check=False)
    if out.returncode != 0:
        raise DemoAgentError(f"git {' '.join(args)} failed in {cwd}: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout.decode("utf-8", "replace")


def _run_tests(run: Run, wt: Path) -> str:
    argv = [sys.executable, "-m", "unittest", "discover", "-q", "-s", "tests", "-t", "."]
    run.tool("Bash", f"python -m unittest discover -s tests -t .   # in {wt.name}")
    out = subprocess.run(argv, cwd=wt, capture_output=True, text=True, check=False, timeout=60)
    summary = re.findall(r"^Ran \d+ tests?", out.stderr, re.MULTILINE)
    verdict = "OK" if out.returncode == 0 else "FAILED"
    line = f"{wt.name}: {summary[-1] if summary else 'no tests ran'}, {verdict}"
    run.log("  " + line)
    if out.returncode != 0:
        raise DemoAgentError(f"the tests of {wt.name} fail:\n{out.stderr[-2000:]}")
    return line


def _commit(run: Run, wt: Path, message: str) -> str | None:
    if not _git(wt, "status", "--porcelain").strip():
        return None
    run.tool("Bash", f"git commit -am {message!r}   # in {wt.name}")
    _git(wt, "add", "-A")
    _git(wt, "commit", "-q", "-m", message)
    return _git(wt, "rev-parse", "--short", "HEAD").strip()


def _apply_api(run: Run, wt: Path, tasks: Path) -> None:
    service = wt / "service.py"
    if not service.is_file():
        raise DemoAgentError(f"{service} does not exist; the scripted demo agent only knows the example hub")
    run.read(service)
    run.edit(service, "from urllib.parse import urlsplit", "from urllib.parse import parse_qs, urlsplit")
    run.edit(service, "\n\ndef route(", API_GREET, done_if="def greet(")
    _tick(run, tasks, ["1.1"])
    run.edit(service, "    return 404,", API_ROUTE, done_if='"/greet"')
    _tick(run, tasks, ["1.2"])
    run.edit(wt / "tests" / "test_service.py", 'if __name__ == "__main__":', API_TESTS, done_if="class GreetTest")
    _tick(run, tasks, ["1.3"])
    health = '| `GET /health`  | `{"status": "ok"}`     |\n'
    row = '| `GET /greet?name=` | `{"greeting": "Hello, <name>!"}` |\n'
    run.edit(wt / "README.md", health, health + row, done_if="/greet")
    _tick(run, tasks, ["1.4"])


def _apply_bot(run: Run, wt: Path, tasks: Path) -> None:
    bot = wt / "bot.py"
    if not bot.is_file():
        raise DemoAgentError(f"{bot} does not exist; the scripted demo agent only knows the example hub")
    run.read(bot)
    old = '''def greet(name: str) -> str:
    """The greeting for ``name`` (see the hub's greetings spec)."""
    return f"Hello, {name}!"'''
    run.edit(bot, old, BOT_GREET, done_if="name.strip()")
    _tick(run, tasks, ["2.1"])
    run.edit(
        wt / "tests" / "test_bot.py",
        '        self.assertEqual(reply("/hello Ada"), "Hello, Ada!")\n',
        BOT_TESTS,
        done_if="test_hello_without_a_name",
    )
    _tick(run, tasks, ["2.2"])


def _escape_the_gate(run: Run, via: Path) -> None:
    """The over-eager move of a first attempt: "update" the living spec directly."""
    spec = via / "openspec" / "specs" / CAPABILITY / "spec.md"
    if not spec.exists():
        spec = run.hub / "openspec" / "specs" / CAPABILITY / "spec.md"
    run.tool("Edit", f"openspec/specs/{CAPABILITY}/spec.md   # keep the living spec in step")
    try:
        with spec.open("a", encoding="utf-8") as fh:
            fh.write(
                "\n#### Scenario: No name given\n"
                "- **WHEN** a greeting is asked for without a name\n"
                "- **THEN** the greeting is `Hello, there!`\n"
            )
    except OSError as exc:  # the sandbox: EACCES under Landlock, EROFS under bubblewrap
        run.log(f"{REFUSED_PREFIX}openspec/specs/{CAPABILITY}/spec.md: {exc.strerror} (errno {exc.errno})")
        run.escaped = False
        return
    run.escaped = True


def apply(run: Run) -> str:
    """Implement the tasks in each worktree, tick them, test, commit."""
    worktrees = {w.name: w for w in run.worktrees}
    if not worktrees:
        raise DemoAgentError("the gate lists no worktrees; the apply phase needs the change's repos")
    unknown = sorted(set(worktrees) - {"api", "bot"})
    if unknown:
        raise DemoAgentError(f"the scripted demo agent knows the repos api and bot, not {', '.join(unknown)}")
    first = next(iter(worktrees.values()))
    # the one task list, in the hub, seen through the worktree's openspec link
    tasks = first / "openspec" / "changes" / run.change_id / "tasks.md"
    if not tasks.is_file():
        tasks = run.change_dir / "tasks.md"
    if run.retrying:
        run.log("The last attempt edited a living spec outside my gate; specs change only at archive.")
    run.read(tasks)
    if "api" in worktrees:
        _apply_api(run, worktrees["api"], tasks)
    if "bot" in worktrees:
        _apply_bot(run, worktrees["bot"], tasks)
    if not run.retrying:
        _escape_the_gate(run, first)
    results = [_run_tests(run, wt) for wt in worktrees.values()]
    _tick(run, tasks, ["3.1"])
    commits = []
    for name, wt in worktrees.items():
        sha = _commit(run, wt, f"{run.change_id}: greetings in {name}")
        commits.append(
            f"- `{name}`: " + (f"committed {sha} on `specflow/{run.change_id}`" if sha else "nothing new to commit")
        )
    summary = [f"Implemented **{run.change_id}**.", "", *commits, "", "Tests:", *[f"- {r}" for r in results]]
    if run.retrying:
        summary += ["", "This attempt left `openspec/specs/` alone: the deltas are merged at archive."]
    elif run.escaped:
        summary += ["", f"Also brought `openspec/specs/{CAPABILITY}/spec.md` up to date."]
    else:
        summary += ["", f"Could not update `openspec/specs/{CAPABILITY}/spec.md`: the sandbox refused the write."]
    return "\n".join(summary) + "\n"


# -- archive ----------------------------------------------------------------------------------


def archive(run: Run) -> str:
    """Bring the shared API doc up to date; specflow merges the deltas itself."""
    doc = run.hub / "shared" / "api.md"
    if not doc.is_file():
        return "Nothing to update: the hub has no shared/api.md.\n"
    text = run.read(doc)
    row = '| GET    | `/greet`  | `200 {"greeting": "Hello, <name>!"}` | `openspec/specs/greetings/`    |\n'
    if "`/greet`" not in text:
        anchor = "| *      | other"
        if anchor not in text:
            run.write(doc, text.rstrip("\n") + "\n" + row)
        else:
            run.edit(doc, anchor, row + anchor)
    return (
        "Updated `shared/api.md`: it lists `GET /greet` with its answer and its spec.\n"
        "`CLAUDE.md` needs no change: conventions and commands are the same.\n"
    )


PHASES: dict[str, Callable[[Run], str]] = {
    "explore": explore,
    "propose": propose,
    "apply": apply,
    "archive": archive,
}


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the phase named by ``SPECFLOW_PHASE``; 0 on success, 1 when the agent fails."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("SPECFLOW_PHASE", "SPECFLOW_CHANGE", "SPECFLOW_HUB") if not env.get(k)]
    if missing:
        sys.stderr.write(
            f"demo agent: {', '.join(missing)} not set; specflow runs this agent"
            " (python -m specflow.demo.agent) with the prompt on stdin\n"
        )
        return 2

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    phase = env["SPECFLOW_PHASE"]
    try:
        gate = json.loads(env.get("SPECFLOW_GATE") or "{}")
    except json.JSONDecodeError:
        gate = {}
    run = Run(
        phase=phase,
        change_id=env["SPECFLOW_CHANGE"],
        hub=Path(env["SPECFLOW_HUB"]),
        cwd=Path(env.get("SPECFLOW_CWD") or os.getcwd()),
        gate=gate if isinstance(gate, dict) else {},
        prompt=sys.stdin.read(),
        log=log,
    )
    handler = PHASES.get(phase)
    if handler is None:
        log(f"demo agent: no script for phase {phase!r} (known: {', '.join(PHASES)})")
        return 1
    try:
        answer = handler(run)
    except (DemoAgentError, OSError, subprocess.SubprocessError) as exc:
        log(f"demo agent: {exc}")
        return 1
    sys.stdout.write(answer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
