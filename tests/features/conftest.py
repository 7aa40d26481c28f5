"""The steps every feature shares, each with one meaning everywhere, and the world they pass along.

Each area's first ``Given`` builds the :class:`~tests.features.world.World` with ``make_world``
and hands it on with ``target_fixture="world"``; the steps below read and extend it.  Quoted
values are written ``{name:Q}`` (see ``phrase``), so a step never matches more than its own words.

- ``When I run "specflow …"``: the command line as a user types it, run in the world's hub;
  it only records the result.
- ``When I advance "…"`` / ``… to "…"``: an advance that must succeed;
  ``When I try to advance …``: the same, only recorded, for a ``Then`` to judge.
- ``Then the command succeeds`` / ``fails with exit code N`` / ``the error says`` /
  ``the output says``: about the last command; a failure never shows a traceback.
- ``the change "…" is in state "…"``: as a ``Given`` it brings the change there; as a ``Then``
  it checks the recorded state, with no phase left in flight.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, then, when

from tests.features.world import GO_AHEAD, BackgroundRun, CliRunner, World, phrase


@pytest.fixture
def ctl(tmp_path: Path) -> Iterator[Path]:
    """The scripted agent's control folder; at teardown any agent still waiting gets the go-ahead."""
    folder = tmp_path / "agentctl"
    folder.mkdir()
    yield folder
    (folder / GO_AHEAD).write_text("teardown\n")


@pytest.fixture
def make_world(cli: CliRunner, ctl: Path) -> Iterator[Callable[[Path], World]]:
    """Build the scenario's world around a folder; background commands still running are stopped at teardown."""
    runs: list[BackgroundRun] = []
    yield lambda root: World(root=root, cli=cli, ctl=ctl, runs=runs)
    for run in runs:
        if not run.finished:
            run.proc.kill()
        run.finish()


# -- givens ---------------------------------------------------------------------------------------


@given(phrase("a change {cid:Q}"))
def a_change(world: World, cid: str) -> None:
    world.run_ok("new", cid)


@given(phrase("the change {cid:Q} is in state {state:Q}"))
def change_brought_to(world: World, cid: str, state: str) -> None:
    if world.state(cid)["state"] != state:
        world.run_ok("advance", cid, "--to", state)
    assert world.state(cid)["state"] == state


# -- whens ----------------------------------------------------------------------------------------


@when(phrase("I run {command:Q}"))
def run_command(world: World, command: str) -> None:
    program, *args = shlex.split(command)
    assert program == "specflow", f"a feature runs specflow command lines; found {command!r}"
    world.run(*args)


@when(phrase("I advance {cid:Q}"))
def advance(world: World, cid: str) -> None:
    world.run_ok("advance", cid)


@when(phrase("I advance {cid:Q} to {state:Q}"))
def advance_to(world: World, cid: str, state: str) -> None:
    world.run_ok("advance", cid, "--to", state)


@when(phrase("I try to advance {cid:Q}"))
def try_advance(world: World, cid: str) -> None:
    world.run("advance", cid)


@when(phrase("I try to advance {cid:Q} to {state:Q}"))
def try_advance_to(world: World, cid: str, state: str) -> None:
    world.run("advance", cid, "--to", state)


# -- thens ----------------------------------------------------------------------------------------


@then("the command succeeds")
def succeeds(world: World) -> None:
    assert world.last.code == 0, world.last


@then(phrase("the command fails with exit code {code:d}"))
def fails_with(world: World, code: int) -> None:
    assert world.last.code == code, world.last
    assert "Traceback" not in world.last.err, world.last


@then(phrase("the error says {text:Q}"))
def error_says(world: World, text: str) -> None:
    assert world.last.code != 0, world.last
    assert text in world.last.err, world.last
    assert "Traceback" not in world.last.err, world.last


@then(phrase("the output says {text:Q}"))
def output_says(world: World, text: str) -> None:
    assert text in world.last.out, world.last


@then(phrase("the change {cid:Q} is in state {state:Q}"))
def in_state(world: World, cid: str, state: str) -> None:
    record = world.state(cid)
    assert (record["state"], record.get("in_flight")) == (state, None), record


@then(phrase("the change {cid:Q} is in state {state:Q} of workflow {workflow:Q}"))
def in_state_of(world: World, cid: str, state: str, workflow: str) -> None:
    record = world.state(cid)
    assert (record["state"], record["workflow"], record.get("in_flight")) == (state, workflow, None), record


@then(phrase("the file {name:Q} of {cid:Q} contains {text:Q}"))
def file_contains(world: World, name: str, cid: str, text: str) -> None:
    assert text in (world.change_dir(cid) / name).read_text()


@then(phrase("the file {name:Q} of {cid:Q} says {text:Q}"))
def file_says(world: World, name: str, cid: str, text: str) -> None:
    assert (world.change_dir(cid) / name).read_text() == text


@then(phrase("the file {name:Q} of {cid:Q} does not exist"))
def file_missing(world: World, name: str, cid: str) -> None:
    assert not (world.change_dir(cid) / name).exists()
