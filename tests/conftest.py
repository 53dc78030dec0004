"""Shared fixtures: a real redis-server per test that needs one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server on a free port, killed after the test."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()
