"""Everything the pages and endpoints share, built once by :func:`web.app.create_app` and
handed to them through ``app.state.web`` (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.templating import Jinja2Templates
from redis.asyncio import Redis

from acd.agents import Agent
from acd.live import LiveState
from records.rules import RequestRules

from .controller import ControllerClient
from .events import EventBus
from .records import Records
from .sessions import SessionStore


@dataclass
class WebContext:
    redis: Redis
    live: LiveState
    sessions: SessionStore
    records: Records
    events: EventBus
    controller: ControllerClient
    templates: Jinja2Templates
    agents: Callable[[], dict[str, Agent]]   # the operators file, as the controller reads it
    request_rules: Callable[[], RequestRules]
    demo_passwords: dict[str, str] = field(default_factory=dict)
    prompt_texts: dict[str, str] = field(default_factory=dict)  # prompt id -> Vietnamese text
    secure_cookies: bool = False  # behind TLS: cookies only over HTTPS
    runtime: Path | None = None
