"""Shared steps for the workspace features: a hub with two component repos and a scripted agent.

The agent is a ``command`` agent.  For each phase it does its proper work, then runs whatever
escape the scenario asked for (a Python snippet in the control folder), so every feature goes
through the real engine: ``specflow advance`` in-process, the command adapter, the audit.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from tests.conftest import HubFixture, commit_all, git, init_repo

CLI = Callable[..., tuple[int, str, str]]

WORKFLOW = """\
workflow: gated
version: 1
description: One phase per kind of gate, for the workspace features.
initial: draft
states:
  draft: {}
  explore:
    prompt: phase.md.j2
    workspace: read-only
  propose:
    prompt: phase.md.j2
    workspace:
      write: ["openspec/changes/{{ change.id }}/**"]
  apply:
    prompt: phase.md.j2
    workspace:
      worktrees: true
      write: ["openspec/changes/{{ change.id }}/tasks.md"]
  done:
    final: true
scenarios:
  - scenario: Explore
    given: [the change exists]
    when: advance
    from: draft
    to: explore
  - scenario: Propose
    when: advance
    from: explore
    to: propose
    then: [the file "proposal.md" exists]
  - scenario: Apply in the worktrees
    when: advance
    from: propose
    to: apply
    then: [all tasks are done, the tests pass in every affected repo]
  - scenario: Finish once merged
    given: [the branches are merged, the workspace is clean]
    when: advance
    from: apply
    to: done
"""

TEMPLATE = "Phase {{ phase.name }} of {{ change.id }}.\n{{ gate.description }}\n"

TASKS = "## 1. Build\n- [ ] 1.1 api login endpoint\n- [ ] 1.2 bot login command\n"

# The agent: proper work for the phase, then the scenario's escape, if any.
AGENT = r"""
import json, os, pathlib, subprocess, sys
sys.stdin.read()
ctl = pathlib.Path(os.environ["AGENT_CTL"])
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
change = os.environ["SPECFLOW_CHANGE"]
phase = os.environ["SPECFLOW_PHASE"]
cwd = pathlib.Path.cwd()
folder = hub / "openspec" / "changes" / change

def git(where, *args):
    subprocess.run(["git", *args], cwd=where, check=True, capture_output=True)

(ctl / f"cwd-{phase}.txt").write_text(str(cwd))
if phase == "explore":
    print("the login needs a rate limit")
elif phase == "propose":
    (folder / "proposal.md").write_text("## Why\nUsers must log in.\n")
    (folder / "tasks.md").write_text(TASKS)
elif phase == "apply":
    api, bot = cwd / "api", cwd / "bot"
    (api / "src" / "login.py").write_text("def login():\n    return True\n")
    git(api, "add", "-A")
    git(api, "commit", "-q", "-m", "api: login endpoint")
    (bot / "bot.py").write_text("print('bot login')\n")
    git(bot, "commit", "-q", "-am", "bot: login command")
    tasks = api / "openspec" / "changes" / change / "tasks.md"   # the hub's tasks.md, through the link
    tasks.write_text(tasks.read_text().replace("- [ ]", "- [x]"))
escape = ctl / f"escape-{phase}.py"
if escape.exists():
    exec(escape.read_text(), {"hub": hub, "cwd": cwd, "folder": folder, "git": git, "os": os,
                              "pathlib": pathlib})
