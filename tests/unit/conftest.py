"""Fixtures of the unit tests: a clean database of the session's private Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis


@pytest.fixture
async def redis(redis_server: str) -> AsyncIterator[Redis]:
    """A client of the session's Redis (tests/conftest.py), its database empty before and after."""
    client = Redis.from_url(redis_server)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
