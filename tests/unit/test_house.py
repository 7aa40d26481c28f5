"""The shape of the package, held by tests: one door to git, a typed public API, a light start path."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import specflow
from specflow import Hub, errors
from specflow.engine.events import read_prompt
from tests.conftest import HubFixture

PACKAGE = Path(specflow.__file__).resolve().parent
GIT_DOOR = PACKAGE / "workspace" / "git" / "process.py"  # the git door's one module that starts git
HEAVY = ("pydantic", "jinja2", "transitions", "ruamel", "rich", "starlette", "uvicorn", "dbos")


def _starts_git(node: ast.AST) -> bool:
    """A list or tuple literal whose first item is the string "git": an argv for git."""
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        first = node.elts[0]
        return isinstance(first, ast.Constant) and first.value == "git"
    return False


def test_no_module_but_the_git_door_starts_git() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == GIT_DOOR:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [
            f"{path.relative_to(PACKAGE)}:{getattr(n, 'lineno', 0)}" for n in ast.walk(tree) if _starts_git(n)
        ]
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        for imp in imports:
            names = [imp.module or ""] if isinstance(imp, ast.ImportFrom) else [a.name for a in imp.names]
            offenders += [f"{path.relative_to(PACKAGE)}:{imp.lineno} imports {n}" for n in names if n == "git"]
    assert offenders == []
    # the door itself does start git, so the check above can see an argv when there is one
    door = ast.parse(GIT_DOOR.read_text(encoding="utf-8"))
    assert any(_starts_git(n) for n in ast.walk(door))


def test_every_error_class_lives_in_errors_and_is_exported() -> None:
    defined_elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & set(errors.__all__):
                    defined_elsewhere.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert defined_elsewhere == []
    classes = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.SpecflowError)}
    assert classes == set(errors.__all__)
    assert classes <= set(specflow.__all__)


def test_the_public_api_is_a_literal_list_of_names_that_all_resolve() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    literal = next(
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
    )
    assert isinstance(literal, ast.List)
    names = [str(e.value) for e in literal.elts if isinstance(e, ast.Constant)]
    assert names == specflow.__all__
    for name in names:
        assert getattr(specflow, name) is not None


def _mypy_strict(script: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on a user's script, as a user's project would run it."""
    argv = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(script.parent / ".mypy")]
    return subprocess.run([*argv, str(script)], cwd=script.parent, capture_output=True, text=True, timeout=300)


def test_a_users_code_importing_the_api_passes_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "from specflow import AdvanceResult, ChangeStatus, CostSummary, Hub, PhaseFailed, SpecflowError\n"
        "from specflow import StepContext, StepResult, step\n"
        "\n\n"
        "def spent(path: str) -> float:\n"
        "    change = Hub.open(path).change('add-login')\n"
        "    st: ChangeStatus = change.status()\n"
        "    costs: CostSummary = change.costs()\n"
        "    return costs['total']['cost_usd'] if st['next']['action'] != 'nothing' else 0.0\n"
        "\n\n"
        "@step('the ticket {ticket} is linked')\n"
        "def linked(ctx: StepContext, ticket: str) -> StepResult:\n"
        "    return StepResult(ok=(ctx.hub_root / ticket).exists(), reason='no such ticket')\n"
        "\n\n"
        "def run(path: str) -> list[AdvanceResult]:\n"
        "    hub = Hub.open(path)\n"
        "    try:\n"
        "        return hub.change('add-login').advance()\n"
        "    except PhaseFailed as exc:\n"
        "        return list(exc.results)\n"
        "    except SpecflowError:\n"
        "        return []\n",
        encoding="utf-8",
    )
    proc = _mypy_strict(consumer)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and mypy does read the API's types: a wrong use is caught
    consumer.write_text("from specflow import Hub\n\nx: int = Hub.open('.')\n", encoding="utf-8")
    proc = _mypy_strict(consumer)
    assert proc.returncode == 1 and "Incompatible types in assignment" in proc.stdout


def _modules_after(argv: list[str], cwd: Path) -> set[str]:
    return {m.split(".")[0] for m in _loaded_after(argv, cwd)}


