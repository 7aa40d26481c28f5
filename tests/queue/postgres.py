"""A real PostgreSQL server for the queue's tests and benchmark: Debian's package, a temporary
folder, 127.0.0.1, a free port.

``initdb`` refuses to run as root, so as root the server is run as the ``postgres`` user the
package creates.  It is stopped with ``pg_ctl -m fast stop`` on its own data folder, never by
name.  The ``postgres`` fixture (``tests/queue/conftest.py``) skips without it locally and fails
under ``CI=true`` (``.ci/run`` installs the package).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MISSING = (
    "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb and no initdb on PATH"
    " (run: bash .ci/run, or: apt-get install -y postgresql)"
)


def find_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    """A running server: ``url(name)`` is a database URL on it (DBOS creates the database)."""

    bin: Path
    data: Path
    port: int
    user: str | None  # the OS user the server runs as (None: this process's)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            user=self.user,
            cwd=self.data.parent,
            check=False,
        )

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        init = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        assert init.returncode == 0, init.stderr
        # a port found free may be taken before the server binds it (the suite's other worker
        # starts a server of its own): the server is started again on another, three times at most
        for attempt in range(3):
            if attempt:
                self.port = _free_port()
            # pg_ctl hands the options to sh: the folder is quoted for it (a temporary folder may hold a space)
            sockets = shlex.quote(str(self.data))
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={sockets}"
            options += " -c fsync=off -c max_connections=200"
            log = self.data / "log"
            started = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")
            if started.returncode == 0:
                return
            if "already in use" not in log.read_text(errors="replace"):
                break
        raise AssertionError(started.stderr + (self.data / "log").read_text(errors="replace"))

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def running_postgres(bin_dir: Path) -> Iterator[Postgres]:
    """A server from ``bin_dir`` in a temporary folder, stopped and removed after."""
    user = "postgres" if os.geteuid() == 0 else None
    top = Path(tempfile.mkdtemp(prefix="specflow-pg-"))
    if user is not None:  # the server's user must own its folder
        entry = pwd.getpwnam(user)
        os.chown(top, entry.pw_uid, entry.pw_gid)
    server = Postgres(bin_dir, top / "data", _free_port(), user)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(top, ignore_errors=True)
