"""The scripted demo agent's apply phase: code and tests in each repo's worktree.

It edits the example's ``api`` and ``bot`` repos, ticks each task in the hub's ``tasks.md``
(through the worktree's ``openspec`` link), runs the tests and commits on the change's branch.
On a first attempt it also writes a living spec outside its gate, as an over-eager agent would,
so the demo can show the sandbox (or the audit) refusing it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from specflow.demo.agent_tools import CAPABILITY, REFUSED_PREFIX, DemoAgentError, Run
from specflow.workspace.git import run_git

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
