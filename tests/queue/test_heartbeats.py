"""When each machine's worker was last seen, in the queue's real database: SQLite and PostgreSQL.

The time is the database's: two clients (two machines) read the same silence for a machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from specflow.queue.heartbeats import Heartbeats, engine_url
from specflow.queue.place import QueueDatabase
from tests.queue.postgres import Postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> QueueDatabase:
    if request.param == "sqlite":
        return QueueDatabase(f"sqlite:///{tmp_path / 'queue.sqlite'}", "sqlite", "test")
    postgres: Postgres = request.getfixturevalue("postgres")
    return QueueDatabase(postgres.url("postgres"), "postgresql", "test")


@pytest.fixture
def two(database: QueueDatabase) -> Iterator[tuple[Heartbeats, Heartbeats]]:
    """The heartbeats as two machines' workers see them, each through its own connection."""
    first, second = Heartbeats(database), Heartbeats(database)
    yield first, second
    first.close()
    second.close()


def test_a_machine_never_seen_is_not_listed_and_one_seen_is_silent_since(two: tuple[Heartbeats, Heartbeats]) -> None:
    alpha, beta = f"alpha-{uuid.uuid4().hex[:6]}", f"beta-{uuid.uuid4().hex[:6]}"
    here, there = two
    assert alpha not in there.silent()  # the table is made on first use, by whichever comes first
    here.beat(alpha)
    time.sleep(0.4)
    there.beat(beta)
    silent = there.silent()
    assert 0.35 < silent[alpha] < 5.0
    assert 0.0 <= silent[beta] < silent[alpha]
    assert here.silent()[alpha] >= silent[alpha]  # one clock, the database's, for every machine
    here.beat(alpha)  # seen again: the same row, its silence back to nothing
    again = there.silent()
    assert again[alpha] < silent[alpha]
    assert list(again).count(alpha) == 1


def test_postgresql_urls_are_given_the_driver_dbos_installs_and_a_connect_timeout() -> None:
    def pg(url: str) -> str:
        return engine_url(QueueDatabase(url, "postgresql", "test"))

    assert pg("postgresql://u:p@h:5432/q") == "postgresql+psycopg://u:p@h:5432/q?connect_timeout=10"
    assert pg("postgres://h/q?sslmode=require") == "postgresql+psycopg://h/q?sslmode=require&connect_timeout=10"
    assert pg("postgresql+psycopg://h/q?connect_timeout=3") == "postgresql+psycopg://h/q?connect_timeout=3"
    sqlite = QueueDatabase("sqlite:////tmp/q.sqlite", "sqlite", "test")
    assert engine_url(sqlite) == "sqlite:////tmp/q.sqlite"
