"""``specflow demo`` end to end, and the scripted demo agent on its own.

The end-to-end test runs the demo in-process and then checks the repos it leaves behind, as a
new user exploring them would: the archived change, the merged spec, the code merged in both
repos, the history of every phase, and the refused write recorded but never on disk.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from specflow.demo.example_hub import example_dir, localize_config
from specflow.demo.run import CHANGE_ID
from specflow.sandbox import layers
from specflow.sandbox.layers import strongest_available
from tests.pinned_tools import OPENSPEC

CliRunner = Callable[..., tuple[int, str, str]]
REPO_ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


#: True where a sandbox layer runs (CI installs bubblewrap): the demo's one write outside its gate
#: is then refused at the system call; elsewhere the audit puts it back and apply is retried.
SANDBOXED = strongest_available() is not None


def _run_demo(root: Path) -> tuple[int, str, str, Path]:
    from specflow.cli.main import main

    env_keys = ("NO_COLOR", "XDG_DATA_HOME")
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ["NO_COLOR"] = "1"
    os.environ["XDG_DATA_HOME"] = str(root.parent / "xdg")
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["demo", "--dir", str(root)])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue(), root


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """Run ``specflow demo --dir <tmp>`` once for every test of the finished demo."""
    return _run_demo(tmp_path_factory.mktemp("demo") / "specflow-demo")


@pytest.fixture(scope="module")
def unsandboxed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    """The demo where no sandbox layer runs (as on a machine without bubblewrap or Landlock)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers, "strongest_available", lambda: None)
        return _run_demo(tmp_path_factory.mktemp("demo-off") / "specflow-demo")


