"""The whole web application over ASGI (no server), for the web's unit tests: settings on the
session's private Redis (tests/conftest.py) with a migrated SQLite records database in the
test's folder, and a client of the application built on them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis

from hotline.config import Settings
from records.database import migrate
from web.app import create_app
from web.server import build_context


async def web_settings(folder: Path, redis_server: str) -> Settings:
    """Settings in ``folder`` on the session's Redis, its database emptied; records migrated."""
    server = urlsplit(redis_server)
    assert server.port is not None and server.password is not None
    settings = Settings(runtime=folder, redis_port=server.port, redis_password=server.password)
    migrate(settings.database_url)
    redis = Redis(**settings.redis_connection())
    await redis.flushdb()
    await redis.aclose()
    return settings


@contextlib.asynccontextmanager
async def asgi_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the web application on ``settings`` (its context closed on the way out)."""
    context = build_context(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(context)),
                                 base_url="http://desk.test") as client:
        yield client
    context.records.close()
    await context.redis.aclose()
