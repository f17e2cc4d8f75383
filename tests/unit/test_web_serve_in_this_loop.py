"""``serve_in_this_loop``: the web application on uvicorn in the caller's event loop (the desk
benchmark and the screenshots drive it so), listening when it returns and stopped on request."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from hotline.config import free_port
from web.server import serve_in_this_loop


async def test_it_listens_when_it_returns_and_stops_when_told() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"answer": "pong"}

    port = free_port()
    server, serving = await serve_in_this_loop(app, port, lifespan="on")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        assert (await client.get("/ping")).json() == {"answer": "pong"}
    server.should_exit = True
    await serving
    assert serving.done() and serving.exception() is None
