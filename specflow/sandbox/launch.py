"""The one launcher every adapter starts its agent through: the chosen layer around the process tree.

``spawn`` chooses the layer (``specflow.sandbox.layers``), builds the policy from the phase's gate
(``specflow.sandbox.policy``), makes a private temporary folder (``TMPDIR``), marks the run's
environment (``SPECFLOW_AGENT_RUN``, so a later recovery can find every survivor) and starts:

- bubblewrap: ``bwrap ... --as-pid-1 ... -- ARGV``: the agent is its PID namespace's first
  process, so the kernel ends the tree with it, and ``--die-with-parent`` ends it with specflow;
- Landlock, or no layer on Linux: the re-exec helper ``specflow.sandbox.exec`` (applies Landlock,
  supervises the tree as a child subreaper, dies with specflow);
- seatbelt: ``sandbox-exec -p PROFILE ARGV``.

``spawn(..., hold=True)`` starts the helper (Landlock or no layer) with the agent held back until
``Launched.release``: the helper's interpreter starts while specflow takes the checkpoint, and the
agent itself starts only once it is taken.  Under bubblewrap or seatbelt, or where the helper does
not run, nothing is started before ``release`` (``can_hold``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from specflow.bootstrap import ROOT, boot_code
from specflow.errors import SandboxError
from specflow.sandbox import bubblewrap, seatbelt
from specflow.sandbox.layers import choose_layer, network_problem
from specflow.sandbox.policy import SandboxPolicy, build_policy, commit_paths, gate_roots, landlock_grants
from specflow.sandbox.settings import Layer, SandboxSettings
from specflow.structs import Struct, field
from specflow.tempfiles import named_as_made, temp_folder
from specflow.trees import remove_tree
from specflow.workspace.gates import GatePolicy

MARKER_ENV = "SPECFLOW_AGENT_RUN"
#: The name of an agent's private temporary folder starts so.
TMPDIR_PREFIX = "specflow-agent-"
_PACKAGE_DIR = ROOT
_BOOT = boot_code("specflow.sandbox.exec")

Stream = int | IO[Any] | None


class Launched(Struct):
    """A started agent and what its sandbox left to clean up."""

    proc: subprocess.Popen[bytes]
    layer: Layer
    policy: SandboxPolicy
    marker: str
    network_enforced: bool
    created: list[Path] = field(default_factory=list)
    hold: int | None = None
    """The write end of the pipe the helper waits on before it starts the agent (``release``)."""

    def release(self) -> None:
        """Let the held agent start."""
        if self.hold is not None:
            fd, self.hold = self.hold, None
            try:
                os.write(fd, b"g")
            except OSError:
                pass  # the helper is gone: its exit is the run's result
            finally:
                os.close(fd)

    def info(self) -> dict[str, Any]:
        """What the attempt's history records about the sandbox."""
        return {
            "layer": self.layer,
            "network": self.policy.network,
            "network_enforced": self.network_enforced,
            "read_only": self.policy.read_only,
            "writable": [str(p) for p in self.policy.writable],
        }

    def close(self) -> None:
        """Remove the private temporary folder, and gate folders made for the run if still empty.

        A helper still holding its agent back is let go without it: it exits."""
        if self.hold is not None:
            fd, self.hold = self.hold, None
            os.close(fd)
        remove_tree(self.policy.tmpdir, ignore_errors=True)
        for path in reversed(self.created):
            with contextlib.suppress(OSError):
                path.rmdir()


def helper_argv(landlock: str, writable: list[str], argv: list[str], *, hold: int = -1) -> list[str]:
    """``argv`` started through the re-exec helper (a fresh interpreter: no site, one thread),
    which dies with this process.

    ``landlock`` is ``off``, ``on`` or ``on-no-tcp``; ``writable`` the paths Landlock grants;
    ``hold`` a pipe's read end the helper waits on before it starts ``argv`` (-1: at once).
    """
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _BOOT,
        str(os.getpid()),
        str(hold),
        landlock,
        str(len(writable)),
        *writable,
        *argv,
    ]


def can_hold(settings: SandboxSettings) -> bool:
    """Whether ``spawn(..., hold=True)`` can start the helper ahead of its agent here: Landlock or
    no layer, on Linux, where the helper runs (the layer is chosen as ``spawn`` chooses it)."""
    if not sys.platform.startswith("linux") or not sys.executable:
        return False
    return choose_layer(settings) in ("off", "landlock")


