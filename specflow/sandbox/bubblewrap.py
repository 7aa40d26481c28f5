"""bubblewrap: the agent in a mount and PID namespace of its own, where installed and working.

The whole file system is bound read-only, the writable folders are bound writable over it, and git's
data and specflow's records inside them read-only again (bubblewrap applies binds in order, so
they are sorted shallow to deep).  ``/tmp`` is a private tmpfs: only what the agent must see of the
host's ``/tmp`` (the hub, its repos, the writable folders) is bound back.  ``--unshare-pid`` ends
every process of the run with its first one, ``--die-with-parent`` ends that one with specflow.
Writes outside fail with ``EROFS``.

Network: ``none`` and ``loopback`` both unshare the network namespace, which leaves only a private,
empty loopback: the agent can reach servers it starts itself, nothing on the host or beyond.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from specflow.sandbox.policy import SandboxPolicy

PROBE_TIMEOUT_S = 10.0
_WORKS: dict[str, str | None] = {}


def binary() -> str | None:
    return shutil.which("bwrap")


def problem() -> str | None:
    """Why bubblewrap cannot be used here (None when it works); probed once per process.

    Unprivileged bubblewrap fails on hosts that restrict user namespaces (Ubuntu 23.10+ AppArmor),
    so it is tried, not assumed.
    """
    if "bwrap" not in _WORKS:
        found = binary()
        if found is None:
            _WORKS["bwrap"] = "bwrap is not installed"
        else:
            argv = [found, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid"]
            argv += ["--unshare-net", "--die-with-parent", "--new-session", "true"]
            try:
                done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                _WORKS["bwrap"] = f"{found} could not run: {exc}"
            else:
                err = done.stderr.decode("utf-8", "replace").strip()
                _WORKS["bwrap"] = None if done.returncode == 0 else f"{found} --ro-bind / / true failed: {err}"
    return _WORKS["bwrap"]


def _tmp_top(path: Path) -> Path | None:
    """The folder directly below /tmp that holds ``path`` (None outside /tmp)."""
    parts = path.parts
    if len(parts) >= 3 and parts[0] == "/" and parts[1] == "tmp":
        return Path("/tmp", parts[2])
    return None


def _depth(path: Path) -> int:
    return len(path.parts)


def wrap(policy: SandboxPolicy, argv: list[str], *, bwrap: str = "bwrap") -> list[str]:
    """The bwrap argv running ``argv`` under ``policy``."""
    out = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    shown: list[Path] = []
    for path in (*policy.visible, *policy.writable, *policy.protected):
        top = _tmp_top(path)
        if top is not None and top not in shown and top.exists():
            shown.append(top)
    for top in shown:
        out += ["--ro-bind", str(top), str(top)]
    mounts = [(p, "--bind") for p in policy.writable if p.exists()]
    mounts += [(p, "--ro-bind") for p in policy.protected]
    # shallow first: a protected folder inside a writable one is bound after it, and a writable
    # worktree inside specflow's protected folder after that
    for path, flag in sorted(mounts, key=lambda m: (_depth(m[0]), m[1] == "--ro-bind")):
        out += [flag, str(path), str(path)]
    out += ["--unshare-pid", "--die-with-parent", "--new-session"]
    if policy.network != "any":
        out.append("--unshare-net")
    out += ["--chdir", str(policy.cwd), "--"]
    return out + list(argv)
