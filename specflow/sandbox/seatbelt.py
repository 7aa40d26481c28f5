"""macOS seatbelt: a generated ``sandbox-exec`` profile.

Everything is allowed, then every file write denied, then the writable folders allowed, then git's
data and specflow's records inside them denied again: in a seatbelt profile the last matching rule
decides.  Network ``none`` denies all of it; ``loopback`` allows only ``localhost`` (seatbelt, unlike
Landlock, sees addresses).  The profile's text is unit-tested on Linux; it has not been run on a Mac
by specflow's tests (see the README).
"""

from __future__ import annotations

import os
from pathlib import Path

from specflow.sandbox.policy import SandboxPolicy

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
#: Device files every program expects to write.
DEVICES = ("/dev/null", "/dev/zero", "/dev/tty", "/dev/dtracehelper")


def available() -> bool:
    return os.path.exists(SANDBOX_EXEC)


def _quote(path: Path | str) -> str:
    text = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def profile(policy: SandboxPolicy) -> str:
    """The SBPL profile text for ``policy``."""
    lines = ["(version 1)", "(allow default)", "(deny file-write*)"]
    allow = [f"(literal {_quote(d)})" for d in DEVICES]
    allow += [f"(subpath {_quote(p)})" for p in policy.writable]
    allow.append('(regex #"^/dev/ttys[0-9]+$")')
    lines.append("(allow file-write*\n    " + "\n    ".join(allow) + ")")
    if policy.protected:
        deny = [f"(subpath {_quote(p)})" for p in policy.protected]
        lines.append("(deny file-write*\n    " + "\n    ".join(deny) + ")")
    if policy.network == "none":
        lines.append("(deny network*)")
    elif policy.network == "loopback":
        lines.append("(deny network*)")
        lines.append('(allow network* (remote ip "localhost:*") (local ip "localhost:*") (remote unix-socket))')
    return "\n".join(lines) + "\n"


def wrap(policy: SandboxPolicy, argv: list[str]) -> list[str]:
    """The ``sandbox-exec`` argv running ``argv`` under ``policy``."""
    return [SANDBOX_EXEC, "-p", profile(policy), *argv]
