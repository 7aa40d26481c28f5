"""Steps of lifecycle.feature: the mini workflow, a scripted command agent, the real CLI.

The shared steps (running commands, their results, a change's state) are in
``tests/features/conftest.py``; runs that must overlap are held by the agent until the test has
seen them all working (``WAIT_FOR_GO_AHEAD``), never timed with sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

from pytest_bdd import given, scenarios, then, when

from specflow.changestate.lock import lock_dir
from tests.conftest import HubFixture, wait_until
from tests.features.world import WAIT_FOR_GO_AHEAD, World, phrase

scenarios("lifecycle.feature")

AGENT = (
    r"""
import os, sys, time, pathlib
prompt = sys.stdin.read()
ctl = pathlib.Path(os.environ["AGENT_CTL"])
change = os.environ["SPECFLOW_CHANGE"]
phase = os.environ["SPECFLOW_PHASE"]
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
(ctl / f"prompt-{phase}.txt").write_text(prompt)
"""
    + WAIT_FOR_GO_AHEAD
    + r"""
print(f"working on {phase}", file=sys.stderr, flush=True)
if phase == "think":
    print(f"notes about {change}: the login form needs a rate limit")
elif phase == "write":
    body = "## What Changes\n- add login\n" if (ctl / "no_why").exists() else "## Why\nUsers must log in.\n"
    (hub / "openspec" / "changes" / change / "proposal.md").write_text(body)
    print("wrote the proposal")
