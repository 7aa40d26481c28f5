"""Sandbox settings: which layer holds an agent, whether one is required, what network it gets.

``specflow.yaml`` says ``sandbox``, ``require_sandbox`` and ``network`` for the hub; an agent may say
``sandbox``, ``network`` and ``writable`` (extra writable paths its program needs); a phase may say
``network``.  The most specific one wins: phase, then agent, then hub.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from specflow.structs import Struct

Mode = Literal["auto", "landlock", "bubblewrap", "seatbelt", "off"]
Layer = Literal["landlock", "bubblewrap", "seatbelt", "off"]
Network = Literal["any", "loopback", "none"]

MODES: tuple[Mode, ...] = ("auto", "landlock", "bubblewrap", "seatbelt", "off")
NETWORKS: tuple[Network, ...] = ("any", "loopback", "none")


class SandboxSettings(Struct, frozen=True):
    """How one agent run is to be confined."""

    mode: Mode = "auto"
    require: bool = False
    """Refuse to run the agent when no layer can hold it (instead of running it unconfined)."""
    network: Network = "any"
    writable: tuple[str, ...] = ()
    """Extra paths the agent's own program must write (``~`` is expanded)."""

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "require": self.require, "network": self.network, "writable": list(self.writable)}


def settings_for(hub: Any, agent: Any, phase_network: str | None = None) -> SandboxSettings:
    """The settings of one run, from the hub's and the agent's configuration and the phase's network."""
    mode = getattr(agent, "sandbox", None) or getattr(hub, "sandbox", None) or "auto"
    network = phase_network or getattr(agent, "network", None) or getattr(hub, "network", None) or "any"
    return SandboxSettings(
        mode=cast(Mode, mode),
        require=bool(getattr(hub, "require_sandbox", False)),
        network=cast(Network, network),
        writable=tuple(getattr(agent, "writable", None) or ()),
    )