def _loaded_after(argv: list[str], cwd: Path) -> set[str]:
    """Every module (full dotted name) loaded once ``specflow argv`` has run in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from specflow.cli import deferred\n"
        "from specflow.cli.main import main\n"
        # as the ``specflow`` command does (``specflow.cli.main.entry``)
        "for name in deferred.ON_THE_COMMAND:\n"
        "    deferred.defer(name)\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        # a deferred module whose code never ran was not loaded
        "ran = [n for n, m in sys.modules.items() if type(m).__name__ != '_Deferred']\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(ran)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)
    marker = proc.stderr.rindex("MODULES ")
    return set(json.loads(proc.stderr[marker + len("MODULES ") :]))


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], ["status", "--help"], ["advance", "--help"], ["worker", "--help"]]
)
def test_the_cli_start_path_leaves_heavy_libraries_unimported(argv: list[str], tmp_path: Path) -> None:
    loaded = _modules_after(argv, tmp_path)
    assert "specflow" in loaded
    assert sorted(set(HEAVY) & loaded) == []


def test_status_of_a_hub_with_cached_definitions_imports_no_validation_libraries(hub: HubFixture) -> None:
    Hub.open(hub.root).new_change("add-login")  # validates and caches the workflow and config
    loaded = _modules_after(["-C", str(hub.root), "status", "--json"], hub.root)
    assert "specflow" in loaded
    assert sorted({"pydantic", "jinja2", "transitions"} & loaded) == []


# What reading changes needs not load: the layers that run phases and operate on workspaces
# (``status`` reads a hub through ``HubView``).
NOT_ON_THE_STATUS_PATH = (
    "specflow.engine.runnable",
    "specflow.engine.engine",
    "specflow.engine.change",
    "specflow.engine.hub",
    "specflow.steps.registry",
    "specflow.workspace.workspaces",
    "specflow.workspace.checkpoints",
    "specflow.workspace.checkpointfiles",
    "specflow.workspace.checkpointstore",
)


def test_status_reads_changes_without_the_machinery_that_runs_phases(
    hub: HubFixture, cli: Callable[..., tuple[int, str, str]]
) -> None:
    Hub.open(hub.root).new_change("add-login")
    loaded = _loaded_after(["-C", str(hub.root), "status", "--json"], hub.root)
    assert "specflow.engine.view" in loaded
    assert sorted(m for m in NOT_ON_THE_STATUS_PATH if m in loaded) == []
    # and what it reads is what the full API reports
    code, out, _ = cli("-C", hub.root, "status", "--json")
    assert code == 0
    assert json.loads(out)["changes"] == [json.loads(json.dumps(Hub.open(hub.root).change("add-login").status()))]


# What advance needs not load when its phase runs a command agent and names no OpenSpec step:
# the definitions' validation (cached), the OpenSpec rules, the Claude Code adapter, and the
# libraries specflow replaced with a few lines of its own (entry points, the OS file lock).
NOT_ON_THE_ADVANCE_PATH = (
    "pydantic",
    "importlib.metadata",
    "email",
    "filelock",
    "specflow.openspec.archive",
    "specflow.openspec.archivepreflight",
    "specflow.openspec.specupdates",
    "specflow.openspec.validate",
    "specflow.openspec.adopt",
    "specflow.openspec.deltas",
    "specflow.agents.claude.adapter",
    # the steps of OpenSpec's rules (loaded when a workflow names one), and the operations of a
    # ``Change`` that advance does not run (the CLI runs phases through ``PhaseRunner``)
    "specflow.steps.openspec",
    "specflow.engine.change",
    "specflow.engine.hub",
    "specflow.engine.board",
    "specflow.engine.activity",
    "specflow.engine.boardoutline",
    "specflow.engine.timeline",
    "asyncio",
    "urllib.request",
    # step patterns of plain fields ('the file "{path}" exists') match without the parse library
    "parse",
    "decimal",
    # records are ``specflow.structs`` classes, which compile nothing when defined (``dataclasses``
    # wrote and compiled ~380 methods, and imported ``inspect``); the snapshot's side thread is
    # ``specflow.workspace.sidethread`` (``concurrent.futures`` imported ``logging`` and more)
    "dataclasses",
    "copy",
    "concurrent.futures",
    # standard modules only a rare branch uses (``LAZY_STDLIB``), and ctypes' door (Landlock)
    "datetime",
    "difflib",
    "getpass",
    "ctypes",
    "queue",
    "specflow.sandbox.landlock",
    "specflow.agents.claude",
    "base64",
    "shlex",
    "resource",
    # the host's name is ``os.uname``'s, the lock's abstract socket ``_socket``'s
    "socket",
    # a phase run shows no status
    "specflow.engine.status",
    "specflow.engine.statusindex",
)
# What advance needs not load either when its prompt only fills in fields (``{{ change.id }}``, as
# ``benchmarks/advance_bench.py``'s does): jinja2, and what jinja2 would bring.  Records' temporary
# files and the agent's temporary folder are ``specflow.tempfiles``.  Small digests are CPython's
# own (``specflow.digests``), not OpenSSL's; ``inspect``, which ``transitions`` imports, and
# ``tokenize`` and ``textwrap``, which its ``logging`` brings, are deferred by the command and
# never used (jinja2 would use some).
NOT_ON_THE_PLAIN_PROMPT_PATH = (
    *("jinja2", "markupsafe", "tempfile", "random", "hashlib", "_hashlib"),
    *("inspect", "ast", "dis", "tokenize", "textwrap"),
)


def test_advance_with_a_command_agent_loads_only_what_it_uses(hub: HubFixture) -> None:
    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('the notes')\n")
    hub.commit("agent")
    # in a process of its own, so the validated workflow and config are cached on disk
    _loaded_after(["-C", str(hub.root), "new", "add-login"], hub.root)
    loaded = _loaded_after(["-C", str(hub.root), "advance", "add-login", "--quiet"], hub.root)
    assert Hub.open(hub.root).change("add-login").state == "think"  # it ran, and rendered its prompt
    assert "jinja2" in loaded
    assert (
        sorted(m for m in loaded for heavy in NOT_ON_THE_ADVANCE_PATH if m == heavy or m.startswith(heavy + ".")) == []
    )


def test_advance_with_a_prompt_of_plain_fields_loads_no_template_engine(hub: HubFixture) -> None:
    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('the notes')\n")
    hub.write("openspec/templates/think.md.j2", "Think about {{ change.id }}.\n{{ gate.description }}\n")
    hub.commit("agent")
    _loaded_after(["-C", str(hub.root), "new", "add-login"], hub.root)
    loaded = _loaded_after(["-C", str(hub.root), "advance", "add-login", "--quiet"], hub.root)
    change = Hub.open(hub.root).change("add-login")
    assert change.state == "think"
    (attempt,) = [e for e in change.history() if e["outcome"] == "succeeded"]
    assert (read_prompt(hub.root, "add-login", attempt["prompt_sha256"]) or "").startswith("Think about add-login.\n")
    unwanted = (*NOT_ON_THE_ADVANCE_PATH, *NOT_ON_THE_PLAIN_PROMPT_PATH)
    assert sorted(m for m in loaded for heavy in unwanted if m == heavy or m.startswith(heavy + ".")) == []


def test_show_of_a_spec_loads_no_engine_no_dataclasses_and_no_shutil(
    hub: HubFixture, cli: Callable[..., tuple[int, str, str]]
) -> None:
    hub.write(
        "openspec/specs/auth/spec.md",
        "# auth\n\n## Purpose\nSign people in, and only them, with email.\n\n## Requirements\n"
        "### Requirement: Sign in\nThe system SHALL sign in.\n\n#### Scenario: Works\n- **WHEN** asked\n",
    )
    loaded = _loaded_after(["-C", str(hub.root), "show", "auth", "--json", "--type", "spec"], hub.root)
    code, out, _ = cli("-C", hub.root, "show", "auth", "--json", "--type", "spec")
    assert code == 0 and json.loads(out)["requirementCount"] == 1
    heavy = ("specflow.engine", "specflow.workspace", "dataclasses", "shutil", "specflow.openspec.deltas")
    assert sorted(m for m in loaded for h in heavy if m == h or m.startswith(h + ".")) == []
    assert sorted({"pydantic", "jinja2", "transitions", "dbos"} & loaded) == []


def test_approve_imports_dbos_only_when_the_hub_uses_the_queue(hub: HubFixture) -> None:
    change = Hub.open(hub.root).new_change("add-login")
    (change.dir / "proposal.md").write_text("## Why\nBecause.\n")
    assert "dbos" not in _modules_after(["-C", str(hub.root), "approve", "add-login"], hub.root)
    # once a queue database exists, a workflow may wait for the approval: it is told
    (hub.root / ".specflow" / "queue").mkdir(parents=True)
    (hub.root / ".specflow" / "queue" / "queue.sqlite").write_bytes(b"")
    assert "dbos" in _modules_after(["-C", str(hub.root), "approve", "add-login"], hub.root)


#: Libraries imported lazily, each by its one door, so the CLI's start path never pays for them.
LAZY_LIBRARIES = {*HEAVY, "psutil", "parse"}
#: Standard modules a function may import, and why: each costs every command that imports it at
#: the top of a module (``advance`` imports ~150 modules), and only the branch named needs it.
LAZY_STDLIB = {
    "datetime": "~1 ms: a lease's times (a change on a remote), a checkpoint's time read back by an audit",
    "difflib": "did-you-mean, only on the path of an error",
    "getpass": "the login name, only when git has no user.name (an approval, a discard)",
    "ctypes": "~1 ms: Landlock's system calls, only where Landlock may hold an agent or doctor asks",
    "queue": "the lines of a Claude Code run (its adapter imports it); a command agent has none",
    "hashlib": "~3.5 ms (OpenSSL): only to hash 256 KiB or more at once (specflow.digests)",
    "shlex": "splitting the command of a 'the command \"...\" succeeds' step, only where a workflow has one",
    "resource": "the open-file limit, only when git ran out of open files in a folder nest (an audit)",
}
#: specflow's own modules a function may import, and why: each is a door to a heavy library or a
#: layer only some commands load.
LAZY_MODULES = {
    "specflow.definitions.config_model": "pydantic's door, for a configuration not cached yet",
    "specflow.definitions.workflow_model": "pydantic's door, for a workflow not cached yet",
    "specflow.queue.client": "DBOS's door, only for a hub that uses the queue",
    "specflow.queue.worker": "DBOS's door, only for `specflow worker`",
    "specflow.queue.place": "where queued runs go, only for `advance --queue` (not on advance's start path)",
    "specflow.ui.server": "Starlette's and uvicorn's door, only for `specflow ui`",
    "specflow.cli.live": "the live board and background runs (`--watch`, `--background`) only",
    "specflow.cli.completion": "the shell completion's dispatch only",
    "specflow.engine.hub": "the whole API, only for commands beyond reading and advancing",
    "specflow.engine.view": "the reading layer, only for commands that read a hub the quick way cannot",
    "specflow.openspec.deltas": "a change's delta parser, not needed to show a spec",
    "specflow.yamlio": "ruamel's door, for OpenSpec YAML the flat reader cannot read",
    "specflow.sandbox.landlock": "ctypes' door, only where Landlock may hold an agent",
    "specflow.agents.claude.binary": "finding Claude Code, only for a phase (or doctor) whose agent is Claude Code",
    "specflow.engine.status": "a change's status and the hub's status index, only where one is shown",
    "specflow.cli.main": "the command itself, loaded by its entry point once what it puts off is put off",
}


def _imports_inside_functions() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    found += [(str(path.relative_to(PACKAGE)), node.lineno, a.name) for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    found.append((str(path.relative_to(PACKAGE)), node.lineno, node.module))
    return found


def test_imports_sit_at_the_top_but_at_the_door_of_a_heavy_library_or_a_layer() -> None:
    stray = [
        f"{path}:{line} imports {module}"
        for path, line, module in _imports_inside_functions()
        if module.split(".")[0] not in LAZY_LIBRARIES | LAZY_STDLIB.keys() and module not in LAZY_MODULES
    ]
    assert stray == [], "move these imports to the top of their modules:\n" + "\n".join(stray)


def test_records_are_structs_not_dataclasses() -> None:
    # ``dataclasses`` compiles each class's methods with ``exec`` when the module is imported (~0.4 ms
    # a class): specflow's records subclass ``specflow.structs.Struct``, which defines them once
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno}" for n in names if n == "dataclasses"]
    assert offenders == []


def test_the_claude_code_adapter_adds_only_what_its_run_needs() -> None:
    # a phase run by Claude Code imports the adapter; its settings folder is ``specflow.tempfiles``',
    # its transcript's time ``time``'s: what ``advance`` spares a command agent, it spares this one
    code = (
        "import sys\nimport specflow.agents.claude.adapter\n"
        "print(sorted(m for m in ('datetime', 'tempfile', 'random', 'hashlib', 'dataclasses') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
