"""Step definitions for dashboard.feature: the example hub, the real server, headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright's Python package; no browser
is ever downloaded.  Under ``CI=true`` a missing browser or Playwright fails instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from specflow import Hub, PhaseFailed
from specflow.changestate.lock import ChangeLock
from specflow.changestate.machine_id import machine_name
from specflow.workspace.workspaces import for_change

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
WAIT_MS = 30_000

scenarios("dashboard.feature")


def _need_browser() -> Any:
    """Playwright's sync API, or a skip (a failure under CI) naming what is missing."""
    missing = None
    try:
        from playwright import sync_api
    except ImportError:
        missing = "the playwright package (pip install -e '.[test]')"
    if missing is None and not Path(CHROMIUM).is_file():
        missing = f"{CHROMIUM} (apt-get install -y chromium)"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}")
        pytest.skip(f"browser tests need {missing}")
    return sync_api


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = _need_browser()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def demo(tmp_path: Path) -> dict[str, Any]:
    return {"root": tmp_path / "example"}


@given(parsers.parse('the example hub with the change "{change_id}" across api and bot'))
def example_hub(demo: dict[str, Any], change_id: str) -> None:
    from specflow.demo.example_hub import REPOS, copy_example
    from specflow.demo.run import GOAL

    paths = copy_example(demo["root"])
    hub = Hub.open(paths["hub"])
    hub.new_change(change_id, workflow="openspec", goal=GOAL, repos=list(REPOS))
    demo["hub"] = hub


