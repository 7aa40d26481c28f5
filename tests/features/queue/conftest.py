"""The queue features use the queue tests' PostgreSQL server (one per session)."""

from tests.queue.conftest import postgres

__all__ = ["postgres"]
