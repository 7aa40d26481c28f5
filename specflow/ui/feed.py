"""The dashboard's live feed: follows every change's event log and the board, fans them out.

One ``Feed`` per server polls (every ``POLL_S``) each change's event log from where it stopped and
publishes each new event to every subscriber; it rebuilds the board in a worker thread when an
event arrives or at least every ``BOARD_S``, and publishes it when it differs.  Each server-sent
events stream is one subscriber: an ``asyncio.Queue`` it reads from.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.engine.eventreader import EventReader
from specflow.engine.events import events_dir
from specflow.errors import SpecflowError
from specflow.queue.hooks import queued_changes
from specflow.structs import Struct

if TYPE_CHECKING:
    from specflow.engine.board import Board
    from specflow.engine.hub import Hub
    from specflow.ui.notify import Notifier

POLL_S = 0.05
BOARD_S = 1.0
BOARD_AFTER_EVENT_S = 0.2
QUEUE_MAX = 1000


def board_data(hub: Hub, board: Board) -> dict[str, Any]:
    """The board as the page reads it, with ``queued``: each change with a queued run -> what it does."""
    data = board.to_dict()
    data["queued"] = queued_changes(hub)
    return data


class Message(Struct, frozen=True):
    """One server-sent event: its name (``agent`` or ``board``) and its JSON data."""

    name: str
    data: dict[str, Any]
    change_id: str | None = None


class Feed:
    """Follows a hub's event logs and board; ``subscribe`` gives a queue of ``Message``s."""

    def __init__(self, hub: Hub, notifier: Notifier | None = None) -> None:
        self.hub = hub
        self.notifier = notifier
        self.readers: dict[str, EventReader] = {}
        self.subscribers: set[asyncio.Queue[Message | None]] = set()
        self.board: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._board_due = 0.0
        self._board_last = 0.0
        # logs that exist now are followed from their end: their past is in each page's first fetch
        for log in self._logs():
            self.readers[log.stem] = EventReader.at_end(hub.root, log.stem)

    def _logs(self) -> list[Path]:
        folder = events_dir(self.hub.root)
        try:
            return [p for p in folder.iterdir() if p.suffix == ".jsonl" and p.is_file()]
        except OSError:
            return []

    def subscribe(self) -> asyncio.Queue[Message | None]:
        queue: asyncio.Queue[Message | None] = asyncio.Queue(QUEUE_MAX)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Message | None]) -> None:
        self.subscribers.discard(queue)

    def publish(self, message: Message | None) -> None:
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled page misses events, never the server
                queue.put_nowait(message)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.publish(None)  # every stream ends
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def poll_events(self) -> int:
        """Publish every new event of every log; returns how many."""
        for log in self._logs():
            if log.stem not in self.readers:
                self.readers[log.stem] = EventReader(self.hub.root, log.stem)
        count = 0
        for change_id, reader in self.readers.items():
            for event in reader.read():
                self.publish(Message("agent", event.to_dict(), change_id))
                count += 1
        return count

    def refresh_board(self) -> dict[str, Any] | None:
        """Rebuild the board; return it when it differs from the last one (and notify)."""
        board = self.hub.board()
        if self.notifier is not None:
            self.notifier.observe(board)
        data = board_data(self.hub, board)
        if data == self.board:
            return None
        self.board = data
        return data

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            fresh = self.poll_events()
            now = loop.time()
            # an agent's events move its card (its current tool call): rebuild soon, not on every event
            if now >= self._board_due or (fresh and now >= self._board_last + BOARD_AFTER_EVENT_S):
                self._board_due, self._board_last = now + BOARD_S, now
                with contextlib.suppress(SpecflowError, OSError, ValueError):  # read again next time
                    data = await asyncio.to_thread(self.refresh_board)
                    if data is not None:
                        self.publish(Message("board", data))
            await asyncio.sleep(POLL_S)


__all__ = ["Feed", "Message"]
