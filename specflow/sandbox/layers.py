"""Choosing the layer that holds an agent: the strongest that works here, or the one asked for.

``auto`` takes bubblewrap where it is installed and working (it also makes git's data and
specflow's records read-only inside writable folders, and has a PID namespace), then Landlock
(any Linux since 5.13, no dependency), then seatbelt on macOS.  ``require_sandbox`` turns "none
available" and ``sandbox: off`` into an error before the phase starts.
"""

from __future__ import annotations

import sys

from specflow.errors import SandboxError
from specflow.sandbox import bubblewrap, seatbelt
from specflow.sandbox.settings import NETWORKS, Layer, SandboxSettings

AUTO_ORDER: tuple[Layer, ...] = ("bubblewrap", "landlock", "seatbelt")
_CONFIG_FIX = "set 'sandbox:' in specflow.yaml (or under the agent) to auto, landlock, bubblewrap, seatbelt or off"


def problem(layer: Layer) -> str | None:
    """Why ``layer`` cannot run here (None when it can)."""
    if layer == "off":
        return None
    if layer == "bubblewrap":
        if not sys.platform.startswith("linux"):
            return "bubblewrap runs on Linux only"
        return bubblewrap.problem()
    if layer == "landlock":
        if not sys.platform.startswith("linux"):
            return "Landlock is a Linux feature"
        from specflow.sandbox.landlock import abi_version  # ctypes' door: only where Landlock may hold an agent

        abi = abi_version()
        return None if abi >= 1 else "this kernel has no Landlock (or it is disabled)"
    if sys.platform != "darwin":
        return "seatbelt (sandbox-exec) is a macOS feature"
    return None if seatbelt.available() else f"{seatbelt.SANDBOX_EXEC} is missing"


def available_layers() -> list[Layer]:
    """Every layer that works here, strongest first."""
    return [layer for layer in AUTO_ORDER if problem(layer) is None]


def strongest_available() -> Layer | None:
    """The strongest layer that works here, looking no further: where bubblewrap works, Landlock
    is not probed (its ``ctypes``, ~1.5 ms of a phase's start, stays unimported)."""
    return next((layer for layer in AUTO_ORDER if problem(layer) is None), None)


def network_problem(layer: Layer, network: str) -> str | None:
    """Why ``layer`` cannot enforce ``network`` (None when it can, or nothing is asked)."""
    if network == "any" or layer in ("bubblewrap", "seatbelt"):
        return None
    if layer == "landlock":
        from specflow.sandbox.landlock import NETWORK_ABI, abi_version  # ctypes' door, as above

        if abi_version() >= NETWORK_ABI:
            return None
    return f"the {layer} layer cannot limit the network here"


def choose_layer(settings: SandboxSettings) -> Layer:
    """The layer for one run, or ``SandboxError`` saying what was found, what is needed and the fix."""
    if settings.network not in NETWORKS:
        raise SandboxError(
            f"unknown network setting {settings.network!r}; expected one of {', '.join(NETWORKS)}",
            fix="set 'network:' in specflow.yaml to any, loopback or none",
        )
    mode = settings.mode
    if mode == "off":
        if settings.require:
            raise SandboxError(
                "require_sandbox is true but the sandbox is turned off (sandbox: off); the agent was not started",
                fix="set 'sandbox: auto' (or a layer) in specflow.yaml and under the agent, or drop 'require_sandbox'",
            )
        return "off"
    if mode == "auto":
        layer: Layer = strongest_available() or "off"
        if layer == "off" and settings.require:
            reasons = "; ".join(f"{name}: {problem(name)}" for name in AUTO_ORDER)
            raise SandboxError(
                f"require_sandbox is true but no sandbox layer works here ({reasons}); the agent was not started",
                fix="install bubblewrap (apt-get install bubblewrap), use a kernel with Landlock,"
                " or drop 'require_sandbox' from specflow.yaml",
            )
    elif mode in AUTO_ORDER:
        why = problem(mode)
        if why is not None:
            raise SandboxError(
                f"the sandbox layer {mode!r} asked for in specflow.yaml cannot run here: {why}",
                fix=f"install it, or set 'sandbox: auto' to take the strongest available ({_CONFIG_FIX})",
            )
        layer = mode
    else:
        raise SandboxError(f"unknown sandbox layer {mode!r}", fix=_CONFIG_FIX)
    why_net = network_problem(layer, settings.network)
    if why_net is not None and settings.require:
        raise SandboxError(
            f"require_sandbox is true and network is {settings.network!r}, but {why_net}",
            fix="install bubblewrap, use a kernel with Landlock ABI 4 or later, or set 'network: any'",
        )
    return layer
