"""Step definitions for doctor.feature and init.feature: real git repos, real symlinks, the real CLI."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from specflow.engine.hub import Hub
from tests.conftest import HubFixture, commit_all, init_repo

scenarios("doctor.feature", "init.feature")

CLI = Callable[..., tuple[int, str, str]]

AGENT = "import sys\nsys.stdin.read()\nprint('done')\n"


@pytest.fixture
def run() -> dict[str, Any]:
    """The last command's exit code and output."""
    return {}


def _set_config(hub: HubFixture, old: str, new: str) -> None:
    config = hub.root / "specflow.yaml"
    text = config.read_text(encoding="utf-8")
    assert old in text, text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- doctor ------------------------------------------------------------------------------------


@given(parsers.parse('a hub with the component repo "{name}"'))
def hub_with_repo(hub: HubFixture, name: str) -> None:
    repo = init_repo(hub.root.parent / name)
    (repo / "README.md").write_text(f"# {name}\n", encoding="utf-8")
    commit_all(repo, "first")
    with (hub.root / "specflow.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"repos:\n  {name}:\n    path: ../{name}\n")


@given("a scripted agent as the default agent")
def scripted_default(hub: HubFixture) -> None:
    hub.agent("scripted", AGENT)


@given(parsers.parse('the repo "{name}" is configured at "{path}"'))
def repo_at(hub: HubFixture, name: str, path: str) -> None:
    _set_config(hub, "repos:\n", f"repos:\n  {name}:\n    path: {path}\n")


@given(parsers.parse('the base branch of "{name}" is configured as "{branch}"'))
def base_branch(hub: HubFixture, name: str, branch: str) -> None:
    _set_config(hub, f"    path: ../{name}\n", f"    path: ../{name}\n    base: {branch}\n")


@given(parsers.parse('the default agent runs the program "{program}"'))
def agent_program(hub: HubFixture, program: str) -> None:
    _set_config(hub, f"command: [{sys.executable!r}, ", f"command: [{program!r}, ")


@when("I run doctor")
def run_doctor(hub: HubFixture, cli: CLI, run: dict[str, Any]) -> None:
    run["code"], run["out"], run["err"] = cli("-C", hub.root, "doctor")


@when(parsers.parse('I run doctor with "{flag}"'))
def run_doctor_with(hub: HubFixture, cli: CLI, run: dict[str, Any], flag: str) -> None:
    run["code"], run["out"], run["err"] = cli("-C", hub.root, "doctor", flag)


def _line_of(run: dict[str, Any], name: str) -> tuple[str, list[str]]:
    """The line doctor printed for check ``name``, and the lines after it."""
    lines = run["out"].splitlines()
    for i, line in enumerate(lines):
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].startswith(name + "  "):
            return line, lines[i + 1 :]
    raise AssertionError(f"no check {name!r} in:\n{run['out']}")


@then(parsers.parse('doctor fails "{name}" saying "{text}"'))
def doctor_fails(run: dict[str, Any], name: str, text: str) -> None:
    line, _ = _line_of(run, name)
    assert line.startswith("FAIL") and text in line, line


@then(parsers.parse('the fix for "{name}" says "{text}"'))
def fix_says(run: dict[str, Any], name: str, text: str) -> None:
    _, after = _line_of(run, name)
    assert after and after[0].strip().startswith("fix:") and text in after[0], after[:1]


@then(parsers.parse('doctor reports "{name}" as ok'))
def doctor_ok(run: dict[str, Any], name: str) -> None:
    line, _ = _line_of(run, name)
    assert line.startswith("ok "), line


@then(parsers.parse('the JSON lists "{name}" as "{status}" with a fix'))
def json_lists(run: dict[str, Any], name: str, status: str) -> None:
    data = json.loads(run["out"])
    assert data["ok"] is False
    found = [c for c in data["checks"] if c["name"] == name]
    assert len(found) == 1 and found[0]["status"] == status and found[0]["fix"], found


# -- init --------------------------------------------------------------------------------------


@pytest.fixture
def place(tmp_path: Path) -> Path:
    return tmp_path / "place"


@given(parsers.parse('a git repo "{hub}" beside the component repos "{a}" and "{b}"'))
def repos_side_by_side(place: Path, hub: str, a: str, b: str) -> None:
    for name in (hub, a, b):
        init_repo(place / name)
    (place / hub / "openspec").mkdir()


@given(parsers.parse('"{a}" and "{b}" each hold an "openspec" link to the hub\'s openspec folder'))
def linked(place: Path, a: str, b: str) -> None:
    for name in (a, b):
        os.symlink("../hub/openspec", place / name / "openspec")


@given(parsers.parse('a sibling folder "{name}" that is not a git repo links to the hub too'))
def not_a_repo(place: Path, name: str) -> None:
    (place / name).mkdir(parents=True)
    os.symlink("../hub/openspec", place / name / "openspec")


@given(parsers.parse('the hub already has a specflow.yaml saying "{text}"'))
def existing_config(place: Path, text: str) -> None:
    (place / "hub" / "specflow.yaml").write_text(text + "\n", encoding="utf-8")


