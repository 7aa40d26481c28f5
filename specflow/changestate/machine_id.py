"""This machine's name: where an attempt ran, and who holds a change's lease.

``SPECFLOW_MACHINE`` wins, then ``machine:`` in the user's ``~/.config/specflow/config.yaml``
(``$XDG_CONFIG_HOME`` when set), then the host name.  Two clones on one host are two machines when
they set different names, which is how the tests play two machines.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from specflow.errors import ConfigError, DefinitionError
from specflow.yamlio import load_yaml

ENV_VAR = "SPECFLOW_MACHINE"
USER_CONFIG = Path("specflow") / "config.yaml"

# Names appear in history, lease records and messages: printable, one line, no surprises.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}")


def host_name() -> str:
    """This host's name, as ``socket.gethostname`` gives it (on POSIX both read ``uname``), without
    importing ``socket``: it builds enums of every socket constant, ~1.5 ms of each command."""
    return os.uname().nodename


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/specflow/config.yaml``, or ``~/.config/specflow/config.yaml``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / USER_CONFIG


def machine_name() -> str:
    """This machine's name (see the module's docstring for where it comes from)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _checked(env, f"the environment variable {ENV_VAR}", None)
    path = user_config_path()
    configured = _from_user_config(path)
    if configured is not None:
        return _checked(configured, f"'machine' in {path}", path)
    return host_name() or "localhost"


def _from_user_config(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return _parsed(path, st.st_mtime_ns, st.st_size)


@functools.cache
def _parsed(path: Path, _mtime_ns: int, _size: int) -> str | None:
    """``machine`` of the user config file, parsed once per version of the file."""
    try:
        doc = load_yaml(path)
    except DefinitionError as exc:
        raise ConfigError(exc.detail, file=exc.file or path, line=exc.line, fix=exc.fix) from None
    data = doc.data
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at the top level (e.g. 'machine: laptop')", file=path, line=1)
    value = data.get("machine")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"'machine' is {type(value).__name__}, expected a name",
            file=path,
            line=doc.line_of(("machine",)),
            key_path="machine",
            fix="write it as text, e.g. 'machine: laptop'",
        )
    return value.strip()


def _checked(name: str, where: str, path: Path | None) -> str:
    if _NAME.fullmatch(name):
        return name
    message = f"machine name {name!r} from {where} is not usable: expected letters, digits, '.', '_', '@', ':' or '-'"
    fix = "pick a short name such as 'laptop' or 'build-1'"
    if path is not None:
        raise ConfigError(message, file=path, key_path="machine", fix=fix)
    raise ConfigError(message, fix=f"{fix}: export {ENV_VAR}=laptop")


def recorded_machine() -> str:
    """The name history events carry: ``machine_name``, or the host name when that is misconfigured.

    Writing a record must never fail over the name; the engine calls ``machine_name`` before a
    phase, so a misconfigured name is reported there, with its fix.
    """
    try:
        return machine_name()
    except ConfigError:
        return host_name() or "localhost"
