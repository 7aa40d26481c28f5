"""Notifications when a change starts needing a person: on the desktop, and through a webhook.

A ``Notifier`` watches successive boards; a card that enters the "needs you" lane (or needs
something else than before) is announced once.  The desktop notification uses ``notify-send``
(Linux) or ``osascript`` (macOS) when present; the webhook, ``notify: {webhook: URL}`` in
``specflow.yaml``, receives a POST of ``{"text": "..."}``, which chat tools' incoming webhooks
accept.  Sending never blocks the watcher and never raises: failures are kept in ``errors``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

from specflow.structs import Struct, field

if TYPE_CHECKING:
    from specflow.engine.board import Board, Card
    from specflow.engine.hub import Hub

NEEDS_LABEL = {
    "approval": "waits for your approval",
    "failed": "failed an attempt",
    "merge": "is ready to merge",
    "budget": "has spent its budget",
    "interrupted": "was interrupted",
}
WEBHOOK_TIMEOUT_S = 5.0


def message_for(card: Card) -> str:
    """What a notification says about ``card``."""
    what = NEEDS_LABEL.get(card.needs or "", "needs you")
    reason = f": {card.needs_reason}" if card.needs_reason else ""
    return f"specflow: {card.id} {what}{reason}"[:400]


def desktop_command(title: str, text: str) -> list[str] | None:
    """The command that shows a desktop notification here, or None where there is none."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {json.dumps(text)} with title {json.dumps(title)}"
        return ["osascript", "-e", script]
    notify_send = shutil.which("notify-send")
    if notify_send:
        return [notify_send, "--app-name=specflow", title, text]
    return None


def post_webhook(url: str, text: str, timeout: float = WEBHOOK_TIMEOUT_S) -> None:
    """POST ``{"text": text}`` as JSON to ``url``; raises ``OSError`` when it is not accepted."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "specflow"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"the webhook answered HTTP {response.status}")


class Notifier(Struct):
    """Announces each card that starts needing a person, once."""

    webhook: str | None = None
    desktop: bool = True
    errors: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    _seen: dict[str, str | None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    background: Callable[[Callable[[], None]], None] | None = None
    """How to send without blocking (default: a daemon thread); tests may send inline."""

    @classmethod
    def for_hub(cls, hub: Hub) -> Notifier:
        config = hub.config.notify
        return cls(webhook=config.webhook, desktop=config.desktop)

    def observe(self, board: Board) -> list[Card]:
        """Compare ``board`` with the last one seen; announce and return the cards that newly need you.

        The first board only sets the baseline: starting a watcher announces nothing.
        """
        needs: dict[str, str | None] = {c.id: c.needs for c in board.cards if c.lane == "needs-you"}
        with self._lock:
            before, self._seen = self._seen, needs
        if before is None:
            return []
        fresh = [c for c in board.cards if c.lane == "needs-you" and before.get(c.id) != c.needs]
        for card in fresh:
            self.announce(message_for(card))
        return fresh

    def announce(self, text: str) -> None:
        """Send ``text`` to every configured channel."""
        self.sent.append(text)
        run = self.background or _in_thread
        if self.desktop:
            command = desktop_command("specflow", text)
            if command is not None:
                run(lambda: self._desktop(command))
        if self.webhook:
            url = self.webhook
            run(lambda: self._webhook(url, text))

    def _desktop(self, command: list[str]) -> None:
        try:
            subprocess.run(command, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            self.errors.append(f"desktop notification failed: {exc}")

    def _webhook(self, url: str, text: str) -> None:
        try:
            post_webhook(url, text)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            self.errors.append(f"webhook {url} failed: {exc}")


def _in_thread(job: Callable[[], None]) -> None:
    threading.Thread(target=job, name="specflow-notify", daemon=True).start()


__all__ = ["Notifier", "desktop_command", "message_for", "post_webhook"]
