"""Choosing a layer, the settings' precedence, the Landlock ABI, bubblewrap's binds, seatbelt's profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from specflow.definitions.config import AgentConfig, HubConfig, load_config
from specflow.engine.engine import _probe_layers
from specflow.errors import ConfigError, SandboxError
from specflow.sandbox import bubblewrap, landlock, seatbelt
from specflow.sandbox.layers import available_layers, choose_layer, strongest_available
from specflow.sandbox.policy import SandboxPolicy, build_policy
from specflow.sandbox.settings import SandboxSettings, settings_for
from specflow.workspace.gates import GatePolicy
from tests.sandbox.sandbox_support import require_layer


def test_require_sandbox_with_sandbox_off_refuses_with_the_fix() -> None:
    with pytest.raises(SandboxError) as refused:
        choose_layer(SandboxSettings(mode="off", require=True))
    assert "require_sandbox is true but the sandbox is turned off" in refused.value.message
    assert refused.value.fix and "sandbox: auto" in refused.value.fix
    assert choose_layer(SandboxSettings(mode="off")) == "off"


def test_an_unavailable_layer_asked_for_by_name_is_an_error() -> None:
    with pytest.raises(SandboxError) as refused:
        choose_layer(SandboxSettings(mode="seatbelt"))
    assert "'seatbelt' asked for in specflow.yaml cannot run here" in refused.value.message
    assert "macOS" in refused.value.message


def test_auto_takes_the_strongest_layer_that_works() -> None:
    found = available_layers()
    expected = found[0] if found else "off"
    assert choose_layer(SandboxSettings()) == expected
    if sys.platform.startswith("linux"):
        require_layer("bubblewrap")
        assert choose_layer(SandboxSettings()) == "bubblewrap"


def test_the_phase_then_the_agent_then_the_hub_decide() -> None:
    hub = HubConfig(sandbox="landlock", require_sandbox=True, network="none")
    agent = AgentConfig(sandbox="bubblewrap", network="loopback", writable=["~/.cache/tool"])
    assert settings_for(hub, agent, "any") == SandboxSettings("bubblewrap", True, "any", ("~/.cache/tool",))
    assert settings_for(hub, AgentConfig(), None) == SandboxSettings("landlock", True, "none", ())


def test_specflow_yaml_refuses_an_unknown_layer_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "specflow.yaml").write_text("default_agent: a\nsandbox: jail\n", encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path, cache=False)
    assert "specflow.yaml:2" in str(bad.value) and "sandbox" in str(bad.value)
    (tmp_path / "specflow.yaml").write_text(
        "require_sandbox: true\nnetwork: loopback\nagents:\n  a: {adapter: command, command: [x], sandbox: off,"
        " network: none, writable: [~/.cache]}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path, cache=False)
    assert config.require_sandbox and config.network == "loopback" and config.sandbox == "auto"
    assert config.agents["a"].sandbox == "off" and config.agents["a"].writable == ["~/.cache"]


def test_landlock_abi_is_read_from_the_kernel() -> None:
    require_layer("landlock")
    abi = landlock.abi_version()
    assert abi >= 1
    assert landlock.fs_rights(abi) & landlock.WRITE_FILE
    assert bool(landlock.fs_rights(abi) & landlock.TRUNCATE) == (abi >= 3)


def policy(tmp_path: Path, **kw: object) -> SandboxPolicy:
    hub = tmp_path / "hub"
    (hub / ".git" / "hooks").mkdir(parents=True)
    (hub / ".specflow" / "worktrees" / "c" / "hub").mkdir(parents=True)
    (hub / ".specflow" / "worktrees" / "c" / "hub" / ".git").write_text("gitdir: x\n", encoding="utf-8")
    (hub / "openspec" / "changes" / "c" / ".specflow").mkdir(parents=True)
    gate = GatePolicy(hub=hub, write_globs=("**",), worktrees=(hub / ".specflow" / "worktrees" / "c" / "hub",))
    return build_policy(gate, cwd=hub, tmpdir=tmp_path / "tmp", network="none", **kw)  # type: ignore[arg-type]


def test_bubblewrap_binds_git_and_records_read_only_inside_writable_folders(tmp_path: Path) -> None:
    pol = policy(tmp_path)
    hub = tmp_path / "hub"
    argv = bubblewrap.wrap(pol, ["agent", "--flag"])
    assert argv[:10] == ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    binds = [(argv[i], argv[i + 1]) for i in range(len(argv) - 1) if argv[i] in ("--bind", "--ro-bind")]
    order = [path for _, path in binds]
    wt = str(hub / ".specflow" / "worktrees" / "c" / "hub")
    # the hub writable, its .git and .specflow read-only over it, the worktree writable inside
    # .specflow, and the worktree's own .git file read-only again, in that order
    assert ("--bind", str(hub)) in binds and ("--ro-bind", str(hub / ".git")) in binds
    assert ("--ro-bind", str(hub / "openspec" / "changes" / "c" / ".specflow")) in binds
    assert order.index(str(hub)) < order.index(str(hub / ".specflow")) < order.index(wt)
    assert order.index(wt) < order.index(wt + "/.git")
    assert argv[-2:] == ["agent", "--flag"] and "--unshare-net" in argv and "--die-with-parent" in argv


def test_seatbelt_profile_denies_writes_then_allows_the_gate_then_denies_protected(tmp_path: Path) -> None:
    pol = policy(tmp_path)
    hub = tmp_path / "hub"
    text = seatbelt.profile(pol)
    lines = text.splitlines()
    assert lines[:3] == ["(version 1)", "(allow default)", "(deny file-write*)"]
    allow = text.index("(allow file-write*")
    deny_again = text.index("(deny file-write*\n")
    assert allow < deny_again  # the last matching rule decides
    assert f'(subpath "{hub}")' in text[allow:deny_again]
    assert f'(subpath "{hub / ".git"}")' in text[deny_again:]
    assert '(literal "/dev/null")' in text
    assert text.rstrip().endswith("(deny network*)")
    loop = seatbelt.profile(SandboxPolicy((), (), pol.tmpdir, pol.cwd, network="loopback"))
    assert '(allow network* (remote ip "localhost:*")' in loop
    assert seatbelt.wrap(pol, ["agent"])[:2] == ["/usr/bin/sandbox-exec", "-p"]


def test_seatbelt_quotes_paths() -> None:
    pol = SandboxPolicy((Path('/a "b"\\c'),), (), Path("/t"), Path("/"))
    assert '(subpath "/a \\"b\\"\\\\c")' in seatbelt.profile(pol)


def test_an_advance_probes_the_layers_ahead_only_when_an_agent_may_ask_for_bubblewrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bubblewrap, "_WORKS", {})
    landlock_only = HubConfig(sandbox="off", agents={"a": AgentConfig(adapter="command", sandbox="landlock")})
    assert _probe_layers(landlock_only) is None
    assert bubblewrap._WORKS == {}  # nobody may run in bubblewrap: it is never tried
    one_auto = HubConfig(sandbox="off", agents={"b": AgentConfig(adapter="command", sandbox="auto")})
    probing = _probe_layers(one_auto)
    assert probing is not None
    probing.join(timeout=30)
    # tried once, in the thread, while the advance went on; choosing the layer finds it known
    assert "bwrap" in bubblewrap._WORKS
    assert choose_layer(SandboxSettings()) == (available_layers() or ["off"])[0]


def test_auto_looks_no_further_than_the_strongest_layer_that_works() -> None:
    found = available_layers()
    assert strongest_available() == (found[0] if found else None)
    if not sys.platform.startswith("linux"):
        return
    require_layer("bubblewrap")
    # where bubblewrap works, Landlock is never probed: ctypes stays unimported
    code = (
        "import sys\nfrom specflow.sandbox.layers import choose_layer\n"
        "from specflow.sandbox.settings import SandboxSettings\n"
        "print(choose_layer(SandboxSettings()), 'ctypes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["bubblewrap", "False"]


def _fake_bwrap(folder: Path, works: bool) -> Path:
    """A ``bwrap`` on PATH that counts its runs and succeeds or fails as told."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "bwrap"
    script.write_text(f'#!/bin/sh\necho run >> "{folder}/runs"\nexit {0 if works else 1}\n')
    script.chmod(0o755)
    return folder


