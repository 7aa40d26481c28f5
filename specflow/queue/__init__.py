"""The durable queue (the optional extra ``specflow[queue]``, on DBOS).

``specflow advance <id> --queue`` enqueues a DBOS workflow that advances the change, one step per
phase; ``specflow worker`` runs the phases queued for its machine, and those of changes pushed to
their remotes, which any machine's worker pulls, runs under the change's lease and pushes.  SQLite under the hub's
``.specflow/queue/`` on one machine, with no setting; a PostgreSQL database shared by several
machines (``SPECFLOW_QUEUE_DATABASE`` or ``queue: {database: ...}`` in ``specflow.yaml``).

This package's ``__init__`` and ``place``/``hooks`` modules never import DBOS; ``client`` (enqueue,
list, wake), ``flow`` (the workflow) and ``worker`` do, and ``heartbeats`` (when each machine's
worker was last seen) imports SQLAlchemy: each is imported only by what uses it.
"""

from specflow.queue.place import DATABASE_ENV, MACHINE_ENV, QueueDatabase, database_for, machine_name, queue_name

__all__ = ["DATABASE_ENV", "MACHINE_ENV", "QueueDatabase", "database_for", "machine_name", "queue_name"]
