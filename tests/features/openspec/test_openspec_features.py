"""Steps of the OpenSpec features: real trees in tmp_path, the CLI run in-process.

The shared steps (running commands, their results, a change's state) are in
``tests/features/conftest.py``; these build OpenSpec trees and read the specs they leave.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pytest_bdd import given, scenarios, then

from tests.conftest import commit_all, init_repo
from tests.features.world import World, phrase
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


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        if "/.git" in dirpath:
            continue
        for n in names:
            p = Path(dirpath, n)
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@given(phrase("an OpenSpec project with the {cap:Q} spec"), target_fixture="world")
def project(tmp_path: Path, cap: str, make_world: Callable[[Path], World]) -> World:
    t = Tree(tmp_path / "project")
    (t.root / "openspec" / "changes" / "archive").mkdir(parents=True)
    t.spec(cap, AUTH_SPEC.replace("auth", cap))
    return make_world(t.root)


@given(phrase("a git hub with the {cap:Q} spec and a workflow guarded by the overlap step"), target_fixture="world")
def guarded_hub(tmp_path: Path, cap: str, make_world: Callable[[Path], World]) -> World:
    root = init_repo(tmp_path / "hub")
    t = Tree(root)
    (root / "openspec" / "changes" / "archive").mkdir(parents=True)
    t.spec(cap, AUTH_SPEC.replace("auth", cap))
    t.write("openspec/workflows/guarded.yaml", GUARDED, dedent=False)
    commit_all(root, "hub")
    return make_world(root)


@given(phrase("a change {cid:Q} that adds the requirement {name:Q} to {cap:Q}"))
def change_adds(world: World, cid: str, name: str, cap: str) -> None:
    delta = "## ADDED Requirements\n" + req(name, f"The system SHALL support {name.lower()}.")
    Tree(world.root).change(cid, {cap: delta}, tasks="- [ ] 1.1 Build it\n")


@given(phrase("a change {cid:Q} that adds the requirement {name:Q} to {cap:Q} without a keyword"))
def change_adds_soft(world: World, cid: str, name: str, cap: str) -> None:
    Tree(world.root).change(cid, {cap: "## ADDED Requirements\n" + req(name, "It asks nicely.")})


@given(phrase("a change {cid:Q} that modifies the missing requirement {name:Q} in {cap:Q}"))
def change_modifies_missing(world: World, cid: str, name: str, cap: str) -> None:
    Tree(world.root).change(cid, {cap: "## MODIFIED Requirements\n" + req(name, "The system SHALL haunt.")})
    world.before["project"] = _snapshot(world.root)


@given(phrase("the spec {cap:Q} has no Purpose section"))
def spec_without_purpose(world: World, cap: str) -> None:
    Tree(world.root).spec(cap, f"# {cap}\n\n## Requirements\n" + req("Old", "The system SHALL be old."))


@given(phrase("a change {cid:Q} with only exploration notes"))
def change_notes(world: World, cid: str) -> None:
    t = Tree(world.root)
    t.change(cid, meta=None, proposal=False, tasks=None)
    t.write(f"openspec/changes/{cid}/exploration.md", "Notes.\n")


@given(phrase("the tasks of {cid:Q} are all done"))
def tasks_done(world: World, cid: str) -> None:
    Tree(world.root).write(f"openspec/changes/{cid}/tasks.md", "- [x] 1.1 Build it\n")


@given(phrase("the change {cid:Q} is adopted under the {workflow:Q} workflow"))
def adopted(world: World, cid: str, workflow: str) -> None:
    world.run_ok("adopt", cid, "--workflow", workflow)


@given(phrase("a change {cid:Q} that modifies {name:Q} in {cap:Q}, adopted under the guarded workflow"))
def guarded_modify(world: World, cid: str, name: str, cap: str) -> None:
    delta = "## MODIFIED Requirements\n" + req(name, "The system SHALL log in safely.", "Valid credentials")
    Tree(world.root).change(cid, {cap: delta})
    world.run_ok("adopt", cid, "--workflow", "guarded")
    commit_all(world.root, cid)


@given(phrase("a change {cid:Q} that removes {name:Q} from {cap:Q}, adopted under the guarded workflow"))
def guarded_remove(world: World, cid: str, name: str, cap: str) -> None:
    Tree(world.root).change(cid, {cap: f"## REMOVED Requirements\n### Requirement: {name}\n"})
    world.run_ok("adopt", cid, "--workflow", "guarded")
    commit_all(world.root, cid)


@given("the project is a hub specflow has used, its files last changed a minute ago")
def used_hub(world: World) -> None:
    (world.root / ".specflow").mkdir(exist_ok=True)
    past = time.time_ns() - 60_000_000_000  # older than any write in the same clock tick
    for folder, dirs, files in os.walk(world.root / "openspec"):
        for name in [*dirs, *files]:
            os.utime(os.path.join(folder, name), ns=(past, past))


@given(phrase("the change {cid:Q} no longer says SHALL in {name:Q}"))
def change_loses_keyword(world: World, cid: str, name: str) -> None:
    Tree(world.root).write(
        f"openspec/changes/{cid}/specs/auth/spec.md", "## ADDED Requirements\n" + req(name, "Maybe.")
    )


@then(phrase("specflow remembers the results of {change:Q} and {spec:Q}"))
def remembered(world: World, change: str, spec: str) -> None:
    index = json.loads((world.root / ".specflow" / "cache" / "validate.json").read_text())
    assert set(index["entries"]) == {f"change:{change}", f"spec:{spec}"}


@then(phrase("the JSON report lists {change:Q} as a valid change and {spec:Q} as a valid spec"))
def json_report(world: World, change: str, spec: str) -> None:
    doc = json.loads(world.last.out)
    assert doc["version"] == "1.0"
    items = {(i["type"], i["id"]): i["valid"] for i in doc["items"]}
    assert items == {("change", change): True, ("spec", spec): True}


@then(phrase("the JSON document shows the change {cid:Q} with {count:d} delta and no specflow state"))
def json_shows_change(world: World, cid: str, count: int) -> None:
    doc = json.loads(world.last.out)
    assert (doc["id"], doc["deltaCount"], doc["specflow"]) == (cid, count, None)


@then(phrase("the output is OpenSpec's {code:Q} status saying {message:Q}"))
def status_document(world: World, code: str, message: str) -> None:
    entry = {"severity": "error", "code": code, "message": message}
    assert json.loads(world.last.out) == {"status": [entry]}


@then("nothing is printed on the error stream")
def no_stderr(world: World) -> None:
    assert world.last.err == ""


@then(phrase("the spec {cap:Q} has the requirements {names:Q}"))
def spec_has(world: World, cap: str, names: str) -> None:
    text = Tree(world.root).read(f"openspec/specs/{cap}/spec.md")
    found = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("### Requirement: ")]
    assert found == [n.strip() for n in names.split(",")]


@then(phrase("the change {cid:Q} is archived under today's date"))
def archived_today(world: World, cid: str) -> None:
    assert not world.change_dir(cid).exists()
    assert (world.root / "openspec" / "changes" / "archive" / f"{date.today().isoformat()}-{cid}").is_dir()


@then("the project is unchanged")
def unchanged(world: World) -> None:
    assert _snapshot(world.root) == world.before["project"]


@then(phrase("the history of {cid:Q} records an adoption into {state:Q}"))
def history_adoption(world: World, cid: str, state: str) -> None:
    event = world.history(cid)[-1]
    assert (event["trigger"], event["from"], event["to"], event["outcome"]) == ("adopt", None, state, "adopted")
