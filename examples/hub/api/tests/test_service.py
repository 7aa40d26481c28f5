"""Tests of the API's routes, one per scenario of the living specs."""

from __future__ import annotations

import unittest

from service import route


class HealthTest(unittest.TestCase):
    def test_the_service_is_up(self) -> None:
        self.assertEqual(route("GET", "/health"), (200, {"status": "ok"}))

    def test_a_route_that_does_not_exist(self) -> None:
        self.assertEqual(route("GET", "/nope"), (404, {"error": "no route for GET /nope"}))


if __name__ == "__main__":
    unittest.main()