@when(parsers.parse('I run init in "{folder}"'))
def run_init(place: Path, cli: CLI, run: dict[str, Any], folder: str) -> None:
    run["code"], run["out"], run["err"] = cli("init", place / folder)


@when(parsers.parse('I run init in "{folder}" with "{flag}"'))
def run_init_with(place: Path, cli: CLI, run: dict[str, Any], folder: str, flag: str) -> None:
    run["code"], run["out"], run["err"] = cli("init", place / folder, flag)


@then(parsers.parse('the output lists "{a}" at "{pa}" and "{b}" at "{pb}"'))
def output_lists(run: dict[str, Any], a: str, pa: str, b: str, pb: str) -> None:
    listed = [line.split() for line in run["out"].splitlines() if line.startswith("  ")]
    assert [a, pa] in listed and [b, pb] in listed, run["out"]


def _config(place: Path) -> str:
    return (place / "hub" / "specflow.yaml").read_text(encoding="utf-8")


def _repos(place: Path) -> dict[str, Any]:
    from specflow.definitions.config import load_config

    return {name: rc.path for name, rc in load_config(place / "hub", cache=False).repos.items()}


@then("specflow.yaml has no repos")
def no_repos(place: Path) -> None:
    assert _repos(place) == {}
    assert "#   api:\n#     path: ../api" in _config(place)


@then(parsers.parse('specflow.yaml lists the repo "{name}" at "{path}"'))
def lists_repo(place: Path, name: str, path: str) -> None:
    assert _repos(place)[name] == path


@then(parsers.parse('specflow.yaml does not list "{name}"'))
def does_not_list(place: Path, name: str) -> None:
    assert name not in _repos(place) and name not in _config(place)


@then(parsers.parse('specflow.yaml explains "{key}"'))
def explains(place: Path, key: str) -> None:
    lines = _config(place).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"# {key}"))
    assert lines[at - 1].startswith("#") and "worktree" in " ".join(lines[at - 3 : at])


@then(parsers.parse('specflow.yaml still says "{text}"'))
def still_says(place: Path, text: str) -> None:
    assert _config(place) == text + "\n"


BUILD_WORKFLOW = """\
workflow: build
version: 1
initial: draft
states:
  draft: {}
  build:
    prompt: build.md.j2
    workspace:
      worktrees: true
  done:
    final: true
scenarios:
  - scenario: Build in the repos
    given: [the change exists]
    when: advance
    from: draft
    to: build
  - scenario: Finish
    when: advance
    from: build
    to: done
"""

MARKING_AGENT = "import pathlib, sys\nsys.stdin.read()\npathlib.Path(sys.argv[1]).write_text('ran')\n"


@given(
    parsers.parse('a change "{change_id}" affecting "{repo}" whose next phase works in the repos\' worktrees'),
    target_fixture="marker",
)
def change_in_worktrees(hub: HubFixture, change_id: str, repo: str) -> Path:
    marker = hub.root.parent / "agent-ran"
    script = hub.write("agents/marking.py", MARKING_AGENT)
    with (hub.root / "specflow.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            f"  marking:\n    adapter: command\n    command: [{sys.executable!r}, {str(script)!r}, {str(marker)!r}]\n"
        )
    _set_config(hub, "default_agent: scripted\n", "default_agent: marking\n")
    hub.write("openspec/workflows/build.yaml", BUILD_WORKFLOW)
    hub.write("openspec/templates/build.md.j2", "Build {{ change.id }}.\n")
    hub.commit("build workflow")
    Hub.open(hub.root).new_change(change_id, workflow="build", repos=[repo])
    return marker


@when(parsers.parse('I advance "{change_id}"'))
def advance(hub: HubFixture, cli: CLI, run: dict[str, Any], change_id: str) -> None:
    run["code"], run["out"], run["err"] = cli("-C", hub.root, "advance", change_id)


@then(parsers.parse('the error says "{text}"'))
def error_says(run: dict[str, Any], text: str) -> None:
    assert text in run["err"], run["err"]


@then(parsers.parse('the error\'s fix says "{text}"'))
def error_fix_says(run: dict[str, Any], text: str) -> None:
    fixes = [line for line in run["err"].splitlines() if line.strip().startswith("fix:")]
    assert any(text in line for line in fixes), run["err"]


@then("the agent never ran")
def agent_never_ran(marker: Path) -> None:
    assert not marker.exists()


@then(parsers.parse('the history of "{change_id}" records no attempt and the change is still in "{state}"'))
def no_attempt(hub: HubFixture, change_id: str, state: str) -> None:
    change = Hub.open(hub.root).change(change_id)
    assert [ev.get("outcome") for ev in change.history()] == ["created"]
    record = change.require_record()
    assert record["state"] == state and not record.get("in_flight") and not record.get("last_failure")


# -- shared ------------------------------------------------------------------------------------


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails_with(run: dict[str, Any], code: int) -> None:
    assert run["code"] == code, (run["out"], run["err"])
    assert "Traceback" not in run["err"]


@then("the command succeeds")
def succeeds(run: dict[str, Any]) -> None:
    assert run["code"] == 0, (run["out"], run["err"])


@then(parsers.parse('the output says "{text}"'))
def output_says(run: dict[str, Any], text: str) -> None:
    assert text in run["out"], run["out"]