"""
)


@given("a hub with the mini workflow and a scripted agent", target_fixture="world")
def scripted_hub(hub: HubFixture, make_world: Callable[[Path], World]) -> World:
    world = make_world(hub.root)
    hub.agent("scripted", AGENT)
    with (hub.root / "specflow.yaml").open("a") as fh:
        fh.write(f"    env:\n      AGENT_CTL: {str(world.ctl)!r}\n")
    hub.commit("agent")
    return world


@given('the agent forgets the "Why" section')
def forgets(world: World) -> None:
    (world.ctl / "no_why").write_text("1")


@given('the agent remembers the "Why" section')
def remembers(world: World) -> None:
    (world.ctl / "no_why").unlink()


@given("the agent waits for my go-ahead")
def agent_waits(world: World) -> None:
    (world.ctl / "wait").write_text("1")


@given(phrase("a step module {module:Q} defining {text:Q}"))
def step_module(hub: HubFixture, module: str, text: str) -> None:
    hub.write(
        f"{module}.py",
        f"""
        from specflow import StepResult, step


        @step({text!r})
        def ticket_linked(ctx):
            ok = (ctx.hub / "TICKET").is_file()  # the hub's own checkout, where a person adds it
            return StepResult.check(ok, "no TICKET file in the hub")
        """,
    )
    with (hub.root / "specflow.yaml").open("a") as fh:
        fh.write(f"steps: [{module}]\n")


@given(phrase("the mini workflow requires {text:Q} before thinking"))
def require_step(world: World, text: str) -> None:
    wf = world.root / "openspec" / "workflows" / "mini.yaml"
    wf.write_text(wf.read_text().replace("given: [the change exists]", f"given: [the change exists, {text}]"))


@given(phrase("the state file of {cid:Q} says its state is the number 3"))
def state_a_number(world: World, cid: str) -> None:
    (world.change_dir(cid) / ".specflow" / "state.json").write_text('{"state": 3}\n')


@given(phrase("a history line of {cid:Q} has a number for its time"))
def history_time_a_number(world: World, cid: str) -> None:
    with (world.change_dir(cid) / ".specflow" / "history.jsonl").open("a") as fh:
        fh.write('{"time": 1}\n')


@given("the hub has a TICKET file")
def ticket(world: World) -> None:
    (world.root / "TICKET").write_text("JIRA-1\n")


@given(phrase("an advance of {cid:Q} was killed mid-phase"))
def killed(world: World, cid: str) -> None:
    agent_waits(world)
    run = world.start("advance", cid)
    working = world.ctl / f"working-{cid}"
    wait_until(lambda: working.exists() or run.finished, "the advance to reach its agent")
    assert not run.finished, run.finish()
    assert world.state(cid)["in_flight"], world.state(cid)
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # specflow's death normally ends the agent already
        os.killpg(int(working.read_text()), signal.SIGKILL)
    for name in ("wait", f"working-{cid}"):
        (world.ctl / name).unlink()


@then(phrase("the private temporary folder of the agent killed in {cid:Q} is left behind"))
def agent_tmpdir_left(world: World, cid: str) -> None:
    flight = world.state(cid)["in_flight"]
    tmpdir = Path(flight["agent_tree"]["tmpdir"])
    assert tmpdir.is_dir(), flight  # nothing ran the clean-up of the killed run
    (tmpdir / "scratch.txt").write_text("what the agent left\n")
    world.before["agent tmpdir"] = tmpdir


@then("the killed agent's private temporary folder is gone")
def agent_tmpdir_gone(world: World) -> None:
    tmpdir = world.before["agent tmpdir"]
    assert not os.path.lexists(tmpdir), sorted(p.name for p in tmpdir.iterdir())


@when(phrase("I approve {cid:Q}"))
def approve(world: World, cid: str) -> None:
    result = world.run_ok("approve", cid, "--by", "ana")
    assert f"approved '{cid}' in state write by ana" in result.out, result


@when(phrase("the proposal of {cid:Q} is edited"))
def edit_proposal(world: World, cid: str) -> None:
    p = world.change_dir(cid) / "proposal.md"
    p.write_text(p.read_text() + "\nOne more thing.\n")


@when(phrase("I fire the trigger {name:Q} on {cid:Q}"))
def fire(world: World, name: str, cid: str) -> None:
    world.run_ok("trigger", cid, name)


@when(phrase("two advances of {cid:Q} start together"))
def two_advances(world: World, cid: str) -> None:
    world.start("advance", cid)
    world.start("advance", cid)


@when(phrase("{a:Q} and {b:Q} advance together"))
def parallel(world: World, a: str, b: str) -> None:
    world.start("advance", a)
    world.start("advance", b)


@when("I give the agent the go-ahead")
def go_ahead(world: World) -> None:
    world.give_go_ahead()


@then("one of them is refused as locked while the other's agent works")
def one_locked(world: World) -> None:
    wait_until(lambda: any(run.finished for run in world.runs), "one of the two advances to end")
    ended = [run for run in world.runs if run.finished]
    assert len(ended) == 1, "both advances ended while the agent was held:\n" + "\n".join(
        str(r.finish()) for r in ended
    )
    (holder,) = (run for run in world.runs if run is not ended[0])
    refused = ended[0].finish()
    assert refused.code == 1, refused
    cid = refused.args[-1]
    assert f"change '{cid}' is locked by pid" in refused.err, refused
    working = world.ctl / f"working-{cid}"
    wait_until(lambda: working.exists() or holder.finished, "the other advance's agent to start")
    assert not holder.finished, holder.finish()


@when(phrase("an advance of {cid:Q} has its agent working"))
def advance_working(world: World, cid: str) -> None:
    run = world.start("advance", cid)
    working = world.ctl / f"working-{cid}"
    wait_until(lambda: working.exists() or run.finished, "the advance's agent to start")
    assert not run.finished, run.finish()


@when(phrase("someone deletes the lock file of {cid:Q}"))
def delete_lock_file(world: World, cid: str) -> None:
    lock = lock_dir(world.root) / f"{cid}.lock"
    assert lock.is_file(), f"no lock file at {lock}"
    lock.unlink()


@then(phrase("another advance of {cid:Q} is refused as locked"))
def another_refused(world: World, cid: str) -> None:
    refused = world.run("advance", cid)
    assert refused.code == 1, refused
    assert f"change '{cid}' is locked by pid {world.runs[0].proc.pid}" in refused.err, refused


@then("the advance that held the lock succeeds")
def holder_succeeds(world: World) -> None:
    (result,) = [run.finish() for run in world.runs]
    assert result.code == 0, result


@then("the other advance succeeds")
def other_succeeds(world: World) -> None:
    results = [run.finish() for run in world.runs]
    assert sorted(r.code for r in results) == [0, 1], "\n".join(map(str, results))


@then("both agents are working at the same time")
def both_working(world: World) -> None:
    agents = [world.ctl / f"working-{cid}" for cid in ("add-login", "add-logout")]
    wait_until(lambda: all(a.exists() for a in agents) or any(r.finished for r in world.runs), "both agents")
    ended = [run.finish() for run in world.runs if run.finished]
    assert not ended, "an advance ended before both agents were working:\n" + "\n".join(map(str, ended))


@then("both advances succeed")
def both_succeed(world: World) -> None:
    results = [run.finish() for run in world.runs]
    assert [r.code for r in results] == [0, 0], "\n".join(map(str, results))


@then(phrase("the history of {cid:Q} records the outcomes {outcomes:Q}"))
def history_outcomes(world: World, cid: str, outcomes: str) -> None:
    events = world.history(cid)
    assert [e["outcome"] for e in events] == [o.strip() for o in outcomes.split(",")]
    for e in events:
        if e["outcome"] == "succeeded" and e["to"] in ("think", "write"):
            assert len(e["prompt_sha256"]) == 64
            assert e["agent"]["name"] == "scripted" and e["agent"]["status"] == "success"
            assert isinstance(e["duration_s"], float)
            assert e["checkpoint"]["number"] >= 1


@then(phrase("the last prompt said {text:Q}"))
def last_prompt(world: World, text: str) -> None:
    assert text in (world.ctl / "prompt-write.txt").read_text()


@then(phrase("the status of {cid:Q} is {status:Q}"))
def status_is(world: World, cid: str, status: str) -> None:
    result = world.run_ok("status", cid, "--json")
    assert json.loads(result.out)["status"] == status, result
