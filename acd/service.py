"""The ACD service: thin shell between Asterisk (AMI events and actions), the live state in Redis
and the pure routing decision. See docs/acd.md for the whole flow.

AMI events are handled one at a time, in arrival order, by a single worker; handlers stay thin:
filter, update the live state, ask for a routing pass, act. A routing pass runs once the events
already queued are handled (160 callers joining at once cost one pass, not 160). Two passes at
once are safe anyway: every reservation is one atomic Lua script in Redis (the same guarantee
that lets several controllers share one ACD), and every move of a waiting call is a
compare-and-set there.

Nothing the worker awaits is slow: the records on a joining caller (sticky operator, screen pop)
are looked up beside it (:mod:`acd.service_lookups`), and internal messages coalesce (at most one
routing pass and one tick wait in the queue); the queue otherwise holds AMI events only.

This module wires the parts, which live in their own modules: what they share
(:mod:`acd.service_context`), callers joining and overflow (:mod:`acd.service_joins`), the
screen-pop lookups (:mod:`acd.service_lookups`), callbacks
(:mod:`acd.service_callbacks`), routing and ringing operators (:mod:`acd.service_ringing`),
hang-ups and wrap-up (:mod:`acd.service_hangups`), operators' commands
(:mod:`acd.service_commands`), transfers (:mod:`acd.service_transfers`), announcements (:mod:`acd.service_announcements`) and the rebuild
after a restart (:mod:`acd.service_rebuild`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from acd.agents import Agent
from acd.ami.client import AmiClient
from acd.ami.errors import AmiError
from acd.ami.protocol import Message

from .live import LiveState
from .queues import Routing
from .screen_pop import CallerFacts
from .service_announcements import Announcements, estimated_wait_s
from .service_callbacks import Callbacks
from .service_commands import PAUSE_REASONS, AgentCommandError, AgentCommands
from .service_context import AcdContext, AcdSettings, OnConnected
from .service_hangups import Hangups
from .service_joins import Joins
from .service_lookups import Lookups
from .service_rebuild import rebuild
from .service_ringing import Ringing
from .service_transfers import TransferError, Transfers
from .states import AgentStateError, AgentStatus

__all__ = ["PAUSE_REASONS", "AcdService", "AcdSettings", "AgentCommandError", "TransferError"]

log = logging.getLogger("acd")

TICK = Message((("Event", "AcdTick"),))
ROUTE = Message((("Event", "AcdRoute"),))
DEFAULTS = AcdSettings()


class AcdService:
    def __init__(self, live: LiveState, ami: AmiClient, agents: Callable[[], dict[str, Agent]],
                 sounds: str, *, settings: AcdSettings = DEFAULTS,
                 routing: Callable[[], Routing] = Routing,
                 caller_facts: Callable[[str, str], Awaitable[CallerFacts]] | None = None,
                 on_connected: OnConnected | None = None,
                 on_attempt: Callable[[str, dict[str, Any]], Any] | None = None,
                 on_wrap_up: Callable[[str, str, str], Any] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.live = live
        self.ami = ami
        self.agents = agents
        self.sounds = sounds
        self.settings = settings
        self.routing = routing
        self.ctx = AcdContext(live, ami, agents, sounds, settings, routing, clock,
                              route_soon=self._route_soon, on_connected=on_connected,
                              on_attempt=on_attempt, on_wrap_up=on_wrap_up)
        self.lookups = Lookups(self.ctx, caller_facts)
        self.joins = Joins(self.ctx, self.lookups)
        self.callbacks = Callbacks(self.ctx)
        self.ringing = Ringing(self.ctx)
        self.hangups = Hangups(self.ctx, self.ringing)
        self.commands = AgentCommands(self.ctx)
        self.transfers = Transfers(self.ctx, self.hangups)
        self.announcements = Announcements(self.ctx)
        self._events: asyncio.Queue[Message] = asyncio.Queue()
        self._route_pending = False
        self._tick_pending = False
        self._worker: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="acd events")
        self._ticker = asyncio.create_task(self._tick(), name="acd ticker")
        self.lookups.start()

    async def _tick(self, every_s: float = 2.0) -> None:
        """Requirements relax as calls wait: look again every few seconds. Ticks coalesce: at
        most one waits in the queue, however long the worker is busy."""
        while True:
            await asyncio.sleep(every_s)
            if not self._tick_pending:
                self._tick_pending = True
                self._events.put_nowait(TICK)

    async def stop(self) -> None:
        tasks = [t for t in [self._worker, self._ticker, *self.ctx.timers] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.lookups.stop()

    def on_event(self, message: Message) -> None:
        """AMI event callback (synchronous): queue it for the worker."""
        if message.name in ("UserEvent", "OriginateResponse", "Hangup") or (
                message.name == "DeviceStateChange"
                and message.get("Device", "").startswith("PJSIP/")):
            self._events.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._events.get()
            try:
                await self._handle(message)
                if self._route_pending and self._events.empty():
                    self._route_pending = False  # a burst (160 joins at once) routes once
                    await self.route()
            except (AmiError, AgentStateError) as exc:
                log.warning("ACD: %s while handling %s", exc, message.name)
            except Exception:
                log.exception("ACD: handling %s failed", message.name)

    def _route_soon(self) -> None:
        """Route once the events already queued are handled."""
        if not self._route_pending:
            self._route_pending = True
            self._events.put_nowait(ROUTE)

    async def _handle(self, message: Message) -> None:
        if message is TICK:
            self._tick_pending = False
            await self.hangups.end_due_wrap_ups()
            if await self.ringing.forget_stale_offers():
                await self.rebuild()
            await self.overflow_long_waits()
            await self.route()
            if self.announcements.due():
                await self.announce()
            return
        name = message.name
        if name == "UserEvent":
            kind = message.get("UserEvent", "")
            handler = {"AcdJoin": self.joins.join, "AcdAgentAnswered": self.ringing.answered,
                       "AcdCallback": self.callbacks.requested,
                       "AcdCallbackResult": self.callbacks.result,
                       "AcdRingResult": self.ringing.ring_result,
                       "AcdLeave": self.joins.left}.get(kind)
            if handler is not None:
                await handler(message)
        elif name == "OriginateResponse":
            await self.ringing.originate_result(message)
        elif name == "Hangup":
            await self.hangups.hangup(message)
        elif name == "DeviceStateChange":
            await self.ringing.phone_state(message)

    # -- what the controller (and the tests) call ----------------------------------------------

    async def agent_command(self, agent_id: str, action: str, reason: str | None = None
                            ) -> AgentStatus:
        """An operator's command (feature code or ``hotline agents``); raises
        AgentCommandError or AgentStateError when it cannot be done."""
        return await self.commands.run(agent_id, action, reason)

    async def transfer(self, agent_id: str, call_id: str, skill: str) -> None:
        """The operator sends the caller of their call to ``skill``'s queue; raises
        TransferError when it cannot be done (nothing changed then)."""
        await self.transfers.to_skill(agent_id, call_id, skill)

    async def route(self) -> None:
        """One routing pass: decide, reserve (atomic in Redis), ring the operators chosen."""
        await self.ringing.route()

    async def overflow_long_waits(self) -> None:
        await self.joins.overflow_long_waits()

    async def announce(self) -> None:
        await self.announcements.announce()

    async def rebuild(self) -> None:
        """Make Redis agree with Asterisk after a restart or an AMI reconnect."""
        await rebuild(self.ctx, self.ringing, self.hangups, self.joins)

    def estimated_wait_s(self, position: int, skill_agents: int, handle_s: float) -> float:
        return estimated_wait_s(position, skill_agents, handle_s)
