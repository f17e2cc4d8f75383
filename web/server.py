"""``hotline web``: the web application of one hotline instance, on uvicorn.

It is its own process (started and stopped by ``hotline up``/``down`` beside the controller),
so nothing a browser or an API client does can hold up the controller's event loop, where the
calls are; it reads the live state from Redis and the records from the database, and sends the
operators' commands to the controller's control socket. It listens on ``web_bind:web_port``
(loopback by default; ``hotline up --web-bind 0.0.0.0`` for other machines, behind TLS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from redis.asyncio import Redis
from ruamel.yaml import YAML

from acd.agents import AgentsError, load_agents
from acd.live import LiveState
from hotline.config import PROJECT_ROOT, Settings
from hotline.processes import control_socket
from hotline.redact import configure_logging
from records.database import make_engine, make_sessions
from records.rules import load_rules

from .app import create_app, templates
from .context import WebContext
from .controller import ControllerClient
from .events import EventBus
from .records import Records
from .sessions import SessionStore

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

log = logging.getLogger("web")
T = TypeVar("T")
CATALOGUE = PROJECT_ROOT / "prompts" / "catalogue.yaml"
REQUEST_RULES = PROJECT_ROOT / "dialplans" / "requests.yaml"


class FileCache(Generic[T]):
    """A file's parsed content, read again when the file changes; a file that no longer
    parses keeps the last good content (and says so in the log)."""

    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self.path = path
        self.load = load
        self._stamp: float | None = None
        self._value: T | None = None

    def __call__(self) -> T:
        try:
            stamp = self.path.stat().st_mtime
        except OSError:
            stamp = -1.0
        if stamp != self._stamp or self._value is None:
            try:
                self._value = self.load(self.path)
                self._stamp = stamp
            except (AgentsError, OSError, ValueError) as exc:
                if self._value is None:
                    raise
                log.error("%s not reloaded (%s); the last good one stays", self.path, exc)
                self._stamp = stamp
        return self._value


def prompt_texts(path: Path = CATALOGUE) -> dict[str, str]:
    """Prompt id -> its Vietnamese text (what the caller heard), from the catalogue."""
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError) as exc:
        log.warning("prompt texts unavailable (%s): the desk shows prompt ids only", exc)
        return {}
    return {str(k): str(v.get("vi", "")) for k, v in data.items() if isinstance(v, dict)}


def build_context(settings: Settings) -> WebContext:
    redis = Redis(**settings.redis_connection(), socket_timeout=5, socket_connect_timeout=2)
    sessions = make_sessions(make_engine(settings.database_url, busy_timeout_ms=3000))
    return WebContext(
        redis=redis, live=LiveState(redis), sessions=SessionStore(redis),
        records=Records(sessions), events=EventBus(redis),
        controller=ControllerClient(control_socket(settings)), templates=templates(),
        agents=FileCache(Path(settings.agents_file), load_agents),
        request_rules=FileCache(REQUEST_RULES, load_rules),
        demo_passwords=dict(settings.web_passwords), prompt_texts=prompt_texts(),
        secure_cookies=settings.web_secure_cookies, runtime=settings.runtime)


def run(settings: Settings) -> int:
    import uvicorn

    configure_logging(settings)  # every line masked: no secret reaches the log
    app = create_app(build_context(settings))
    config = uvicorn.Config(app, host=settings.web_bind, port=settings.web_port,
                            log_config=None, access_log=False, server_header=False,
                            timeout_graceful_shutdown=5, lifespan="on")
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


async def serve_in_this_loop(app: FastAPI, port: int, **options: Any
                             ) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """``app`` on uvicorn on 127.0.0.1:``port`` in the running event loop, for a program that
    drives it from the same process (the desk benchmark, the screenshots); ``options`` go to
    ``uvicorn.Config``. Returns once it listens: the server and the task serving it (to stop
    it: ``server.should_exit = True``, then await the task)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", **options))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return server, serving