@pytest.fixture
def server(demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``specflow ui`` in a process of its own; the URL it prints."""
    state: dict[str, Any] = {}
    yield state
    proc = state.get("proc")
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=15)
    hub = demo.get("hub")
    if hub is not None:  # a phase started from the page outlives the server: let it end
        locks = [ChangeLock(hub.root, change.id) for change in hub.changes()]
        wait_for(lambda: all(lock.holder() is None for lock in locks))


@given("the dashboard is open in a browser", target_fixture="page")
def dashboard(demo: dict[str, Any], server: dict[str, Any], browser: Any) -> Iterator[Any]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(demo["hub"].root), "ui", "--port", "0", "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server["proc"] = proc
    assert proc.stdout is not None
    url = ""
    for _ in range(10):
        line = proc.stdout.readline()
        if "http://127.0.0.1:" in line:
            url = line.split("open ", 1)[1].strip()
            break
    assert url, "specflow ui printed no address"
    server["url"] = url
    server["base"] = url.split("/?token=")[0]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")  # a live page never goes network-idle
    page.wait_for_selector("#live.on", timeout=WAIT_MS)
    yield page
    context.close()


def card(page: Any, change_id: str) -> Any:
    return page.locator(f'article[data-change="{change_id}"]')


@then(parsers.parse('the board shows "{change_id}" in the "{lane}" lane'))
def board_lane(page: Any, server: dict[str, Any], change_id: str, lane: str) -> None:
    if "/changes/" in page.url:
        page.goto(server["base"] + "/", wait_until="domcontentloaded")
    page.locator(f'#lane-{lane} article[data-change="{change_id}"]').wait_for(timeout=WAIT_MS)


@when(parsers.parse('I open the page of "{change_id}"'))
def open_change(page: Any, server: dict[str, Any], change_id: str) -> None:
    page.goto(f"{server['base']}/changes/{change_id}", wait_until="domcontentloaded")
    page.wait_for_selector("#live.on", timeout=WAIT_MS)
    page.wait_for_function("() => document.getElementById('state').textContent !== ''", timeout=WAIT_MS)
    # when each line of the live transcript arrives, by the browser's clock
    page.evaluate(
        """() => {
        window.arrivals = {};
        new MutationObserver((records) => {
          for (const r of records) for (const node of r.addedNodes) {
            const msg = node.querySelector && node.querySelector('.msg');
            if (msg && !(msg.textContent in window.arrivals)) window.arrivals[msg.textContent] = Date.now();
          }
        }).observe(document.getElementById('transcript'), {childList: true});
        }"""
    )


@when(parsers.parse('I press "{label}"'))
def press(page: Any, label: str) -> None:
    page.locator(f"#do-{label}").click()


@then(parsers.parse('the change "{change_id}" reaches the state "{state}"'))
def reaches(demo: dict[str, Any], change_id: str, state: str) -> None:
    change = demo["hub"].change(change_id)
    wait_for(lambda: change.state == state and not (change.record or {}).get("in_flight"))


@then("every tool call of the agent appeared on the page within 1 second of the call")
def tool_calls_live(page: Any, demo: dict[str, Any]) -> None:
    change = demo["hub"].changes()[0]
    calls = [e for e in change.events().read() if e.kind in ("tool", "output")]
    assert len(calls) >= 3, [e.message for e in calls]
    for call in calls:
        page.wait_for_function("(m) => m in window.arrivals", arg=call.message, timeout=WAIT_MS)
    arrivals = page.evaluate("() => window.arrivals")
    late = []
    for call in calls:
        made = datetime.fromisoformat(call.time.replace("Z", "+00:00")).timestamp() * 1000
        if arrivals[call.message] - made > 1000:
            late.append((call.message, arrivals[call.message] - made))
    assert not late, f"tool calls shown more than 1 s after they were made: {late}"


@then(parsers.parse('a screenshot of the page is kept as "{name}"'))
def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert (ARTIFACTS / name).stat().st_size > 1000


@given(parsers.parse('"{change_id}" has been explored and proposed'))
def proposed(demo: dict[str, Any], change_id: str) -> None:
    change = demo["hub"].change(change_id)
    change.advance()
    change.advance()


@when(parsers.parse('I press "{label}" on the card of "{change_id}"'))
def press_on_card(page: Any, label: str, change_id: str) -> None:
    card(page, change_id).locator(f'button[data-action="{label}"]').click()


@given(parsers.parse('"{change_id}" has been applied'))
def applied(demo: dict[str, Any], change_id: str) -> None:
    change = demo["hub"].change(change_id)
    change.advance()
    change.advance()
    change.approve(by="ana")
    for _ in range(3):  # the demo agent writes outside its gate once, then behaves
        try:
            change.advance()
            break
        except PhaseFailed:
            continue
    assert change.state == "apply"
    demo["worktree"] = for_change(change).existing()["api"]


@then(parsers.parse('the diff shows "{path}" of the api repo with "{text}"'))
def diff_shows(page: Any, path: str, text: str) -> None:
    block = page.locator(f'#diff details.file[data-path="{path}"]').first
    block.wait_for(timeout=WAIT_MS)
    assert text in block.inner_text()


@when("I revert to the first checkpoint taken before apply")
def revert(page: Any, demo: dict[str, Any]) -> None:
    change = demo["hub"].changes()[0]
    first = next(c for c in for_change(change).checkpoints() if c.phase == "apply")
    button = page.locator(f'button[data-checkpoint="{first.number}"]')
    button.click()
    page.locator(f'button.confirm[data-checkpoint="{first.number}"]').click()  # the second press confirms
    page.wait_for_selector("#message:not([hidden])", timeout=WAIT_MS)
    assert f"restored checkpoint #{first.number}" in page.inner_text("#message")


@then(parsers.parse('"{path}" in the api worktree no longer has "{text}"'))
def restored(demo: dict[str, Any], path: str, text: str) -> None:
    assert text not in (demo["worktree"] / path).read_text(encoding="utf-8")


SLOW_AGENT = (
    "import os, pathlib, sys, time\nsys.stdin.read()\n"
    "here = pathlib.Path(os.environ['SPECFLOW_HUB'])  # the change's own worktree, inside the hub\n"
    "hub = next(p for p in [here, *here.parents] if p.name == 'hub')\n"
    "go = hub.parent.parent / 'go'\n"
    "print('Read specs/greetings', file=sys.stderr, flush=True)\n"
    "for _ in range(1200):\n"
    "    if go.exists():\n"
    "        break\n"
    "    time.sleep(0.05)\n"
    "print('## Recommendation\\nGo ahead.')\n"
)


@given(parsers.parse('the example hub has an agent "{name}" that reads "specs/greetings" and waits for a signal'))
def slow_agent(demo: dict[str, Any], name: str) -> None:
    hub: Hub = demo["hub"]
    script = demo["root"] / f"{name}.py"
    script.write_text(SLOW_AGENT)
    config = hub.root / "specflow.yaml"
    text = config.read_text().replace(
        "agents:\n",
        f"agents:\n  {name}:\n    adapter: command\n    command: [{sys.executable!r}, {str(script)!r}]\n",
        1,
    )
    config.write_text(text)


@when(parsers.parse('I run "specflow advance {change_id} --agent {name}" in a terminal'))
def advance_in_terminal(demo: dict[str, Any], server: dict[str, Any], change_id: str, name: str) -> None:
    server["terminal"] = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(demo["hub"].root), "advance", change_id, "--agent", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@then(parsers.parse('the card of "{change_id}" shows the tool call "{call}"'))
def card_shows(page: Any, change_id: str, call: str) -> None:
    activity = card(page, change_id).locator(".activity")
    activity.filter(has_text=call).wait_for(timeout=WAIT_MS)


@then(parsers.parse('the card of "{change_id}" says where its last phase ran'))
def card_machine(page: Any, change_id: str) -> None:
    facts = card(page, change_id).locator(".facts")
    facts.filter(has_text=f"on {machine_name()}").wait_for(timeout=WAIT_MS)


@when("the agent is let go")
def let_go(demo: dict[str, Any], server: dict[str, Any]) -> None:
    (demo["root"].parent / "go").write_text("")
    assert server["terminal"].wait(timeout=60) == 0
