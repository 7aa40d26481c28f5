"""Steps of the workspace features: gates, repos, checkpoints, restoring saved work, finding the hub, merging.

A hub with two component repos and a scripted ``command`` agent.  For each phase the agent does
its proper work, then runs whatever escape the scenario asked for (a Python snippet in the
control folder), so every feature goes through the real engine: ``specflow advance``
in-process, the command adapter, the audit.  The shared steps (running commands, their results,
a change's state) are in ``tests/features/conftest.py``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from specflow.engine.hub import Hub
from tests.conftest import HubFixture, commit_all, git, held_to_modes, init_repo
from tests.features.world import CommandResult, World, phrase

scenarios(
    "gates.feature",
    "multirepo.feature",
    "checkpoints.feature",
    "restore.feature",
    "anywhere.feature",
    "merge.feature",
    "branches.feature",
)

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
import json, os, pathlib, subprocess, sys, time
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
if phase == "propose" and (ctl / "wait").exists():  # a barrier: the test lets every waiting agent go at once
    (ctl / f"working-{change}").write_text(str(os.getpid()))
    for _ in range(1200):
        if (ctl / "go").exists():
            break
        time.sleep(0.05)
    else:
        sys.exit(f"{change}: never let go")
commits = not (ctl / "no-commit").exists()
if phase == "explore":
    print("the login needs a rate limit")
elif phase == "propose":
    (folder / "proposal.md").write_text("## Why\nUsers must log in.\n")
    (folder / "tasks.md").write_text(TASKS)
elif phase == "apply":
    api, bot = cwd / "api", cwd / "bot"
    (api / "src" / "login.py").write_text(f"def login():  # {change}\n    return True\n")
    (bot / "bot.py").write_text(f"print('bot login')  # {change}\n")
    if commits:
        git(api, "add", "-A")
        git(api, "commit", "-q", "-m", "api: login endpoint")
        git(bot, "commit", "-q", "-am", "bot: login command")
    web = cwd / "web"
    if web.is_dir():
        (web / "index.html").write_text("<h1>log in</h1>\n")
        git(web, "commit", "-q", "-am", "web: login page")
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
    "a write hidden in a folder it closes": (
        "propose",
        '(hub / "docs" / "hidden.md").write_text("hidden\\n"); os.chmod(hub / "docs", 0)',
        ("hub", "docs/hidden.md", "added"),
    ),
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
        ("hub", "specflow/add-login", "commit"),
    ),
    "a moved HEAD in the hub": ("propose", 'git(hub, "switch", "-q", "-c", "agent-branch")', ("hub", "HEAD", "head")),
    "removing task 1.2 from tasks.md": (
        "apply",
        't = folder / "tasks.md"; t.write_text("".join(x for x in t.read_text().splitlines(True) if "1.2" not in x))',
        ("hub", "openspec/changes/add-login/tasks.md", "modified"),
    ),
    "deleting the checkpoints and pruning git's objects": (
        "explore",
        '(hub / "planted.txt").write_text("written by the agent\\n"); '
        "os.chdir(hub); os.system(\"git for-each-ref --format='delete %(refname)' refs/specflow/"
        " | git update-ref --stdin"
        ' && git reflog expire --expire=now --all && git gc -q --prune=now")',
        ("hub", "planted.txt", "added"),
    ),
    "an explore phase that writes anything": (
        "explore",
        '(folder / "exploration.md").write_text("notes\\n")',
        ("hub", "openspec/changes/add-login/exploration.md", "added"),
    ),
}


REPOS = ("api", "bot")


def repo_path(world: World, name: str) -> Path:
    """A component repo: a sibling of the hub."""
    return world.root.parent / name


def change_hub(world: World, cid: str = "add-login") -> Path:
    """The change's own worktree of the hub, where its hub phases run."""
    return Hub(world.root).worktree_of(cid)


def worktree(world: World, cid: str, repo: str) -> Path:
    return world.root / ".specflow" / "worktrees" / cid / repo


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


@given(phrase("a hub with the component repos {a:Q} and {b:Q} and a scripted agent"), target_fixture="world")
def hub_with_repos(hub: HubFixture, make_world: Callable[[Path], World], a: str, b: str) -> World:
    return make_hub(hub, make_world(hub.root), a, b)