def _events(root: Path) -> list[dict[str, object]]:
    archived = root / "hub" / "openspec" / "changes" / "archive" / f"{date.today().isoformat()}-{CHANGE_ID}"
    lines = (archived / ".specflow" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_demo_runs_to_the_end(demo_run: tuple[int, str, str, Path]) -> None:
    code, out, err, root = demo_run
    assert code == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert "Done in" in out
    assert "refused:" in out
    assert "Explore it:" in out
    assert f"-C {shlex.quote(str(root / 'hub'))} history {CHANGE_ID} -v" in out
    assert "\x1b[" not in out, "piped output must be plain"


def test_the_demo_says_what_to_do_next_after_each_step(demo_run: tuple[int, str, str, Path]) -> None:
    out = demo_run[1]
    nexts = [line.strip().split(", next ", 1)[1].split(" (")[0] for line in out.splitlines() if "], next " in line]
    assert nexts == [
        f"advance: specflow advance {CHANGE_ID}",
        f"approve: specflow approve {CHANGE_ID}",
        f"advance: specflow advance {CHANGE_ID}",
        f"merge: specflow merge {CHANGE_ID}",
        f"archive: specflow advance {CHANGE_ID}",
        "nothing",
    ]


def test_the_change_is_archived_with_its_artifacts(demo_run: tuple[int, str, str, Path]) -> None:
    root = demo_run[3]
    changes = root / "hub" / "openspec" / "changes"
    assert not (changes / CHANGE_ID).exists()
    archived = changes / "archive" / f"{date.today().isoformat()}-{CHANGE_ID}"
    for name in ("proposal.md", "design.md", "tasks.md", "exploration.md", "specs/greetings/spec.md"):
        assert (archived / name).is_file(), name
    tasks = (archived / "tasks.md").read_text(encoding="utf-8")
    assert "- [ ]" not in tasks and tasks.count("- [x]") == 7
    state = json.loads((archived / ".specflow" / "state.json").read_text(encoding="utf-8"))
    assert state["state"] == "archive"


def test_the_spec_is_merged_and_valid(demo_run: tuple[int, str, str, Path], cli: CliRunner) -> None:
    hub = demo_run[3] / "hub"
    spec = (hub / "openspec" / "specs" / "greetings" / "spec.md").read_text(encoding="utf-8")
    assert "### Requirement: Greeting endpoint" in spec
    assert "#### Scenario: A name with surrounding spaces" in spec
    code, out, err = cli("-C", hub, "validate", "--all", "--strict")
    assert code == 0, out + err
    assert "`/greet`" in (hub / "shared" / "api.md").read_text(encoding="utf-8")


def test_the_code_is_merged_in_both_repos(demo_run: tuple[int, str, str, Path]) -> None:
    root = demo_run[3]
    branch = f"specflow/{CHANGE_ID}"
    for repo, path, text in (("api", "service.py", '"/greet"'), ("bot", "bot.py", "name.strip()")):
        r = root / repo
        assert git(r, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
        assert text in git(r, "show", f"main:{path}")
        assert subprocess.run(["git", "merge-base", "--is-ancestor", branch, "main"], cwd=r).returncode == 0
        merges = git(r, "log", "--merges", "--format=%s", "main")
        assert CHANGE_ID in merges, merges
        assert not git(r, "status", "--porcelain").strip()
        tests = subprocess.run(
            [sys.executable, "-m", "unittest", "discover", "-q", "-s", "tests", "-t", "."],
            cwd=r,
            capture_output=True,
            text=True,
        )
        assert tests.returncode == 0, tests.stderr
    assert not (root / "hub" / ".specflow" / "worktrees" / CHANGE_ID / "api").exists()


def _phases(root: Path) -> list[tuple[object, object]]:
    return [(e["to"], e["outcome"]) for e in _events(root) if e.get("trigger") == "advance"]


def test_every_phase_is_in_history(demo_run: tuple[int, str, str, Path]) -> None:
    events = _events(demo_run[3])
    apply = [("apply", "succeeded")] if SANDBOXED else [("apply", "failed"), ("apply", "succeeded")]
    assert _phases(demo_run[3]) == [
        ("explore", "succeeded"),
        ("propose", "succeeded"),
        *apply,
        ("archive", "succeeded"),
    ]
    assert any(e.get("trigger") == "approve" for e in events)


def test_the_out_of_gate_write_is_refused_by_the_sandbox(demo_run: tuple[int, str, str, Path]) -> None:
    if not SANDBOXED:
        pytest.skip("no sandbox layer runs here: the demo shows the audit putting the write back instead")
    code, out, _, root = demo_run
    assert code == 0
    (apply,) = [e for e in _events(root) if e.get("to") == "apply"]
    layer = apply["sandbox"]
    assert layer in ("bubblewrap", "landlock") and apply["gate_violations"] == []
    (line,) = [line for line in out.splitlines() if "refused: write openspec/specs/greetings/spec.md" in line]
    assert f"by the {layer} sandbox, at the system call" in line
    assert f"The {layer} sandbox refused 1 write(s) outside the gate before they happened." in out
    transcript = Path(str(apply["agent"]["transcript"])).read_text(encoding="utf-8")  # type: ignore[index]
    assert "Refused openspec/specs/greetings/spec.md" in transcript
    _assert_spec_untouched_until_archive(root)


def test_without_a_sandbox_the_demo_says_so_and_the_audit_puts_the_write_back(
    unsandboxed_run: tuple[int, str, str, Path],
) -> None:
    code, out, err, root = unsandboxed_run
    assert code == 0, out + err
    assert "no sandbox layer runs here" in out
    assert "The audit put back 1 write(s) made outside the gate" in out
    apply = [(to, outcome) for to, outcome in _phases(root) if to == "apply"]
    assert apply == [("apply", "failed"), ("apply", "succeeded")]
    assert all(e.get("sandbox") in (None, "off") for e in _events(root) if e.get("agent"))
    _assert_refused_write_put_back(root)


def _assert_refused_write_put_back(root: Path) -> None:
    failed = next(e for e in _events(root) if e.get("to") == "apply" and e["outcome"] == "failed")
    violations = failed["gate_violations"]
    assert isinstance(violations, list) and violations
    assert any(str(v["path"]).endswith("openspec/specs/greetings/spec.md") for v in violations)
    _assert_spec_untouched_until_archive(root)


def _assert_spec_untouched_until_archive(root: Path) -> None:
    hub = root / "hub"
    # the living spec changed only when the change was archived: never by the refused write
    log = git(hub, "log", "--format=%s", "--", "openspec/specs/greetings/spec.md").splitlines()
    assert log == [f"specflow({CHANGE_ID}): archive, attempt 1", "hub: initial commit"], log
    original = (example_dir() / "hub" / "openspec" / "specs" / "greetings" / "spec.md").read_text(encoding="utf-8")
    before_archive = git(hub, "show", "HEAD~1:openspec/specs/greetings/spec.md")
    assert before_archive == original
    # the bot requirement never got the scenario the agent appended outside its gate
    spec = (hub / "openspec" / "specs" / "greetings" / "spec.md").read_text(encoding="utf-8")
    bot_block = spec.split("### Requirement: Bot hello command", 1)[1].split("### Requirement:", 1)[0]
    assert "No name given" not in bot_block


def test_the_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, cli: CliRunner) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    code, out, err = cli("demo", "--dir", tmp_path)
    assert code == 1
    assert out == ""
    assert f"error: {tmp_path} is not empty" in err
    assert "fix: pass --dir with a new folder" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_localize_config_points_python_at_this_interpreter(tmp_path: Path) -> None:
    path = tmp_path / "specflow.yaml"
    shutil.copy(example_dir() / "hub" / "specflow.yaml", path)
    localize_config(path)
    from specflow.definitions.config import load_config

    config = load_config(tmp_path)
    assert config.agents["scripted"].command == [sys.executable, "-m", "specflow.demo.agent"]
    for repo in config.repos.values():
        assert repo.test is not None and repo.setup is not None
        assert repo.test.startswith(sys.executable) or repo.test.startswith("'")
        assert " python " not in f" {repo.setup} "


def _example_hub(tmp_path: Path) -> Path:
    """A copy of the example hub with the change created (no worktrees, no git needed)."""
    from specflow.engine.hub import Hub

    for name in ("hub", "api", "bot"):
        shutil.copytree(example_dir() / name, tmp_path / name)
    hub = Hub.open(tmp_path / "hub")
    hub.new_change(CHANGE_ID, workflow="openspec", repos=["api", "bot"])
    return hub.root


def _run_agent(hub: Path, phase: str, prompt: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SPECFLOW_PHASE": phase,
        "SPECFLOW_CHANGE": CHANGE_ID,
        "SPECFLOW_HUB": str(hub),
        "SPECFLOW_GATE": json.dumps({"hub": str(hub), "read_only": phase == "explore"}),
        "SPECFLOW_CWD": str(hub),
    }
    return subprocess.run(
        [sys.executable, "-m", "specflow.demo.agent"],
        cwd=hub,
        env=env,
        input=prompt,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_demo_agent_explores_without_writing(tmp_path: Path) -> None:
    hub = _example_hub(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    proc = _run_agent(hub, "explore")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"# Exploration: {CHANGE_ID}")
    assert "`/health`" in proc.stdout and "`/hello`" in proc.stdout
    assert "Read openspec/specs/greetings/spec.md" in proc.stderr
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.openspec_cli
def test_the_demo_agent_proposal_passes_strict_validation(tmp_path: Path, cli: CliRunner) -> None:
    hub = _example_hub(tmp_path)
    proc = _run_agent(hub, "propose")
    assert proc.returncode == 0, proc.stderr
    change = hub / "openspec" / "changes" / CHANGE_ID
    for name in ("proposal.md", "design.md", "tasks.md", "specs/greetings/spec.md"):
        assert (change / name).is_file(), name
    code, out, err = cli("-C", hub, "validate", CHANGE_ID, "--strict")
    assert code == 0, out + err
    openspec = OPENSPEC.require()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "OPENSPEC_TELEMETRY": "0",
        "DO_NOT_TRACK": "1",
        "OPENSPEC_NO_UPDATE_CHECK": "1",
        "NO_COLOR": "1",
    }
    real = subprocess.run(
        [str(openspec), "validate", CHANGE_ID, "--strict", "--json", "--no-interactive"],
        cwd=hub,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert real.returncode == 0, real.stdout + real.stderr
    assert json.loads(real.stdout)["items"][0]["valid"] is True


def test_the_demo_agent_explains_itself_outside_specflow() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPECFLOW_")}
    proc = subprocess.run(
        [sys.executable, "-m", "specflow.demo.agent"], env=env, input="", capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "SPECFLOW_PHASE" in proc.stderr and "specflow runs this agent" in proc.stderr


def test_checking_an_agent_writes_nothing_inside_the_package() -> None:
    from specflow.demo.example_hub import check_agent
    from specflow.errors import AgentError

    before = sorted(p.relative_to(example_dir()).as_posix() for p in example_dir().rglob("*"))
    check_agent("claude-code")
    with pytest.raises(AgentError) as info:
        check_agent("no-such-agent")
    assert "unknown agent 'no-such-agent'" in info.value.message
    assert sorted(p.relative_to(example_dir()).as_posix() for p in example_dir().rglob("*")) == before
    assert not (example_dir() / "hub" / ".specflow").exists()
