"""When each machine's worker was last seen, kept in the queue's database beside DBOS's tables.

A worker says it is alive every time it looks for runs of machines that died (a third of a lease's
term, at most 30 s): one row per machine name, ``specflow_worker_seen``, its time the database's
own clock (never the machines' clocks, which may disagree).  Another machine's worker reads how
long each has been silent: a run waiting on the shared queue under a machine silent for longer than
a lease's term (waiting for an approval, or taken just before its machine died, before any lease)
belongs to a machine that is gone, and is handed back to the queue.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy

from specflow.queue.place import QueueDatabase

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

TABLE = "specflow_worker_seen"

#: The database's clock as seconds since the epoch, per kind of database.
_NOW = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


def engine_url(database: QueueDatabase) -> str:
    """The database's URL for SQLAlchemy (its connect timeout kept), with the PostgreSQL driver DBOS
    installs (psycopg 3)."""
    if database.kind == "postgresql":
        return re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql+psycopg://", database.connect_url)
    return database.url


class Heartbeats:
    """The table of when each machine's worker was last seen (created on first use)."""

    def __init__(self, database: QueueDatabase) -> None:
        self._now = _NOW[database.kind]
        self._engine: Engine = sqlalchemy.create_engine(engine_url(database), pool_pre_ping=True)
        self._made = False

    def _table(self, conn: Connection) -> None:
        if self._made:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    sqlalchemy.text(
                        f"CREATE TABLE IF NOT EXISTS {TABLE}"
                        " (machine VARCHAR(63) PRIMARY KEY, seen DOUBLE PRECISION NOT NULL)"
                    )
                )
        except sqlalchemy.exc.DBAPIError:
            # two workers creating it at once: PostgreSQL refuses the second; the table is there
            if not sqlalchemy.inspect(conn).has_table(TABLE):
                raise
        self._made = True

    def beat(self, machine: str) -> None:
        """Record that ``machine``'s worker is alive now."""
        with self._engine.begin() as conn:
            self._table(conn)
            conn.execute(
                sqlalchemy.text(
                    f"INSERT INTO {TABLE} (machine, seen) VALUES (:machine, {self._now})"
                    " ON CONFLICT (machine) DO UPDATE SET seen = excluded.seen"
                ),
                {"machine": machine},
            )

    def silent(self) -> dict[str, float]:
        """Each machine whose worker was ever seen -> seconds since it was last seen."""
        with self._engine.begin() as conn:
            self._table(conn)
            rows = conn.execute(sqlalchemy.text(f"SELECT machine, {self._now} - seen FROM {TABLE}")).all()
        return {str(machine): max(0.0, float(quiet)) for machine, quiet in rows}

    def close(self) -> None:
        self._engine.dispose()


__all__ = ["TABLE", "Heartbeats", "engine_url"]