@given(phrase("a hub with the component repos {a:Q}, {b:Q} and {c:Q} and a scripted agent"), target_fixture="world")
def hub_with_three_repos(hub: HubFixture, make_world: Callable[[Path], World], a: str, b: str, c: str) -> World:
    return make_hub(hub, make_world(hub.root), a, b, c)


def make_hub(hub: HubFixture, world: World, a: str, b: str, *more: str) -> World:
    root = hub.root
    hub.write("openspec/workflows/gated.yaml", WORKFLOW)
    hub.write("openspec/templates/phase.md.j2", TEMPLATE)
    hub.write("openspec/specs/auth/spec.md", "# auth\n")
    hub.write("docs/style.md", "be nice\n")
    for name, files in (
        (a, {"src/app.py": "print('api')\n", ".gitignore": ".setup-ran\n"}),
        (b, {"bot.py": "print('bot')\n"}),
        *((name, {"index.html": "<h1>web</h1>\n"}) for name in more),
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
        f"  {b}:\n    path: ../{b}\n" + "".join(f"  {name}:\n    path: ../{name}\n" for name in more)
    )
    hub.agent("scripted", AGENT)
    with (root / "specflow.yaml").open("a") as fh:
        fh.write(f"    env:\n      AGENT_CTL: {str(world.ctl)!r}\n")
    hub.commit("hub with repos")
    return world


@given(phrase("a change {cid:Q} affecting {a:Q} and {b:Q}"))
def change_affecting(world: World, cid: str, a: str, b: str) -> None:
    world.run_ok("new", cid, "--repo", a, "--repo", b)


@given(phrase("a change {cid:Q} affecting {a:Q}, {b:Q} and {c:Q}"))
def change_affecting_three(world: World, cid: str, a: str, b: str, c: str) -> None:
    world.run_ok("new", cid, "--repo", a, "--repo", b, "--repo", c)


@given(phrase("the repo {name:Q} links the hub's openspec folder"))
def repo_links_hub(world: World, name: str) -> None:
    repo = repo_path(world, name)
    os.symlink(f"../{world.root.name}/openspec", repo / "openspec")
    commit_all(repo, "link the hub's openspec")


@given(phrase("a repo {name:Q} next to the hub with a link to the hub's openspec folder"))
def stray_repo(world: World, name: str) -> None:
    repo = init_repo(repo_path(world, name))
    os.symlink(f"../{world.root.name}/openspec", repo / "openspec")
    commit_all(repo, "a link to a hub that does not know this repo")


@given(phrase("the hub's specflow.yaml also says {line:Q}"))
def config_says(world: World, line: str) -> None:
    with (world.root / "specflow.yaml").open("a") as fh:
        fh.write(line + "\n")


@given(phrase("a person has an untracked {rel:Q} in the checkout of {repo:Q}"))
def person_untracked(world: World, rel: str, repo: str) -> None:
    path = repo_path(world, repo) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the person's own draft\n")
    world.before[f"{repo}:{rel}"] = path.read_text()
    world.before["mains"] = main_heads(world)


@given(phrase("a person has edited {rel:Q} in the checkout of {repo:Q}"))
def person_edited(world: World, rel: str, repo: str) -> None:
    path = repo_path(world, repo) / rel
    path.write_text(path.read_text() + "# the person's own line\n")
    world.before[f"{repo}:{rel}"] = path.read_text()
    world.before["mains"] = main_heads(world)


@given(phrase("{repo:Q} has a commit on main that conflicts with the change"))
def conflicting_commit(world: World, repo: str) -> None:
    path = repo_path(world, repo)
    (path / "index.html").write_text("<h1>welcome</h1>\n")
    commit_all(path, "a new title on main")
    world.before["mains"] = main_heads(world)


def main_heads(world: World) -> dict[str, str]:
    """The main branch of every repo beside the hub (and the hub's)."""
    repos = [p for p in world.root.parent.iterdir() if (p / ".git").is_dir()]
    return {p.name: git(p, "rev-parse", "main").strip() for p in repos}


