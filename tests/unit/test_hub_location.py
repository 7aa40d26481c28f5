"""specflow.engine.hublocation.locate_hub and the worktrees_dir check: the hub is found from anywhere, once.

Real repos in ``tmp_path``: a hub with component repos ``api`` and ``bot`` beside it
(``make_multi_hub``), worktrees made by ``Workspaces.ensure_worktrees``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.changestate.records import read_state
from specflow.definitions.config import load_config
from specflow.engine.hub import Hub
from specflow.engine.hublocation import find_hub, locate_hub
from specflow.errors import ConfigError, HubNotFoundError
from tests.conftest import commit_all, git, init_repo
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    m = make_multi_hub(tmp_path)
    os.symlink("../hub/openspec", m.bot / "openspec")
    commit_all(m.bot, "link the hub")
    return m


def test_from_the_hub_and_any_folder_inside_it(multi: MultiHub) -> None:
    assert locate_hub(multi.root).root == multi.root
    assert locate_hub(multi.root / "openspec" / "specs" / "auth").root == multi.root
    assert locate_hub(multi.root / "docs").change_id is None


def test_from_a_component_repo_its_link_leads_to_the_hub(multi: MultiHub) -> None:
    (multi.bot / "src").mkdir()
    for start in (multi.bot, multi.bot / "src"):
        found = locate_hub(start)
        assert (found.root, found.change_id) == (multi.root.resolve(), None)
    hub = Hub.open(multi.bot)  # -C the component repo
    assert hub.root == multi.root.resolve() and hub.here_change is None


def test_from_a_changes_worktree_its_branch_names_the_change(multi: MultiHub) -> None:
    paths = multi.workspaces().ensure_worktrees()
    # the change's own worktree of the hub, and a folder in it
    for start in (multi.worktree, multi.change_dir):
        found = locate_hub(start)
        assert (found.root, found.change_id) == (multi.root, CHANGE)
    # its repo worktrees, whose openspec links lead to that hub worktree
    for repo in ("api", "bot"):
        found = locate_hub(paths[repo])
        assert (found.root, found.change_id) == (multi.root.resolve(), CHANGE)
    (paths["api"] / "src" / "deep").mkdir()
    assert locate_hub(paths["api"] / "src" / "deep").change_id == CHANGE
    hub = Hub.open(paths["bot"])
    assert (hub.root, hub.here_change) == (multi.root.resolve(), CHANGE)
    assert find_hub(paths["api"]) == multi.root.resolve()


def test_a_worktree_on_another_branch_names_no_change(multi: MultiHub) -> None:
    paths = multi.workspaces().ensure_worktrees()
    git(paths["api"], "switch", "-q", "-c", "experiment")
    assert locate_hub(paths["api"]).change_id is None


def test_a_repo_the_hub_does_not_list_is_refused(multi: MultiHub, tmp_path: Path) -> None:
    stray = init_repo(tmp_path / "stray")
    os.symlink("../hub/openspec", stray / "openspec")
    with pytest.raises(HubNotFoundError) as info:
        locate_hub(stray)
    assert "has an openspec link to the hub" in info.value.message
    assert "does not list this repo" in info.value.message
    assert "path: ../stray" in (info.value.fix or "")
    with pytest.raises(HubNotFoundError):
        Hub.open(stray)
    assert not (stray / ".specflow").exists()


def test_a_link_to_no_hub_is_refused(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (tmp_path / "notes").mkdir()
    os.symlink("../notes", repo / "openspec")
    with pytest.raises(HubNotFoundError, match="which is no hub's openspec/ folder"):
        locate_hub(repo)


def test_nothing_found_says_how_to_make_a_hub(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "plain")
    with pytest.raises(HubNotFoundError) as info:
        locate_hub(repo)
    assert "specflow init" in (info.value.fix or "")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("..", "{parent}"),
        ("../x", "{parent}/x"),
        (".specflow/../../wt", "{parent}/wt"),
        (".", "the hub itself"),
        ("{outside}", "{outside}"),
        (".git/worktrees-of-specflow", "{hub}/.git/worktrees-of-specflow"),
        ("openspec/wt", "{hub}/openspec/wt"),
    ],
)
def test_a_worktrees_dir_outside_the_hubs_own_area_is_refused(tmp_path: Path, value: str, where: str) -> None:
    hub = init_repo(tmp_path / "hub")
    names = {"parent": str(tmp_path), "hub": str(hub), "outside": str(tmp_path / "elsewhere")}
    (hub / "specflow.yaml").write_text(f"default_agent: x\nworktrees_dir: {value.format(**names)!r}\n")
    with pytest.raises(ConfigError) as info:
        load_config(hub)
    err = info.value
    assert (err.file, err.line, err.key_path) == (str(hub / "specflow.yaml"), 2, "worktrees_dir")
    assert f"would put specflow's worktrees at {where.format(**names)}, outside the hub's own area" in err.message
    assert "'.specflow/worktrees'" in (err.fix or "")


@pytest.mark.parametrize("value", [".specflow/worktrees", "wt", "{hub}/.work/trees", "./a/../b"])
def test_a_worktrees_dir_inside_the_hub_is_accepted(tmp_path: Path, value: str) -> None:
    hub = init_repo(tmp_path / "hub")
    text = value.format(hub=hub)
    (hub / "specflow.yaml").write_text(f"worktrees_dir: {text!r}\n")
    assert load_config(hub).worktrees_dir == text


def test_commands_from_a_repo_or_a_worktree_write_only_in_the_hub(
    multi: MultiHub, cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(multi.bot)
    code, _, err = cli("new", "fix-typo", "--repo", "bot")  # the hub's configuration, not the repo's
    assert code == 0, err
    # the change is made on its own branch, in its own worktree of the hub; the checkout is untouched
    assert (
        Hub(multi.root).worktree_of("fix-typo") / "openspec" / "changes" / "fix-typo" / ".specflow" / "state.json"
    ).is_file()
    assert not (multi.root / "openspec" / "changes" / "fix-typo").exists()
    assert git(multi.root, "status", "--porcelain") == ""
    paths = multi.workspaces().ensure_worktrees()
    monkeypatch.chdir(paths["api"])
    code, out, err = cli("approve", "--by", "ana", "--json")  # takes the change's lock, writes its records
    assert code == 0, err
    assert json.loads(out)["by"] == "ana"
    assert read_state(multi.change_dir)["approvals"][0]["by"] == "ana"  # type: ignore[index]
    for place in (multi.bot, multi.api, paths["api"], paths["bot"]):
        assert not (place / ".specflow").exists(), place
    assert git(paths["api"], "status", "--porcelain") == ""
