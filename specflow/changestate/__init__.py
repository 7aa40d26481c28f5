"""A change's own state on disk, below the engine and the workspaces that both use it: its records
(``state.json``, ``history.jsonl`` and their running totals), the files they are written with, the
replay of a history two clones merged, the lock that makes one process their writer, and the
machine each event names."""