def _runs(folder: Path) -> int:
    return len((folder / "runs").read_text().split()) if (folder / "runs").exists() else 0


def _probing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, works: bool) -> Path:
    """A fake ``bwrap`` first on PATH, the cache under ``tmp_path``, nothing probed yet; its folder."""
    bin_dir = _fake_bwrap(tmp_path / "bin", works=works)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(bubblewrap, "_WORKS", {})
    return bin_dir


def test_a_working_bubblewrap_is_probed_once_per_host_and_the_next_process_believes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _probing(tmp_path, monkeypatch, works=True)
    assert bubblewrap.problem() is None and _runs(bin_dir) == 1
    kept = tmp_path / "cache" / "specflow" / "bubblewrap-probe.json"
    assert kept.is_file()
    bubblewrap._WORKS.clear()  # the next process
    assert bubblewrap.problem() is None and _runs(bin_dir) == 1  # believed: not run again

    bubblewrap._WORKS.clear()
    (bin_dir / "bwrap").write_text((bin_dir / "bwrap").read_text() + "# upgraded\n")  # another binary
    assert bubblewrap.problem() is None and _runs(bin_dir) == 2

    bubblewrap._WORKS.clear()
    stale = json.loads(kept.read_text())
    kept.write_text(json.dumps({**stale, "at": stale["at"] - bubblewrap.PROBE_KEPT_S - 1}))  # an hour ago
    assert bubblewrap.problem() is None and _runs(bin_dir) == 3

    for broken in ("{not json", json.dumps(["a list"]), json.dumps({"key": stale["key"], "at": "noon"})):
        kept.write_text(broken)
        bubblewrap._WORKS.clear()
        before = _runs(bin_dir)
        assert bubblewrap.problem() is None and _runs(bin_dir) == before + 1  # unreadable: probed again

    bubblewrap._WORKS.clear()
    before = _runs(bin_dir)
    monkeypatch.setattr(bubblewrap, "_PROBE_OPTIONS", (*bubblewrap._PROBE_OPTIONS, "--unshare-ipc"))
    assert bubblewrap.problem() is None and _runs(bin_dir) == before + 1  # another probe's answer: not believed


