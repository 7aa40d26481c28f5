"""bubblewrap: the agent in a mount and PID namespace of its own, where installed and working.

The whole file system is bound read-only, the writable folders are bound writable over it, and git's
data and specflow's records inside them read-only again (bubblewrap applies binds in order, so
they are sorted shallow to deep).  ``/tmp`` is a private tmpfs: only what the agent must see of the
host's ``/tmp`` (the hub, its repos, the writable folders) is bound back.  ``--unshare-pid`` with
``--as-pid-1`` makes the agent the namespace's first process, so every process of the run ends with
it, before bubblewrap returns; ``--die-with-parent`` ends the agent with specflow.
Writes outside fail with ``EROFS``.

Network: ``none`` and ``loopback`` both unshare the network namespace, which leaves only a private,
empty loopback: the agent can reach servers it starts itself, nothing on the host or beyond.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from specflow import digests
from specflow.sandbox.policy import SandboxPolicy

PROBE_TIMEOUT_S = 10.0
#: A probe that found bubblewrap working is believed this long on this host (``_kept_path``), so
#: ``specflow advance`` does not start bubblewrap twice per phase: the probe's network namespace,
#: torn down by the kernel while the agent starts, took 15-23 ms from a Claude Code phase.  What
#: decides whether it works is in the key: the host and its boot, the user, the binary, the
#: user-namespace settings; a security policy loaded since without a reboot is met within the
#: hour.  A failure is never kept: it is tried again next time.
PROBE_KEPT_S = 3600.0
#: Files whose content decides whether unprivileged namespaces may be made here.
_HOST_FACTS = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_unconfined",
)
#: The agent is the PID namespace's first process: when it exits, the kernel kills every other
#: process in the namespace, and bubblewrap returns only once they are gone.  (Without
#: ``--as-pid-1``, bubblewrap's own first process reports the agent's exit at once and the rest run
#: on until its death signal ends them: after specflow's audit may have started.)
_PROCESSES = ("--unshare-pid", "--as-pid-1", "--die-with-parent", "--new-session")
#: What the probe runs ``true`` under: the options of an agent's sandbox (``wrap``), so a bubblewrap
#: that lacks one fails the probe, not every phase; part of the kept answer's key.
_PROBE_OPTIONS = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_PROCESSES, "--unshare-net")
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
            key = _probe_key(found)
            _WORKS["bwrap"] = None if key is not None and _kept_works(key) else _probe(found, key)
    return _WORKS["bwrap"]


def _probe(found: str, key: str | None) -> str | None:
    """Run ``found`` as an agent's sandbox would, around ``true``; why it failed, or None (kept under ``key``)."""
    argv = [found, *_PROBE_OPTIONS, "true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{found} could not run: {exc}"
    if done.returncode != 0:
        return f"{found} failed to run true in a sandbox: {done.stderr.decode('utf-8', 'replace').strip()}"
    if key is not None:
        _keep_works(key)
    return None


def _kept_path() -> Path | None:
    """Where a working probe is kept: the user's cache folder (None without a home).  A relative
    ``XDG_CACHE_HOME`` is ignored, as the XDG specification says (it would land in the hub)."""
    home, cache = os.environ.get("HOME"), os.environ.get("XDG_CACHE_HOME", "")
    base = cache if os.path.isabs(cache) else (os.path.join(home, ".cache") if home and os.path.isabs(home) else "")
    return Path(base, "specflow", "bubblewrap-probe.json") if base else None


def _probe_key(found: str) -> str | None:
    """What a probe's answer depends on, as one digest; None when the binary cannot be read."""
    try:
        st = os.stat(found)
    except OSError:
        return None
    facts: list[object] = [found, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, _PROBE_OPTIONS]
    facts += [list(os.uname()), os.getuid(), os.getgid()]
    for path in _HOST_FACTS:
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                facts.append(fh.read().strip())
        except OSError:
            facts.append(None)
    return digests.sha256(json.dumps(facts).encode("utf-8")).hexdigest()


def _kept_works(key: str) -> bool:
    """True when a probe under ``key`` found bubblewrap working less than ``PROBE_KEPT_S`` ago."""
    path = _kept_path()
    try:
        kept = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
    except (OSError, ValueError):
        return False
    at = kept.get("at") if isinstance(kept, dict) and kept.get("key") == key else None
    return isinstance(at, (int, float)) and 0 <= time.time() - at < PROBE_KEPT_S


def _keep_works(key: str) -> None:
    """Keep a working probe under ``key`` (nothing when the cache folder cannot be written)."""
    path = _kept_path()
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"key": key, "at": time.time()}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # kept or not, the answer stands
        try:  # noqa: SIM105 - no contextlib for one call
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


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
    out += _PROCESSES
    if policy.network != "any":
        out.append("--unshare-net")
    out += ["--chdir", str(policy.cwd), "--"]
    return out + list(argv)
