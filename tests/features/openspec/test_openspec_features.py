"""Step definitions for the OpenSpec features: real trees in tmp_path, the CLI run in-process."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import commit_all, init_repo
from tests.unit.openspec.ostree import AUTH_SPEC, Tree, req

scenarios("validate.feature", "show.feature", "archive.feature", "adopt.feature", "overlap.feature")

GUARDED = """\
workflow: guarded
version: 1
description: Get ready only when no other open change overlaps.
initial: draft
states:
  draft: {}
  ready:
    final: true
scenarios:
  - scenario: Ready only alone
    given: [no other open change touches the same requirements]
    when: advance
    from: draft
    to: ready
    then: [the change passes validation]
"""


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {}


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        if "/.git" in dirpath:
            continue
        for n in names:
            p = Path(dirpath, n)
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@given(parsers.parse('an OpenSpec project with the "{cap}" spec'), target_fixture="project")
def project(tmp_path: Path, cap: str, ctx: dict[str, Any]) -> Tree:
    t = Tree(tmp_path / "project")
    (t.root / "openspec" / "changes" / "archive").mkdir(parents=True)
    t.spec(cap, AUTH_SPEC.replace("auth", cap))
    return t


@given(
    parsers.parse('a git hub with the "{cap}" spec and a workflow guarded by the overlap step'),
    target_fixture="project",
)
def guarded_hub(tmp_path: Path, cap: str) -> Tree:
    root = init_repo(tmp_path / "hub")
    t = Tree(root)
    (root / "openspec" / "changes" / "archive").mkdir(parents=True)
    t.spec(cap, AUTH_SPEC.replace("auth", cap))
    t.write("openspec/workflows/guarded.yaml", GUARDED, dedent=False)
    commit_all(root, "hub")
    return t


@given(parsers.parse('a change "{cid}" that adds the requirement "{name}" to "{cap}"'))
def change_adds(project: Tree, cid: str, name: str, cap: str) -> None:
    delta = "## ADDED Requirements\n" + req(name, f"The system SHALL support {name.lower()}.")
    project.change(cid, {cap: delta}, tasks="- [ ] 1.1 Build it\n")


@given(parsers.parse('a change "{cid}" that adds the requirement "{name}" to "{cap}" without a keyword'))
def change_adds_soft(project: Tree, cid: str, name: str, cap: str) -> None:
    project.change(cid, {cap: "## ADDED Requirements\n" + req(name, "It asks nicely.")})


@given(parsers.parse('a change "{cid}" that modifies the missing requirement "{name}" in "{cap}"'))
def change_modifies_missing(project: Tree, cid: str, name: str, cap: str, ctx: dict[str, Any]) -> None:
    project.change(cid, {cap: "## MODIFIED Requirements\n" + req(name, "The system SHALL haunt.")})
    ctx["before"] = _snapshot(project.root)


@given(parsers.parse('the spec "{cap}" has no Purpose section'))
def spec_without_purpose(project: Tree, cap: str) -> None:
    project.spec(cap, f"# {cap}\n\n## Requirements\n" + req("Old", "The system SHALL be old."))


@given(parsers.parse('a change "{cid}" with only exploration notes'))
def change_notes(project: Tree, cid: str) -> None:
    project.change(cid, meta=None, proposal=False, tasks=None)
    project.write(f"openspec/changes/{cid}/exploration.md", "Notes.\n")


@given(parsers.parse('the tasks of "{cid}" are all done'))
def tasks_done(project: Tree, cid: str) -> None:
    project.write(f"openspec/changes/{cid}/tasks.md", "- [x] 1.1 Build it\n")


@given(parsers.parse('the change "{cid}" is adopted under the "{workflow}" workflow'))
def adopted(project: Tree, cid: str, workflow: str, cli: Callable[..., tuple[int, str, str]]) -> None:
    code, _, err = cli("-C", project.root, "adopt", cid, "--workflow", workflow)
    assert code == 0, err


@given(parsers.parse('a change "{cid}" that modifies "{name}" in "{cap}", adopted under the guarded workflow'))
def guarded_modify(project: Tree, cid: str, name: str, cap: str, cli: Callable[..., tuple[int, str, str]]) -> None:
    delta = "## MODIFIED Requirements\n" + req(name, "The system SHALL log in safely.", "Valid credentials")
    project.change(cid, {cap: delta})
    code, _, err = cli("-C", project.root, "adopt", cid, "--workflow", "guarded")
    assert code == 0, err
    commit_all(project.root, cid)


@given(parsers.parse('a change "{cid}" that removes "{name}" from "{cap}", adopted under the guarded workflow'))
def guarded_remove(project: Tree, cid: str, name: str, cap: str, cli: Callable[..., tuple[int, str, str]]) -> None:
    project.change(cid, {cap: f"## REMOVED Requirements\n### Requirement: {name}\n"})
    code, _, err = cli("-C", project.root, "adopt", cid, "--workflow", "guarded")
    assert code == 0, err
    commit_all(project.root, cid)


@when(parsers.parse('I run "{command}"'))
def run(project: Tree, command: str, cli: Callable[..., tuple[int, str, str]], ctx: dict[str, Any]) -> None:
    ctx["result"] = cli("-C", project.root, *shlex.split(command))


@then("the command succeeds")
def succeeds(ctx: dict[str, Any]) -> None:
    code, out, err = ctx["result"]
    assert code == 0, (out, err)


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails(ctx: dict[str, Any], code: int) -> None:
    assert ctx["result"][0] == code, ctx["result"]


@then(parsers.parse('the output says "{text}"'))
def output_says(ctx: dict[str, Any], text: str) -> None:
    assert text in ctx["result"][1]


@then(parsers.parse('the error says "{text}"'))
def error_says(ctx: dict[str, Any], text: str) -> None:
    assert text.replace('\\"', '"') in ctx["result"][2], ctx["result"][2]


@then(parsers.parse('the JSON report lists "{change}" as a valid change and "{spec}" as a valid spec'))
def json_report(ctx: dict[str, Any], change: str, spec: str) -> None:
    doc = json.loads(ctx["result"][1])
    assert doc["version"] == "1.0"
    items = {(i["type"], i["id"]): i["valid"] for i in doc["items"]}
    assert items == {("change", change): True, ("spec", spec): True}


@then(parsers.parse('the JSON document shows the change "{cid}" with {count:d} delta and no specflow state'))
def json_shows_change(ctx: dict[str, Any], cid: str, count: int) -> None:
    doc = json.loads(ctx["result"][1])
    assert (doc["id"], doc["deltaCount"], doc["specflow"]) == (cid, count, None)


@then(parsers.parse('the output is OpenSpec\'s "{code}" status saying "{message}"'))
def status_document(ctx: dict[str, Any], code: str, message: str) -> None:
    entry = {"severity": "error", "code": code, "message": message}
    assert json.loads(ctx["result"][1]) == {"status": [entry]}


@then("nothing is printed on the error stream")
def no_stderr(ctx: dict[str, Any]) -> None:
    assert ctx["result"][2] == ""


@then(parsers.parse('the spec "{cap}" has the requirements "{names}"'))
def spec_has(project: Tree, cap: str, names: str) -> None:
    text = project.read(f"openspec/specs/{cap}/spec.md")
    found = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("### Requirement: ")]
    assert found == [n.strip() for n in names.split(",")]


@then(parsers.parse('the change "{cid}" is archived under today\'s date'))
def archived_today(project: Tree, cid: str) -> None:
    assert not (project.root / "openspec" / "changes" / cid).exists()
    assert (project.root / "openspec" / "changes" / "archive" / f"{date.today().isoformat()}-{cid}").is_dir()


@then("the project is unchanged")
def unchanged(project: Tree, ctx: dict[str, Any]) -> None:
    assert _snapshot(project.root) == ctx["before"]


@then(parsers.parse('the change "{cid}" is in state "{state}" of workflow "{workflow}"'))
def in_state(project: Tree, cid: str, state: str, workflow: str) -> None:
    record = json.loads((project.root / "openspec" / "changes" / cid / ".specflow" / "state.json").read_text())
    assert (record["state"], record["workflow"]) == (state, workflow)


@then(parsers.parse('the history of "{cid}" records an adoption into "{state}"'))
def history_adoption(project: Tree, cid: str, state: str) -> None:
    lines = (project.root / "openspec" / "changes" / cid / ".specflow" / "history.jsonl").read_text().splitlines()
    event = json.loads(lines[-1])
    assert (event["trigger"], event["from"], event["to"], event["outcome"]) == ("adopt", None, state, "adopted")