def test_a_failing_bubblewrap_is_never_kept_and_is_tried_again_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _probing(tmp_path, monkeypatch, works=False)
    assert "failed" in (bubblewrap.problem() or "")
    bubblewrap._WORKS.clear()
    assert "failed" in (bubblewrap.problem() or "") and _runs(bin_dir) == 2
    assert not (tmp_path / "cache" / "specflow" / "bubblewrap-probe.json").exists()


def test_a_bubblewrap_without_an_option_the_agent_needs_is_found_not_to_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe runs bubblewrap with the options an agent's sandbox uses: one too old for
    ``--as-pid-1`` (before 0.2.0) fails the probe, so ``auto`` takes the next layer, rather than
    every phase failing when its agent is started."""
    bin_dir = _probing(tmp_path, monkeypatch, works=True)
    real = (bin_dir / "bwrap").read_text()
    (bin_dir / "bwrap").write_text(
        real.replace(
            "exit 0",
            'for a in "$@"; do [ "$a" = --as-pid-1 ] && { echo "bwrap: Unknown option $a" >&2; exit 1; }; done\nexit 0',
        )
    )
    why = bubblewrap.problem() or ""
    assert "Unknown option --as-pid-1" in why and _runs(bin_dir) == 1
    assert not (tmp_path / "cache" / "specflow" / "bubblewrap-probe.json").exists()
    assert choose_layer(SandboxSettings()) != "bubblewrap"  # auto takes the next layer that works


def test_a_probe_that_cannot_be_kept_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _probing(tmp_path, monkeypatch, works=True)
    (tmp_path / "cache").write_text("a file where the cache folder would be\n")
    assert bubblewrap.problem() is None
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("HOME")
    bubblewrap._WORKS.clear()
    assert bubblewrap.problem() is None and _runs(bin_dir) == 2  # no home: nowhere to keep it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")  # not a place, says the XDG specification
    bubblewrap._WORKS.clear()
    assert bubblewrap.problem() is None and _runs(bin_dir) == 3
    assert not (tmp_path / "relative-cache").exists()