@given(parsers.parse("the agent also tries {escape} in its phase"))
def agent_escapes(world: World, escape: str) -> None:
    """Plant the escape, and record the hub and both repos as they are before the agent's turn."""
    phase, code, _ = ESCAPES[escape]
    (world.ctl / f"escape-{phase}.py").write_text(code)
    world.before = {name: tree_state(path) for name, path in (("hub", world.root), *_repos(world))}
    world.before["change-hub"] = tree_state(change_hub(world))
    world.before["heads"] = {
        name: git(path, "rev-parse", "HEAD") for name, path in (("hub", world.root), *_repos(world))
    }


@given(phrase("the setup of {repo:Q} fails"))
def setup_fails(world: World, repo: str) -> None:
    cfg = world.root / "specflow.yaml"
    cfg.write_text(
        cfg.read_text().replace(
            f'setup: "echo installing {repo}; touch .setup-ran"', 'setup: "echo npm ERR! cannot install; exit 7"'
        )
    )


# -- whens ----------------------------------------------------------------------------------------


def _run_in(world: World, monkeypatch: pytest.MonkeyPatch, folder: Path, command: str) -> None:
    """Run a specflow command line in ``folder``, without -C: specflow finds the hub from there."""
    program, *args = shlex.split(command)
    assert program == "specflow", command
    monkeypatch.chdir(folder)
    code, out, err = world.cli(*args)
    world.result = CommandResult(tuple(args), code, out, err)