def _make_roots(gate: GatePolicy) -> list[Path]:
    """Create the gate's missing writable folders so a layer can grant them; returns those made."""
    created: list[Path] = []
    for root in [*gate_roots(gate), *commit_paths(gate)]:
        missing: list[Path] = []
        probe = root
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir()
                created.append(path)
    return created


def _program(name: str, cwd: Path, env: Mapping[str, str]) -> str:
    """``name`` as a full path, so a missing program fails here as it would without a sandbox."""
    if os.sep in name:
        path = name if os.path.isabs(name) else os.path.join(cwd, name)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return os.path.abspath(path)
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    return found


def wrapped_argv(layer: Layer, policy: SandboxPolicy, argv: list[str], *, hold: int = -1) -> list[str]:
    """The argv that runs ``argv`` under ``layer`` (held on pipe ``hold`` by the helper, when >= 0)."""
    if layer == "bubblewrap":
        # no supervisor: the agent is the namespace's first process (see ``bubblewrap.wrap``)
        return bubblewrap.wrap(policy, argv, bwrap=bubblewrap.binary() or "bwrap")
    if layer == "seatbelt":
        return seatbelt.wrap(policy, argv)
    if not sys.platform.startswith("linux") or not sys.executable:
        return list(argv)
    if layer != "landlock":
        return helper_argv("off", [], argv, hold=hold)
    mode = "on" if policy.network == "any" else "on-no-tcp"
    return helper_argv(mode, [str(p) for p in landlock_grants(policy)], argv, hold=hold)


def spawn(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    gate: GatePolicy,
    settings: SandboxSettings,
    own: Iterable[str | Path] = (),
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    hold: bool = False,
) -> Launched:
    """Start ``argv`` confined to ``gate`` (plus ``own``: paths its program must write).

    With ``hold`` (only where ``can_hold``), the helper starts and waits; ``argv`` starts at
    ``Launched.release``.  Raises ``SandboxError`` when the asked-for layer cannot run,
    ``OSError`` when the program cannot be started at all.
    """
    layer = choose_layer(settings)
    if hold and not can_hold(settings):
        raise SandboxError(f"the {layer} layer cannot start an agent held back", fix="start it without hold")
    argv = [_program(argv[0], cwd, env), *argv[1:]]
    tmpdir = temp_folder(TMPDIR_PREFIX)
    created = _make_roots(gate)
    try:
        policy = build_policy(
            gate,
            cwd=cwd,
            tmpdir=tmpdir,
            network=settings.network,
            own=own,
            extra=settings.writable,
            # files named on the command line (a settings file, a script) stay readable
            visible=[
                *(arg for arg in argv if os.path.isabs(arg) and os.path.exists(arg)),
                # specflow's interpreter (the guard hook runs it) and its environment's packages
                *((sys.executable, sys.prefix, _PACKAGE_DIR) if sys.executable else ()),
            ],
        )
        marker = os.urandom(16).hex()  # as random as uuid4, without importing uuid (and platform)
        full_env = {**env, "TMPDIR": str(policy.tmpdir), MARKER_ENV: marker}
        held, release = os.pipe() if hold else (-1, None)
        try:
            proc = subprocess.Popen(
                wrapped_argv(layer, policy, list(argv), hold=held),
                cwd=cwd,
                env=full_env,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                pass_fds=(held,) if hold else (),
            )
        except BaseException:
            if release is not None:
                os.close(release)
            raise
        finally:
            if hold:
                os.close(held)
    except BaseException:
        remove_tree(tmpdir, ignore_errors=True)
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.rmdir()
        raise
    enforced = settings.network == "any" or (layer != "off" and network_problem(layer, settings.network) is None)
    return Launched(proc, layer, policy, marker, enforced, created, release)


def remove_left_tmpdir(path: object) -> bool:
    """Remove the private temporary folder an agent had when its specflow was killed (``spawn``
    made it, ``Launched.close`` never ran); True when it was there and is gone.

    The path comes from the in-flight record, so it is believed only when it names such a folder:
    named as ``spawn`` names them, directly in a temporary folder, a folder (not a link) of this
    user.  What the agent left in it goes with it.
    """
    if not isinstance(path, str) or not named_as_made(path, TMPDIR_PREFIX):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return False
    remove_tree(Path(path), ignore_errors=True)
    return not os.path.lexists(path)


__all__ = [
    "MARKER_ENV",
    "TMPDIR_PREFIX",
    "Launched",
    "can_hold",
    "helper_argv",
    "remove_left_tmpdir",
    "spawn",
    "wrapped_argv",
]
