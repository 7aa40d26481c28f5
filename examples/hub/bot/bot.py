"""The Greeter chat bot: one function from a message to a reply.

``reply`` is all the bot is; a chat platform adapter (not in this repo) calls it for every
message and sends back what it returns.
"""

from __future__ import annotations

HELP = {
    "/help": "list the commands",
    "/ping": "check that the bot is alive",
    "/hello <name>": "greet someone",
}


def greet(name: str) -> str:
    """The greeting for ``name`` (see the hub's greetings spec)."""
    return f"Hello, {name}!"


def reply(message: str) -> str:
    """The bot's answer to one chat message."""
    command, _, rest = message.strip().partition(" ")
    if command == "/help":
        return "\n".join(f"{name} - {what}" for name, what in HELP.items())
    if command == "/ping":
        return "pong"
    if command == "/hello":
        return greet(rest)
    return f"I don't know {command}. Try /help."


if __name__ == "__main__":
    import sys

    for line in sys.stdin:
        print(reply(line))
