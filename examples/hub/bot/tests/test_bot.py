"""Tests of the bot's replies, one per scenario of the living specs."""

from __future__ import annotations

import unittest

from bot import reply


class CommandsTest(unittest.TestCase):
    def test_asking_for_help(self) -> None:
        lines = reply("/help").splitlines()
        self.assertEqual([line.split()[0] for line in lines], ["/help", "/ping", "/hello"])

    def test_ping(self) -> None:
        self.assertEqual(reply("/ping"), "pong")

    def test_something_the_bot_does_not_know(self) -> None:
        self.assertEqual(reply("/dance"), "I don't know /dance. Try /help.")


class GreetingsTest(unittest.TestCase):
    def test_hello_with_a_name(self) -> None:
        self.assertEqual(reply("/hello Ada"), "Hello, Ada!")


if __name__ == "__main__":
    unittest.main()
