"""``--json`` of init, prompt, graph, diff, clean and workflows validate: one JSON document on stdout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from specflow.workspace import branches
from tests.conftest import HubFixture, commit_all, git
from tests.unit.test_workspaces import CHANGE, make_single_hub

BAD_WORKFLOW = """\
workflow: bad
initial: a
states:
  a: {}
  b:
    final: true
    colour: red
scenarios:
  - scenario: go
    from: a
    to: b
"""


def run_json(cli: Any, *args: str | Path, code: int = 0) -> Any:
    """Run the CLI; the exit code must be ``code``, stderr empty and stdout one JSON document."""
    got, out, err = cli(*args)
    assert (got, err) == (code, ""), err
    return json.loads(out)


def test_init_json_lists_what_it_created_then_nothing(tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "h"
    assert run_json(cli, "init", root, "--json") == {
        "root": str(root),
        "created": [
            str(root / "openspec" / "specs" / ".gitkeep"),
            str(root / "openspec" / "changes" / "archive" / ".gitkeep"),
            str(root / "openspec" / "config.yaml"),
            str(root / "specflow.yaml"),
            str(root / ".gitattributes"),
        ],
        "already_initialised": False,
        "linked_repos": [],
        "repos_written": False,
    }
    again = run_json(cli, "init", root, "--json")
    assert again == {
        "root": str(root),
        "created": [],
        "already_initialised": True,
        "linked_repos": [],
        "repos_written": False,
    }


def test_prompt_json_has_the_phase_its_template_and_gate(hub: HubFixture, cli: Any) -> None:
    templates = hub.root / "openspec" / "templates"
    assert cli("-C", hub.root, "new", "add-login")[0] == 0
    real = os.path.realpath(hub.worktree("add-login"))  # the gate is rooted at the change's hub worktree
    data = run_json(cli, "-C", hub.root, "prompt", "add-login", "--json")
    assert data == {
        "change": "add-login",
        "state": "think",
        "template": "think.md.j2",
        "template_path": str(templates / "think.md.j2"),
        "gate": {
            "hub": real,
            "read_only": True,
            "write": [],
            "worktrees": [],
            "phase": "think",
            "change": "add-login",
        },
        "prompt": "Think about add-login in phase think.\n"
        "Read-only: you may read anything but must not create, change or delete any file.\n",
    }
    assert cli("-C", hub.root, "prompt", "add-login")[1] == data["prompt"]  # the same text as without --json
    data = run_json(cli, "-C", hub.root, "prompt", "add-login", "--state", "write", "--json")
    assert (data["state"], data["template"], data["template_path"]) == (
        "write",
        "write.md.j2",
        str(templates / "write.md.j2"),
    )
    assert data["gate"] == {
        "hub": real,
        "read_only": False,
        "write": ["openspec/changes/add-login/**"],
        "worktrees": [],
        "phase": "write",
        "change": "add-login",
    }
    assert data["prompt"].startswith("Write the proposal for add-login.\nNotes: none\n")
    assert run_json(cli, "-C", hub.root, "prompt", "add-login", "--state", "draft", "--json") == {
        "change": "add-login",
        "state": "draft",
        "template": None,
        "template_path": None,
        "gate": None,
        "prompt": "",
    }
    code, out, err = cli("-C", hub.root, "prompt", "add-login", "--state", "nope", "--json")
    assert (code, err) == (1, "")  # with --json the error is JSON on stdout, with the exit code unchanged
    assert json.loads(out) == {
        "error": "unknown state 'nope'",
        "fix": "states: draft, think, write, done",
        "exit_code": 1,
    }


MINI_STATES = [
    {"name": "draft", "initial": True, "final": False, "prompt": None},
    {"name": "think", "initial": False, "final": False, "prompt": "think.md.j2"},
    {"name": "write", "initial": False, "final": False, "prompt": "write.md.j2"},
    {"name": "done", "initial": False, "final": True, "prompt": None},
]
MINI_TRANSITIONS = [
    {"from": "draft", "to": "think", "when": "advance", "scenario": "Think first"},
    {"from": "think", "to": "write", "when": "advance", "scenario": "Write the proposal"},
    {"from": "write", "to": "think", "when": "reject", "scenario": "Send it back"},
    {"from": "write", "to": "done", "when": "advance", "scenario": "Finish once approved"},
]


def test_graph_json_has_states_transitions_and_the_diagram(hub: HubFixture, cli: Any) -> None:
    source = str(hub.root / "openspec" / "workflows" / "mini.yaml")
    _, text, _ = cli("-C", hub.root, "graph", "--workflow", "mini")
    assert run_json(cli, "-C", hub.root, "graph", "--workflow", "mini", "--json") == {
        "workflow": "mini",
        "source": source,
        "initial": "draft",
        "change": None,
        "state": None,
        "states": MINI_STATES,
        "transitions": MINI_TRANSITIONS,
        "mermaid": text,
    }
    assert cli("-C", hub.root, "new", "add-login")[0] == 0
    _, text, _ = cli("-C", hub.root, "graph", "add-login")
    data = run_json(cli, "-C", hub.root, "graph", "add-login", "--json")
    assert (data["workflow"], data["change"], data["state"]) == ("mini", "add-login", "draft")
    assert (data["states"], data["transitions"], data["mermaid"]) == (MINI_STATES, MINI_TRANSITIONS, text)
    assert text.endswith("    class draft current\n")


def test_workflows_validate_json_reports_each_file_and_exits_1_if_any_is_invalid(hub: HubFixture, cli: Any) -> None:
    good = hub.root / "openspec" / "workflows" / "mini.yaml"
    bad = hub.write("bad.yaml", BAD_WORKFLOW)
    missing = hub.root / "missing.yaml"
    ok_report = {"file": str(good), "ok": True, "workflow": "mini", "states": 4, "scenarios": 4, "errors": []}
    assert run_json(cli, "-C", hub.root, "workflows", "validate", good, "--json") == [ok_report]
    allowed = (
        "description, prompt, workspace, record, agent, model, max_turns, timeout, budget_usd, network, actions, final"
    )
    data = run_json(cli, "-C", hub.root, "workflows", "validate", good, bad, missing, "--json", code=1)
    assert data == [
        ok_report,
        {
            "file": str(bad),
            "ok": False,
            "workflow": None,
            "states": None,
            "scenarios": None,
            "errors": [
                {
                    "file": str(bad),
                    "line": 7,
                    "key": "states.b",
                    "message": "unknown key 'colour'",
                    "fix": f"allowed keys here: {allowed}",
                }
            ],
        },
        {
            "file": str(missing),
            "ok": False,
            "workflow": None,
            "states": None,
            "scenarios": None,
            "errors": [{"file": None, "line": None, "key": None, "message": f"file not found: {missing}", "fix": None}],
        },
    ]
    # the text mode exits the same way, with each error on stderr
    code, out, err = cli("-C", hub.root, "workflows", "validate", good, bad)
    assert code == 1
    assert out == f"{good}: workflow 'mini' is valid: 4 states, 4 scenarios\n"
    assert err == f"error: {bad}:7: states.b: unknown key 'colour'\n  fix: allowed keys here: {allowed}\n"


def test_diff_json_per_repo_with_files_and_patch(tmp_path: Path, cli: Any) -> None:
    root, ws = make_single_hub(tmp_path)
    git(root, "config", "diff.renames", "true")
    wt = ws.ensure_worktrees()["proj"]
    # the change is its branch from 'specflow new' on: before any work, its diff is its own folder
    [first] = run_json(cli, "-C", root, "diff", CHANGE, "--json")
    assert (first["repo"], first["branch_exists"], first["base"], first["worktree"]) == ("proj", True, "main", str(wt))
    folder = f"openspec/changes/{CHANGE}"
    assert [f["path"] for f in first["files"]] == [
        f"{folder}/.openspec.yaml",
        f"{folder}/.specflow/history.jsonl",
        f"{folder}/.specflow/state.json",
        f"{folder}/proposal.md",
        f"{folder}/tasks.md",
    ]
    branches.land(ws)  # published, as at approval: from here on the diff is the work
    (wt / "src" / "login.py").write_text("def login(): ...\n")
    (wt / "src" / "app.py").write_text("print('login')\n")
    (wt / "logo.bin").write_bytes(b"\x00\x01\x02")
    git(wt, "mv", "README.md", "docs.md")
    commit_all(wt, "login work")
    (wt / "docs.md").write_text("readme\nmore\n")  # uncommitted work counts too
    files = [
        {"path": "docs.md", "old_path": "README.md", "added": 1, "deleted": 0},
        {"path": "logo.bin", "old_path": None, "added": None, "deleted": None},
        {"path": "src/app.py", "old_path": None, "added": 1, "deleted": 1},
        {"path": "src/login.py", "old_path": None, "added": 1, "deleted": 0},
    ]
    [data] = run_json(cli, "-C", root, "diff", CHANGE, "--repo", "proj", "--json")
    patch = data.pop("patch")
    assert data == {
        "repo": "proj",
        "branch": "specflow/add-login",
        "branch_exists": True,
        "base": "main",
        "worktree": str(wt),
        "files": files,
    }
    _, text, _ = cli("-C", root, "diff", CHANGE)
    assert text == f"== proj: specflow/add-login against main ({wt})\n{patch}"
    assert "rename from README.md\nrename to docs.md\n" in patch and "+def login(): ...\n" in patch
    assert run_json(cli, "-C", root, "diff", CHANGE, "--stat", "--json") == [{**data, "files": files}]
    code, out, err = cli("-C", root, "diff", CHANGE, "--repo", "web", "--json")
    assert (code, err) == (1, "")
    assert json.loads(out)["error"] == "repo 'web' is not affected by change 'add-login' (affected: proj)"


def test_clean_json_lists_each_worktree_removed_and_the_branch_kept(tmp_path: Path, cli: Any) -> None:
    root, ws = make_single_hub(tmp_path)
    wt = ws.ensure_worktrees()["proj"]
    code, out, err = cli("-C", root, "clean", CHANGE, "--json")
    assert (code, err) == (1, "") and "is not archived (state propose)" in json.loads(out)["error"]
    # in a single-repo project the change's one worktree is its hub worktree: clean lists it too
    # archive the change by hand in its hub worktree, as the archive action does, and commit it
    archive = wt / "openspec" / "changes" / "archive" / f"2025-01-01-{CHANGE}"
    archive.parent.mkdir(parents=True)
    (wt / "openspec" / "changes" / CHANGE).rename(archive)
    commit_all(wt, "archive")
    branches.land(ws)  # as reaching the final state does: the archived change is on main
    (wt / "README.md").write_text("uncommitted\n")
    code, out, err = cli("-C", root, "clean", CHANGE, "--json")
    assert (code, err) == (1, "") and "has 1 uncommitted change(s): README.md" in json.loads(out)["error"]
    assert wt.is_dir()
    assert run_json(cli, "-C", root, "clean", CHANGE, "--force", "--json") == {
        "change": CHANGE,
        "branch": "specflow/add-login",
        "worktrees": [{"repo": "proj", "path": str(wt), "removed": True}],
    }
    assert not wt.exists()
    assert git(root, "branch", "--list", "specflow/add-login").strip() == "specflow/add-login"
    assert run_json(cli, "-C", root, "clean", CHANGE, "--json") == {
        "change": CHANGE,
        "branch": "specflow/add-login",
        "worktrees": [],
    }
    assert not wt.exists()  # a second clean finds nothing to remove, and makes nothing
