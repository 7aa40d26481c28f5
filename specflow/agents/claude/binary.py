"""Where the Claude Code executable is: configured, ``$SPECFLOW_CLAUDE``, PATH, or the copy the
``claude-agent-sdk`` package bundles.  Apart from the adapter, so ``doctor`` (on every advance)
checks it without loading the adapter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from specflow.errors import AgentError

BINARY_ENV = "SPECFLOW_CLAUDE"
INSTALL_HINT = (
    "install Claude Code (npm install -g @anthropic-ai/claude-code, or pip install"
    " claude-agent-sdk, which bundles it), or name the executable with 'binary:' under the agent"
    f" in specflow.yaml or in ${BINARY_ENV}"
)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def bundled_binary() -> Path | None:
    """The binary inside the ``claude-agent-sdk`` package, if that package is installed.

    Found without importing the package (its import is slow and has side effects).
    """
    try:
        spec = importlib.util.find_spec("claude_agent_sdk")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_bundled" / "claude"
        if _executable(candidate):
            return candidate
    return None


def _named(value: str, where: str, environ: Mapping[str, str]) -> Path:
    """A configured binary: a path, or a bare name looked up on PATH."""
    expanded = os.path.expanduser(value)
    if os.sep not in expanded:
        found = shutil.which(expanded, path=environ.get("PATH"))
        if found:
            return Path(found)
        raise AgentError(
            f"the Claude Code binary {value!r} named in {where} is not on PATH",
            fix=f"give its full path in {where}, or {INSTALL_HINT}",
        )
    path = Path(expanded)
    if not _executable(path):
        state = "is not executable" if path.exists() else "does not exist"
        raise AgentError(
            f"the Claude Code binary {path} named in {where} {state}",
            fix=f"correct the path in {where}, or {INSTALL_HINT}",
        )
    return path


def find_binary(configured: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The Claude Code executable: configured, then ``$SPECFLOW_CLAUDE``, PATH, the SDK's copy."""
    env = os.environ if environ is None else environ
    if configured:
        return _named(str(configured), "specflow.yaml (the agent's 'binary')", env)
    if env.get(BINARY_ENV):
        return _named(env[BINARY_ENV], f"${BINARY_ENV}", env)
    found = shutil.which("claude", path=env.get("PATH"))
    if found:
        return Path(found)
    bundled = bundled_binary()
    if bundled is not None:
        return bundled
    raise AgentError(
        "Claude Code is not installed: no 'binary' in specflow.yaml, no"
        f" ${BINARY_ENV}, no 'claude' on PATH and no claude-agent-sdk package",
        fix=INSTALL_HINT,
    )
