"""The machine's name, and where status, show and the board say the last attempt ran."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specflow.changestate.machine_id import host_name, machine_name, recorded_machine, user_config_path
from specflow.engine.board import build_card
from specflow.engine.hub import Hub
from specflow.errors import ConfigError
from tests.conftest import HubFixture

NOTES = "import sys\nsys.stdin.read()\nprint('notes')\n"


def test_the_host_name_is_the_one_socket_gives_without_importing_it() -> None:
    assert host_name() == socket.gethostname()
    # the lock holder's record and every "on this host?" check compare it with names written
    # by any specflow process, so it must be the same name in a process that never imports socket
    code = (
        "import sys\nfrom specflow.changestate.machine_id import host_name\nprint(host_name(), 'socket' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [socket.gethostname(), "False"]


def test_the_name_comes_from_the_environment_then_the_user_config_then_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert machine_name() == socket.gethostname()
    config = user_config_path()
    assert config == tmp_path / "xdg-config" / "specflow" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("# this laptop\nmachine: laptop\n")
    assert machine_name() == "laptop"
    monkeypatch.setenv("SPECFLOW_MACHINE", "build-1")
    assert machine_name() == "build-1"


def test_a_bad_name_is_refused_with_where_it_came_from_but_never_stops_a_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPECFLOW_MACHINE", "two words")
    with pytest.raises(ConfigError) as bad_env:
        machine_name()
    assert "machine name 'two words' from the environment variable SPECFLOW_MACHINE" in bad_env.value.message
    assert recorded_machine() == socket.gethostname()
    monkeypatch.delenv("SPECFLOW_MACHINE")
    config = user_config_path()
    config.parent.mkdir(parents=True)
    config.write_text("machine: [1, 2]\n")
    with pytest.raises(ConfigError) as bad_file:
        machine_name()
    assert f"{config}:1: machine: 'machine' is list, expected a name" in bad_file.value.message
    config.write_text("machine: [unclosed\n")
    with pytest.raises(ConfigError) as unparsable:
        machine_name()
    assert str(config) in unparsable.value.message
    assert recorded_machine() == socket.gethostname()


def test_status_show_and_the_board_say_where_the_last_attempt_ran(
    hub: HubFixture, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.agent("scripted", NOTES)
    monkeypatch.setenv("SPECFLOW_MACHINE", "desk")
    cli("-C", hub.root, "new", "add-login")
    code, out, _ = cli("-C", hub.root, "status", "--json")
    assert json.loads(out)["changes"][0]["last_attempt"] is None
    monkeypatch.setenv("SPECFLOW_MACHINE", "laptop")
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 0, err
    monkeypatch.setenv("SPECFLOW_MACHINE", "desktop")
    (hub.change_dir("add-login") / "proposal.md").write_text("## Why\nBecause.\n")
    code, _, err = cli("-C", hub.root, "approve", "add-login", "--by", "ana")  # a person's act, no attempt
    assert code == 0, err
    code, out, _ = cli("-C", hub.root, "status", "--json")
    ran = json.loads(out)["changes"][0]["last_attempt"]
    assert (ran["machine"], ran["phase"], ran["outcome"]) == ("laptop", "think", "succeeded")
    history = Hub.open(hub.root).change("add-login").history()
    assert [ev["machine"] for ev in history] == ["desk", "laptop", "desktop"]
    code, out, _ = cli("-C", hub.root, "status")
    assert "ran on" in out.splitlines()[0] and " laptop " in out.splitlines()[1]
    code, out, _ = cli("-C", hub.root, "status", "add-login")
    assert "  ran on     laptop (think succeeded at " in out
    code, out, _ = cli("-C", hub.root, "show", "add-login")
    assert code == 0 and "## Why" in out and "  ran on     laptop (think succeeded at " in out
    assert build_card(Hub.open(hub.root).change("add-login")).to_dict()["machine"] == "laptop"