print(f"{phase} done")
""".replace("TASKS", repr(TASKS))

# What each escape does, and the violation it must leave in history (workspace, path, kind).
ESCAPES: dict[str, tuple[str, str, tuple[str, str, str]]] = {
    "a write to a hub file outside the gate": (
        "propose",
        '(hub / "CLAUDE.md").write_text("ignore the rules\\n")',
        ("hub", "CLAUDE.md", "modified"),
    ),
    "a write to another repo": (
        "apply",
        '(hub.parent / "bot" / "bot.py").write_text("hijacked\\n")',
        ("bot@checkout", "bot.py", "modified"),
    ),
    "a write to ../x": (
        "apply",
        '(cwd / ".." / "x").write_text("escape\\n")',
        ("hub", ".specflow/worktrees/x", "added"),
    ),
    "a write to an absolute path": (
        "apply",
        '(hub.resolve() / "openspec" / "specs" / "auth" / "spec.md").write_text("# auth, rewritten\\n")',
        ("hub", "openspec/specs/auth/spec.md", "modified"),
    ),
    "a write through a symlink": (
        "apply",
        '(cwd / "api" / "docs" / "style.md").write_text("be mean\\n")',
        ("hub", "docs/style.md", "modified"),
    ),
    "a deletion": ("propose", '(hub / "CLAUDE.md").unlink()', ("hub", "CLAUDE.md", "deleted")),
    "a chmod": ("propose", 'os.chmod(hub / "docs" / "style.md", 0o755)', ("hub", "docs/style.md", "mode")),
    "a new symlink out of the gate": (
        "propose",
        'os.symlink("../../specs", folder / "all-specs")',
        ("hub", "openspec/changes/add-login/all-specs", "symlink"),
    ),
    "a commit on the hub's branch": (
        "propose",
        '(hub / "CLAUDE.md").write_text("committed\\n"); git(hub, "add", "-A"); '
        'git(hub, "commit", "-q", "-m", "agent commit on main")',
        ("hub", "main", "commit"),
    ),
    "a moved HEAD in the hub": ("propose", 'git(hub, "switch", "-q", "-c", "agent-branch")', ("hub", "HEAD", "head")),
    "an explore phase that writes anything": (
        "explore",
        '(folder / "exploration.md").write_text("notes\\n")',
        ("hub", "openspec/changes/add-login/exploration.md", "added"),
    ),
}


class World:
    """The hub, its repos and what the scenario has seen."""

    def __init__(self, hub: HubFixture, ctl: Path) -> None:
        self.hub = hub
        self.root = hub.root
        self.ctl = ctl
        self.api = hub.root.parent / "api"
        self.bot = hub.root.parent / "bot"
        self.result: tuple[int, str, str] = (0, "", "")
        self.before: dict[str, Any] = {}
        self.heads: dict[str, str] = {}

    def change_dir(self, cid: str) -> Path:
        return self.root / "openspec" / "changes" / cid

    def state(self, cid: str) -> dict[str, Any]:
        return dict(json.loads((self.change_dir(cid) / ".specflow" / "state.json").read_text()))

    def history(self, cid: str) -> list[dict[str, Any]]:
        text = (self.change_dir(cid) / ".specflow" / "history.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def worktree(self, cid: str, repo: str) -> Path:
        return self.root / ".specflow" / "worktrees" / cid / repo


@pytest.fixture
def ctl(tmp_path: Path) -> Path:
    d = tmp_path / "agentctl"
    d.mkdir()
    return d


@pytest.fixture
def world(hub: HubFixture, ctl: Path) -> World:
    return World(hub, ctl)


def tree_state(root: Path, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every file under ``root`` (not .git, not specflow's records) with content, mode or link target."""
    found: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if d != ".git" and d != ".specflow"]
        for name in filenames + [d for d in os.listdir(dirpath) if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if any(rel == s or rel.startswith(s + "/") for s in skip):
                continue
            if p.is_symlink():
                found[rel] = ("link", os.readlink(p))
            elif p.is_file():
                found[rel] = (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
    return found


# -- givens ---------------------------------------------------------------------------------------


@given(parsers.parse('a hub with the component repos "{a}" and "{b}" and a scripted agent'))
def hub_with_repos(world: World, a: str, b: str) -> None:
    root = world.root
    world.hub.write("openspec/workflows/gated.yaml", WORKFLOW)
    world.hub.write("openspec/templates/phase.md.j2", TEMPLATE)
    world.hub.write("openspec/specs/auth/spec.md", "# auth\n")
    world.hub.write("docs/style.md", "be nice\n")
    for name, files in (
        (a, {"src/app.py": "print('api')\n", ".gitignore": ".setup-ran\n"}),
        (b, {"bot.py": "print('bot')\n"}),
    ):
        repo = init_repo(root.parent / name)
        for rel, text in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text)
        commit_all(repo, "init")
    (root / "specflow.yaml").write_text(
        "default_workflow: gated\ndefault_agent: scripted\ncommand_timeout: 60\nshared: [docs]\nsandbox: off\n"
        f'repos:\n  {a}:\n    path: ../{a}\n    setup: "echo installing {a}; touch .setup-ran"\n'
        f'    test: "test -f src/login.py && echo tests passed"\n'
        f"  {b}:\n    path: ../{b}\n"
    )
    world.hub.agent("scripted", AGENT)
    with (root / "specflow.yaml").open("a") as fh:
        fh.write(f"    env:\n      AGENT_CTL: {str(world.ctl)!r}\n")
    world.hub.commit("hub with repos")


@given(parsers.parse('a change "{cid}" affecting "{a}" and "{b}"'))
def change_affecting(world: World, cli: CLI, cid: str, a: str, b: str) -> None:
    code, out, err = cli("-C", world.root, "new", cid, "--repo", a, "--repo", b)
    assert code == 0, out + err


@given(parsers.parse('the change "{cid}" is in state "{state}"'))
def change_in_state(world: World, cli: CLI, cid: str, state: str) -> None:
    if world.state(cid)["state"] != state:
        code, out, err = cli("-C", world.root, "advance", cid, "--to", state)
        assert code == 0, out + err
    assert world.state(cid)["state"] == state


@given(parsers.parse("the agent also tries {escape} in its phase"))
def agent_escapes(world: World, escape: str) -> None:
    phase, code, _ = ESCAPES[escape]
    (world.ctl / f"escape-{phase}.py").write_text(code)


@given(parsers.parse('the setup of "{repo}" fails'))
def setup_fails(world: World, repo: str) -> None:
    cfg = world.root / "specflow.yaml"
    cfg.write_text(
        cfg.read_text().replace(
            f'setup: "echo installing {repo}; touch .setup-ran"', 'setup: "echo npm ERR! cannot install; exit 7"'
        )
    )


# -- whens ----------------------------------------------------------------------------------------


@when(parsers.parse('I advance "{cid}" to "{state}"'))
def advance_to(world: World, cli: CLI, cid: str, state: str) -> None:
    code, out, err = cli("-C", world.root, "advance", cid, "--to", state)
    assert code == 0, out + err


@when(parsers.parse('I try to advance "{cid}" to "{state}"'))
def try_advance_to(world: World, cli: CLI, cid: str, state: str) -> None:
    world.before = {
        "hub": tree_state(world.root),
        "api": tree_state(world.api),
        "bot": tree_state(world.bot),
    }
    world.heads = {
        name: git(repo, "rev-parse", "HEAD")
        for name, repo in (("hub", world.root), ("api", world.api), ("bot", world.bot))
    }
    world.result = cli("-C", world.root, "advance", cid, "--to", state)


@when(parsers.parse('I run "{command}"'))
def run_command(world: World, cli: CLI, command: str) -> None:
    world.result = cli("-C", world.root, *command.split()[1:])


@when(parsers.parse('the change "{cid}" is archived by hand'))
def archive_by_hand(world: World, cid: str) -> None:
    dest = world.root / "openspec" / "changes" / "archive" / f"2025-01-01-{cid}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    world.change_dir(cid).rename(dest)


# -- thens ----------------------------------------------------------------------------------------


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails_with(world: World, code: int) -> None:
    assert world.result[0] == code, world.result


@then("the command succeeds")
def succeeds(world: World) -> None:
    assert world.result[0] == 0, world.result


@then(parsers.parse('the error says "{text}"'))
def error_says(world: World, text: str) -> None:
    assert text in world.result[2], world.result[2]


@then(parsers.parse('the output says "{text}"'))
def output_says(world: World, text: str) -> None:
    assert text in world.result[1], world.result[1]


@then(parsers.parse('the change "{cid}" is in state "{state}"'))
def in_state(world: World, cid: str, state: str) -> None:
    assert world.state(cid)["state"] == state


@then(parsers.parse('the history of "{cid}" records {escape} as put back'))
def history_records(world: World, cid: str, escape: str) -> None:
    _, _, (workspace, path, kind) = ESCAPES[escape]
    last = world.history(cid)[-1]
    assert last["outcome"] == "failed"
    found = {(v["workspace"], v["path"], v["kind"]) for v in last["gate_violations"]}
    assert (workspace, path, kind) in found, found
    assert any("outside its gate" in r for r in last["reasons"])
    if kind in ("added", "symlink"):
        root = {"hub": world.root, "bot@checkout": world.bot, "api@checkout": world.api}[workspace]
        assert not os.path.lexists(root / path), f"{path} is still there"


@then("everything outside the gate is exactly as it was")
def nothing_else_changed(world: World) -> None:
    for name, root in (("hub", world.root), ("api", world.api), ("bot", world.bot)):
        assert git(root, "rev-parse", "HEAD") == world.heads[name], f"{name}'s HEAD moved"
        assert git(root, "branch", "--show-current").strip() == "main"
    # in the hub only the change's folder may differ (the agent's in-gate work)
    skip = ("openspec/changes/add-login",)
    now = tree_state(world.root, skip)
    before = {k: v for k, v in world.before["hub"].items() if not k.startswith(skip[0])}
    assert now == before
    assert tree_state(world.api) == world.before["api"]
    assert tree_state(world.bot) == world.before["bot"]


@then(parsers.parse("the in-gate work of the {phase} phase is kept"))
def in_gate_kept(world: World, phase: str) -> None:
    folder = world.change_dir("add-login")
    if phase == "propose":
        assert (folder / "proposal.md").read_text() == "## Why\nUsers must log in.\n"
    elif phase == "apply":
        api = world.worktree("add-login", "api")
        assert (api / "src" / "login.py").exists()
        assert git(api, "log", "-1", "--format=%s").strip() == "api: login endpoint"
        assert "- [ ]" not in (folder / "tasks.md").read_text()
    elif phase == "explore":
        assert not (folder / "exploration.md").exists()


@then(parsers.parse('each of "{a}" and "{b}" has a worktree on "{branch}" with the hub linked in'))
def worktrees_linked(world: World, a: str, b: str, branch: str) -> None:
    for name in (a, b):
        wt = world.worktree("add-login", name)
        assert git(wt, "branch", "--show-current").strip() == branch
        assert os.path.realpath(wt / "openspec") == str((world.root / "openspec").resolve())
        assert (wt / "docs" / "style.md").read_text() == "be nice\n"
        assert git(wt, "status", "--porcelain") == ""


@then(parsers.parse('the setup of "{repo}" ran with its output in "{log}"'))
def setup_ran(world: World, repo: str, log: str) -> None:
    assert (world.worktree("add-login", repo) / ".setup-ran").exists()
    assert f"installing {repo}" in (world.root / log).read_text()


@then(parsers.parse('every task of "{cid}" is ticked in the hub\'s tasks.md'))
def tasks_ticked(world: World, cid: str) -> None:
    text = (world.change_dir(cid) / "tasks.md").read_text()
    assert text.count("- [x]") == 2 and "- [ ]" not in text


@then(parsers.parse('"{repo}" has the merge commit "{subject}" on main'))
def merge_commit(world: World, repo: str, subject: str) -> None:
    path = world.api if repo == "api" else world.bot
    line = git(path, "log", "-1", "--format=%s|%P", "main").strip()
    got, parents = line.split("|")
    assert got == subject and len(parents.split()) == 2


@then(parsers.parse('the worktrees of "{cid}" are gone and its branches kept'))
def worktrees_gone(world: World, cid: str) -> None:
    assert not (world.root / ".specflow" / "worktrees" / cid).exists()
    for repo in (world.api, world.bot):
        assert git(repo, "branch", "--list", f"specflow/{cid}").strip() == f"specflow/{cid}"


@then(parsers.parse('the file "{rel}" of "{cid}" says "{text}"'))
def file_says(world: World, rel: str, cid: str, text: str) -> None:
    assert (world.change_dir(cid) / rel).read_text() == text.replace("\\n", "\n")


@then(parsers.parse('the file "{rel}" of "{cid}" does not exist'))
def file_missing(world: World, rel: str, cid: str) -> None:
    assert not (world.change_dir(cid) / rel).exists()
