"""The dashboard shows queued runs: a "queued" badge on the card, from the board's ``queued`` map."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specflow import Hub
from tests.conftest import HubFixture

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from specflow.ui.access import Access
from specflow.ui.app import build_app

Cli = Callable[..., tuple[int, str, str]]
CHROMIUM = "/usr/bin/chromium"


def test_the_board_names_each_change_with_a_queued_run(queue_hub: HubFixture, cli: Cli) -> None:
    api = Hub.open(queue_hub.root)
    for cid in ("add-login", "add-search"):
        api.new_change(cid)
    access = Access("tok-" + "a" * 20, "csrf-" + "b" * 20, strict=False)
    headers = {"X-Specflow-Token": access.token}
    with TestClient(build_app(api, access), base_url="http://127.0.0.1") as client:
        assert client.get("/api/board", headers=headers).json()["queued"] == {}  # no queue in use: no DBOS
        assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
        assert client.get("/api/board", headers=headers).json()["queued"] == {"add-login": "queued (m1)"}


def _need_browser() -> Any:
    """Playwright's sync API; without it or Debian's Chromium, a skip (a failure under CI=true)."""
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


def test_the_card_of_a_queued_change_wears_the_badge_in_a_browser(queue_hub: HubFixture, cli: Cli) -> None:
    sync_api = _need_browser()
    Hub.open(queue_hub.root).new_change("add-login")
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(queue_hub.root), "ui", "--port", "0", "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert server.stdout is not None
        url = ""
        for _ in range(10):
            line = server.stdout.readline()
            if "open http://127.0.0.1:" in line:
                url = line.split("open ", 1)[1].strip()
                break
        assert url, "the dashboard did not start"
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.goto(url, wait_until="domcontentloaded")
                badge = page.locator('article[data-change="add-login"] .badge.queued')
                badge.wait_for(timeout=30_000)
                assert badge.inner_text() == "queued (m1)"
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
