"""The hub's status index: ``status`` reads one file while nothing changed, and never shows a stale row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from specflow.engine import statusindex
from tests.conftest import HubFixture


def settle(root: Path) -> None:
    """Age every file of the hub by a minute, as if the last edit were long ago: stamps then hold."""
    past = time.time() - 60
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*files, *dirs]:
            os.utime(os.path.join(folder, name), (past, past), follow_symlinks=False)
    os.utime(root, (past, past))


def status_json(cli: Any) -> list[dict[str, Any]]:
    code, out, err = cli("status", "--json")
    assert code == 0, err
    changes: list[dict[str, Any]] = json.loads(out)["changes"]
    return changes


@pytest.fixture(autouse=True)
def _in_hub(hub: HubFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(hub.root)  # status finds the hub from here, as a person runs it


@pytest.fixture
def indexed(hub: HubFixture, cli: Any) -> HubFixture:
    """A hub with two changes whose status index holds every row."""
    for cid in ("add-login", "fix-typo"):
        assert cli("new", cid)[0] == 0
    (hub.change_dir("add-login") / "tasks.md").write_text("## 1. Work\n- [ ] 1.1 one\n- [ ] 1.2 two\n")
    settle(hub.root)
    status_json(cli)
    return hub


def test_status_reads_the_index_while_nothing_changed(indexed: HubFixture, cli: Any) -> None:
    kept = statusindex.kept_rows(indexed.root, False)
    assert kept is not None and [st["id"] for st in kept] == ["add-login", "fix-typo"]
    assert status_json(cli) == kept
    code, out, _ = cli("status")
    assert code == 0 and "add-login" in out and "0/2" in out


def test_a_task_ticked_after_the_index_was_kept_is_shown(indexed: HubFixture, cli: Any) -> None:
    (indexed.change_dir("add-login") / "tasks.md").write_text("## 1. Work\n- [x] 1.1 one\n- [ ] 1.2 two\n")
    assert statusindex.kept_rows(indexed.root, False) is None
    row = next(st for st in status_json(cli) if st["id"] == "add-login")
    assert row["tasks"] == {"total": 2, "done": 1}


def test_a_change_made_after_the_index_was_kept_is_listed(indexed: HubFixture, cli: Any) -> None:
    assert cli("new", "add-search")[0] == 0
    assert [st["id"] for st in status_json(cli)] == ["add-login", "add-search", "fix-typo"]


def test_a_state_written_after_the_index_was_kept_is_shown(indexed: HubFixture, cli: Any) -> None:
    state = indexed.change_dir("fix-typo") / ".specflow/state.json"
    record = json.loads(state.read_text(encoding="utf-8"))
    state.write_text(json.dumps({**record, "state": "think"}), encoding="utf-8")
    row = next(st for st in status_json(cli) if st["id"] == "fix-typo")
    assert (row["state"], row["progress"]) == ("think", "1/3")


def test_a_workflow_edited_after_the_index_was_kept_changes_every_row(indexed: HubFixture, cli: Any) -> None:
    workflow = indexed.root / "openspec/workflows/mini.yaml"
    text = workflow.read_text(encoding="utf-8")
    workflow.write_text(text.replace("  done:\n", "  review: {}\n  done:\n"), encoding="utf-8")
    # a process of its own, as a person runs it: one process reads each workflow once
    out = subprocess.run([sys.executable, "-m", "specflow", "status", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert {st["progress"] for st in json.loads(out.stdout)["changes"]} == {"0/4"}


def test_rows_stamped_right_after_a_write_are_computed_again(hub: HubFixture, cli: Any) -> None:
    """A file written in the same clock tick as its stamp could change again unseen: not trusted."""
    assert cli("new", "add-login")[0] == 0
    status_json(cli)
    assert statusindex.kept_rows(hub.root, False) is None
    settle(hub.root)
    status_json(cli)
    assert statusindex.kept_rows(hub.root, False) is not None


def test_a_damaged_index_is_computed_again(indexed: HubFixture, cli: Any) -> None:
    before = status_json(cli)
    statusindex.index_path(indexed.root, False).write_text("{not json", encoding="utf-8")
    assert statusindex.kept_rows(indexed.root, False) is None
    assert status_json(cli) == before


def test_status_all_keeps_its_own_index(indexed: HubFixture, cli: Any) -> None:
    code, out, _ = cli("status", "--all", "--json")
    assert code == 0
    assert statusindex.kept_rows(indexed.root, True) == json.loads(out)["changes"]
    assert statusindex.index_path(indexed.root, True) != statusindex.index_path(indexed.root, False)


def test_status_from_the_index_loads_neither_the_engine_nor_the_workspaces(indexed: HubFixture) -> None:
    """The index spares ``status`` the engine's imports, most of its cost on a hub of hundreds of changes."""
    code = (
        "import json, sys\n"
        "from specflow.cli.main import main\n"
        "code = main(['status'])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    status, loaded = json.loads(proc.stderr[proc.stderr.rindex("MODULES ") + len("MODULES ") :])
    assert status == 0 and "add-login" in proc.stdout and "fix-typo" in proc.stdout
    heavy = ("specflow.engine.hub", "specflow.engine.change", "specflow.workspace", "dataclasses", "subprocess")
    assert sorted(m for m in loaded for h in heavy if m == h or m.startswith(h + ".")) == []


def test_an_attempt_in_flight_is_looked_at_every_time(indexed: HubFixture, cli: Any) -> None:
    """Whether its process still runs is no file's content: that row is never kept."""
    state = indexed.change_dir("fix-typo") / ".specflow/state.json"
    record = json.loads(state.read_text(encoding="utf-8"))
    flight = {"from": "draft", "to": "think", "started": "2026-11-24T00:00:00Z", "pid": 999_999_999}
    state.write_text(json.dumps({**record, "in_flight": flight}), encoding="utf-8")
    settle(indexed.root)
    row = next(st for st in status_json(cli) if st["id"] == "fix-typo")
    assert row["status"] == "interrupted"
    assert statusindex.kept_rows(indexed.root, False) is None


def test_another_user_data_folder_is_another_lookup_of_workflows(
    indexed: HubFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert statusindex.kept_rows(indexed.root, False) is not None
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))
    assert statusindex.kept_rows(indexed.root, False) is None