@when(phrase("I try to advance {cid:Q} to {state:Q} as a user bound by the mode bits"))
def try_advance_bound(world: World, cid: str, state: str) -> None:
    """``specflow advance`` in a process of its own, bound by permission bits as every user but
    root is (as root: without the capabilities that pass them by), with its agent and git."""
    args = ("advance", cid, "--to", state)
    proc = subprocess.run(
        [sys.executable, "-m", "specflow", "-C", str(world.root), *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=held_to_modes,
        check=False,
    )
    world.result = CommandResult(args, proc.returncode, proc.stdout, proc.stderr)


@when(phrase("I run {command:Q} in the repo {name:Q}"))
def run_in_repo(world: World, monkeypatch: pytest.MonkeyPatch, command: str, name: str) -> None:
    _run_in(world, monkeypatch, repo_path(world, name), command)


@when(phrase("I run {command:Q} in the folder {rel:Q} made inside the repo"))
def run_in_folder(world: World, monkeypatch: pytest.MonkeyPatch, command: str, rel: str) -> None:
    folder = world.root.parent / rel
    folder.mkdir(parents=True, exist_ok=True)
    _run_in(world, monkeypatch, folder, command)


@when(phrase("I run {command:Q} in the worktree of {repo:Q}"))
def run_in_worktree(world: World, monkeypatch: pytest.MonkeyPatch, command: str, repo: str) -> None:
    _run_in(world, monkeypatch, worktree(world, "add-login", repo), command)


@when("I run the restore command the history gives")
def run_restore(world: World) -> None:
    command = world.history("add-login")[-1]["rejected"]["command"]
    world.run(*shlex.split(command)[1:])


@when(phrase("a person writes {text:Q} into {rel:Q} in the change's worktree of the hub"))
def person_writes(world: World, text: str, rel: str) -> None:
    (change_hub(world) / rel).write_text(text.replace("\\n", "\n"))


@when(phrase("the change {cid:Q} is archived by hand"))
def archive_by_hand(world: World, cid: str) -> None:
    dest = world.root / "openspec" / "changes" / "archive" / f"2025-01-01-{cid}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    folder = world.change_dir(cid)
    folder.rename(dest)  # from its own worktree, committed there as a person would
    commit_all(change_hub(world, cid), "moved by hand")
    landed = world.root / "openspec" / "changes" / cid  # the copy its final state landed on main
    if landed.is_dir():
        shutil.rmtree(landed)


# -- thens ----------------------------------------------------------------------------------------


@then(phrase("the folder {rel:Q} of the change's worktree of the hub can be read by its owner again"))
def folder_readable_again(world: World, rel: str) -> None:
    assert stat.S_IMODE((change_hub(world) / rel).stat().st_mode) & 0o700 == 0o700


@then(phrase("the history of {cid:Q} records {escape} as put back"))
def history_records(world: World, cid: str, escape: str) -> None:
    _, _, (workspace, path, kind) = ESCAPES[escape]
    last = world.history(cid)[-1]
    assert last["outcome"] == "failed"
    found = {(v["workspace"], v["path"], v["kind"]) for v in last["gate_violations"]}
    assert (workspace, path, kind) in found, found
    assert any("outside its gate" in r for r in last["reasons"])
    if kind in ("added", "symlink"):
        root = {"hub": world.root, "bot@checkout": repo_path(world, "bot"), "api@checkout": repo_path(world, "api")}
        assert not os.path.lexists(root[workspace] / path), f"{path} is still there"


@then("everything outside the gate is exactly as it was")
def nothing_else_changed(world: World) -> None:
    for name, root in (("hub", world.root), *_repos(world)):
        assert git(root, "rev-parse", "HEAD") == world.before["heads"][name], f"{name}'s HEAD moved"
        assert git(root, "branch", "--show-current").strip() == "main"
    # the person's checkout of the hub is untouched; in the change's own worktree of it only the
    # change's folder may differ (the agent's in-gate work)
    assert tree_state(world.root) == world.before["hub"]
    skip = ("openspec/changes/add-login",)
    now = tree_state(change_hub(world), skip)
    before = {k: v for k, v in world.before["change-hub"].items() if not k.startswith(skip[0])}
    assert now == before
    for name, root in _repos(world):
        assert tree_state(root) == world.before[name], f"{name} changed"


@then(parsers.parse("the in-gate work of the {phase} phase is kept"))
def in_gate_kept(world: World, phase: str) -> None:
    folder = world.change_dir("add-login")
    if phase == "propose":
        assert (folder / "proposal.md").read_text() == "## Why\nUsers must log in.\n"
    elif phase == "apply":
        api = worktree(world, "add-login", "api")
        assert (api / "src" / "login.py").exists()
        assert git(api, "log", "-1", "--format=%s").strip() == "api: login endpoint"
        assert "- [ ]" not in (folder / "tasks.md").read_text()
    elif phase == "explore":
        assert not (folder / "exploration.md").exists()
    else:
        raise AssertionError(f"no in-gate work is known for the {phase} phase")


@then(phrase("each of {a:Q} and {b:Q} has a worktree on {branch:Q} with the hub linked in"))
def worktrees_linked(world: World, a: str, b: str, branch: str) -> None:
    for name in (a, b):
        wt = worktree(world, "add-login", name)
        assert git(wt, "branch", "--show-current").strip() == branch
        assert os.path.realpath(wt / "openspec") == str((change_hub(world) / "openspec").resolve())
        assert (wt / "docs" / "style.md").read_text() == "be nice\n"
        assert git(wt, "status", "--porcelain") == ""


@then(phrase("the setup of {repo:Q} ran with its output in {log:Q}"))
def setup_ran(world: World, repo: str, log: str) -> None:
    assert (worktree(world, "add-login", repo) / ".setup-ran").exists()
    assert f"installing {repo}" in (world.root / log).read_text()


@then(phrase("every task of {cid:Q} is ticked in the hub's tasks.md"))
def tasks_ticked(world: World, cid: str) -> None:
    text = (world.change_dir(cid) / "tasks.md").read_text()
    assert text.count("- [x]") == 2 and "- [ ]" not in text


@then(phrase("the hub's tasks.md of {cid:Q} has task 1.1 ticked and task 1.2 back, open"))
def tasks_put_back_with_ticks(world: World, cid: str) -> None:
    assert (world.change_dir(cid) / "tasks.md").read_text() == TASKS.replace("- [ ] 1.1", "- [x] 1.1")


@then("what the agent wrote in tasks.md is saved under refs/specflow/rejected")
def tasks_saved(world: World) -> None:
    [violation] = [v for v in world.history("add-login")[-1]["gate_violations"] if v["path"].endswith("tasks.md")]
    assert violation["saved"].startswith("refs/specflow/rejected/")
    saved = git(world.root, "show", f"{violation['saved']}:{violation['path']}")
    assert saved == "## 1. Build\n- [x] 1.1 api login endpoint\n"


@then(phrase("{repo:Q} has the merge commit {subject:Q} on main"))
def merge_commit(world: World, repo: str, subject: str) -> None:
    line = git(repo_path(world, repo), "log", "-1", "--format=%s|%P", "main").strip()
    got, parents = line.split("|")
    assert got == subject and len(parents.split()) == 2


@then(phrase("the worktrees of {cid:Q} are gone and its branches kept"))
def worktrees_gone(world: World, cid: str) -> None:
    assert not (world.root / ".specflow" / "worktrees" / cid).exists()
    for name in REPOS:
        assert git(repo_path(world, name), "branch", "--list", f"specflow/{cid}").strip() == f"specflow/{cid}"


def _repos(world: World) -> list[tuple[str, Path]]:
    return [(name, repo_path(world, name)) for name in REPOS]


@then(phrase("{rel:Q} in the change's worktree of the hub says {text:Q}"))
def change_hub_file_says(world: World, rel: str, text: str) -> None:
    assert (change_hub(world) / rel).read_text() == text.replace("\\n", "\n")


@then(phrase("the hub's {rel:Q} says {text:Q}"))
def hub_file_says(world: World, rel: str, text: str) -> None:
    assert (world.root / rel).read_text() == text.replace("\\n", "\n")


@then(phrase("the history of {cid:Q} says where {rel:Q} was saved and how to restore it"))
def history_names_the_save(world: World, cid: str, rel: str) -> None:
    last = world.history(cid)[-1]
    [violation] = [v for v in last["gate_violations"] if v["path"] == rel]
    ref = violation["saved"]
    assert ref.startswith(f"refs/specflow/rejected/{cid}/")
    assert last["rejected"]["refs"]["hub"] == ref
    assert last["rejected"]["command"] == f"specflow restore {cid} --checkpoint {last['checkpoint']['number']}"
    assert git(world.root, "show", f"{ref}:{rel}") != (world.root / rel).read_text()  # the agent's version
    assert any(last["rejected"]["command"] in r for r in last["reasons"])


@then(phrase("the last event in the history of {cid:Q} is {outcome:Q}"))
def last_event(world: World, cid: str, outcome: str) -> None:
    assert world.history(cid)[-1]["outcome"] == outcome


@then(phrase("no {name:Q} folder exists outside the hub's own"))
def no_state_folder_elsewhere(world: World, name: str) -> None:
    found = []
    for dirpath, dirnames, _files in os.walk(world.root.parent):
        if ".git" in dirnames:
            dirnames.remove(".git")
        # each change keeps its records in its own folder (in its own worktree of the hub)
        if name in dirnames and "openspec/changes" not in Path(dirpath).as_posix():
            found.append(Path(dirpath) / name)
    assert found == [world.root / name], found


@then(phrase("the worktree of {repo:Q} has nothing untracked"))
def nothing_untracked(world: World, repo: str) -> None:
    assert git(worktree(world, "add-login", repo), "status", "--porcelain") == ""


@then("the error has a fix for each problem")
def a_fix_for_each(world: World) -> None:
    err = world.last.err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    fixes = [line for line in err.splitlines() if line.startswith("      fix: ")]
    assert problems and len(fixes) == len(problems), err


@then(phrase("no main branch of {a:Q}, {b:Q} and {c:Q} moved"))
def mains_unmoved(world: World, a: str, b: str, c: str) -> None:
    now, before = main_heads(world), world.before["mains"]
    assert all(now[name] == before[name] for name in (a, b, c))


@then(phrase("the person's files in {a:Q} and {b:Q} are untouched"))
def person_files_untouched(world: World, a: str, b: str) -> None:
    for key, text in world.before.items():
        repo, _, rel = key.partition(":")
        if repo in (a, b) and rel:
            assert (repo_path(world, repo) / rel).read_text() == text


# -- a change is its branches ---------------------------------------------------------------------


def _ids(ids: str) -> list[str]:
    return [cid.strip() for cid in ids.split(",") if cid.strip()]


@given(phrase("the changes {ids:Q}, each affecting {a:Q} and {b:Q}"))
def changes_affecting(world: World, ids: str, a: str, b: str) -> None:
    for cid in _ids(ids):
        world.run_ok("new", cid, "--repo", a, "--repo", b)


@given("the agents wait in their propose phase until they are let go")
def agents_wait(world: World) -> None:
    (world.ctl / "wait").write_text("")


@given("the agent never commits its work")
def agent_never_commits(world: World) -> None:
    (world.ctl / "no-commit").write_text("")


@given(phrase("a person has an untracked {rel:Q} in the hub's checkout"))
def person_untracked_in_hub(world: World, rel: str) -> None:
    path = world.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the person's own draft\n")
    world.before[f"hub:{rel}"] = path.read_text()


@given(phrase("a change {cid:Q} affecting {a:Q} and {b:Q}, made on the hub's checkout as specflow did before"))
def change_of_the_previous_layout(world: World, cid: str, a: str, b: str) -> None:
    from specflow.changestate import records, recordtypes

    folder = world.root / "openspec" / "changes" / cid
    folder.mkdir(parents=True)
    (folder / ".openspec.yaml").write_text("schema: spec-driven\ncreated: 2025-01-01\n")
    event = recordtypes.HistoryEvent(trigger="new", outcome="created", workflow="gated")
    event["from"], event["to"] = None, "draft"
    records.create(folder, workflow="gated", state="draft", repos=[a, b], event=event)
    commit_all(world.root, f"a change made on the hub's checkout: {cid}")


@when(phrase("I start advancing {ids:Q} to {state:Q}"))
def start_advancing(world: World, ids: str, state: str) -> None:
    world.before["checkouts"] = {name: tree_state(path) for name, path in (("hub", world.root), *_repos(world))}
    world.before["mains"] = main_heads(world)
    for cid in _ids(ids):
        world.start("advance", cid, "--to", state, "-q")


@when(phrase("the agents of {ids:Q} are all at work"))
def agents_at_work(world: World, ids: str) -> None:
    deadline = time.monotonic() + 60
    waiting = [world.ctl / f"working-{cid}" for cid in _ids(ids)]
    while not all(p.exists() for p in waiting):
        finished = [run.finish() for run in world.runs if run.finished]
        assert not finished, f"a run ended before every agent was at work: {finished[0]}"
        assert time.monotonic() < deadline, f"not every agent started: {[p.name for p in waiting if not p.exists()]}"
        time.sleep(0.05)


@when("the agents are let go")
def agents_let_go(world: World) -> None:
    world.give_go_ahead()


@when(phrase("a person stages {rel:Q} in the hub's checkout"))
def person_stages_in_hub(world: World, rel: str) -> None:
    (world.root / rel).write_text("the person's notes\n")
    git(world.root, "add", rel)


@when(phrase("the person unstages {rel:Q} in the hub's checkout"))
def person_unstages_in_hub(world: World, rel: str) -> None:
    git(world.root, "reset", "-q", "--", rel)


@when(phrase("a person adds {text:Q} to {rel:Q} in the hub's checkout"))
def person_adds_in_hub(world: World, text: str, rel: str) -> None:
    _append(world, world.root / rel, text)


@when(phrase("a person adds {text:Q} to {rel:Q} in the checkout of {repo:Q}"))
def person_adds_in_repo(world: World, text: str, rel: str, repo: str) -> None:
    _append(world, repo_path(world, repo) / rel, text)


def _append(world: World, path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)
    world.before.setdefault("edits", {})[path] = path.read_bytes()


@then("every run I started succeeded")
def every_run_succeeded(world: World) -> None:
    assert world.runs
    for run in world.runs:
        result = run.finish()
        assert result.code == 0, result


@then(phrase("each of {ids:Q} is in state {state:Q} with its own proposal, ticked tasks and code on its branches"))
def each_kept_its_work(world: World, ids: str, state: str) -> None:
    for cid in _ids(ids):
        assert world.state(cid)["state"] == state, cid
        folder = world.change_dir(cid)
        assert (folder / "proposal.md").read_text() == "## Why\nUsers must log in.\n", cid
        assert "- [ ]" not in (folder / "tasks.md").read_text() and "- [x]" in (folder / "tasks.md").read_text()
        branch = f"specflow/{cid}"
        hub_tasks = git(world.root, "show", f"{branch}:openspec/changes/{cid}/tasks.md")
        assert "- [ ]" not in hub_tasks, (cid, hub_tasks)
        assert f"# {cid}" in git(repo_path(world, "api"), "show", f"{branch}:src/login.py"), cid
        assert f"# {cid}" in git(repo_path(world, "bot"), "show", f"{branch}:bot.py"), cid
        others = [other for other in _ids(ids) if other != cid]
        assert not any(
            f"# {other}" in git(repo_path(world, "api"), "show", f"{branch}:src/login.py") for other in others
        )


@then("the checkouts of the hub and of the repos are as they were")
def checkouts_as_they_were(world: World) -> None:
    assert main_heads(world) == world.before["mains"]
    for name, path in (("hub", world.root), *_repos(world)):
        assert tree_state(path) == world.before["checkouts"][name], f"the checkout of {name} changed"


@then("the person's edits are there, byte for byte")
def edits_kept(world: World) -> None:
    assert world.before["edits"]
    for path, data in world.before["edits"].items():
        assert path.read_bytes() == data, path


@then(phrase("no attempt of {cid:Q} recorded a write outside its gate"))
def no_violations(world: World, cid: str) -> None:
    attempts = [ev for ev in world.history(cid) if ev.get("outcome") in ("succeeded", "failed")]
    assert attempts
    assert all(not ev.get("gate_violations") for ev in attempts), attempts


@then(phrase("the branches of {cid:Q} in {a:Q} and {b:Q} hold the agent's work, committed by specflow"))
def committed_by_specflow(world: World, cid: str, a: str, b: str) -> None:
    for name, rel in ((a, "src/login.py"), (b, "bot.py")):
        repo = repo_path(world, name)
        assert git(repo, "log", "-1", "--format=%an", f"specflow/{cid}").strip() == "specflow", name
        assert f"# {cid}" in git(repo, "show", f"specflow/{cid}:{rel}"), name
        subject = git(repo, "log", "-1", "--format=%s", f"specflow/{cid}").strip()
        assert subject == f"specflow({cid}): apply, attempt 1", subject


@then(phrase("the worktrees of {cid:Q} hold nothing uncommitted"))
def worktrees_clean(world: World, cid: str) -> None:
    for path in (change_hub(world, cid), worktree(world, cid, "api"), worktree(world, cid, "bot")):
        assert git(path, "status", "--porcelain") == "", path


@then(phrase("the hub's main branch has the change {cid:Q} with every task ticked"))
def main_has_ticked_change(world: World, cid: str) -> None:
    tasks = git(world.root, "show", f"main:openspec/changes/{cid}/tasks.md")
    assert "- [x]" in tasks and "- [ ]" not in tasks, tasks


@then(phrase("the hub's main branch has the proposal of {cid:Q}"))
def main_has_proposal(world: World, cid: str) -> None:
    assert git(world.root, "show", f"main:openspec/changes/{cid}/proposal.md") == "## Why\nUsers must log in.\n"


@then(phrase("the hub's main branch has {cid:Q} in state {state:Q}"))
def main_has_state(world: World, cid: str, state: str) -> None:
    record = json.loads(git(world.root, "show", f"main:openspec/changes/{cid}/.specflow/state.json"))
    assert record["state"] == state, record


@then("the hub's checkout has nothing uncommitted")
def hub_checkout_clean(world: World) -> None:
    assert git(world.root, "status", "--porcelain") == ""


@then(phrase("the history of {cid:Q} has no approval"))
def no_approval(world: World, cid: str) -> None:
    assert not [ev for ev in world.history(cid) if ev.get("trigger") == "approve"]
    assert not world.state(cid).get("approvals")


@then(phrase("the person's file {rel:Q} in the hub's checkout is as they wrote it"))
def persons_file_kept(world: World, rel: str) -> None:
    assert (world.root / rel).read_text() == world.before[f"hub:{rel}"]
