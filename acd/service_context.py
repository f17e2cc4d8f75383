"""What the parts of the ACD service share: settings, the live state, the AMI client, the hooks
into the records, and a few helpers every part uses.

The service (:mod:`acd.service`) builds one :class:`AcdContext` and hands it to its parts:
callers joining and overflow (:mod:`acd.service_joins`), callbacks
(:mod:`acd.service_callbacks`), routing and ringing operators (:mod:`acd.service_ringing`),
hang-ups and wrap-up (:mod:`acd.service_hangups`), operators' commands
(:mod:`acd.service_commands`), announcements (:mod:`acd.service_announcements`) and the rebuild
after a restart (:mod:`acd.service_rebuild`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from acd.agents import Agent
from acd.ami.client import AmiClient

from .callback_policy import LIMIT, NOT_NATIONAL, WINDOW_S, callback_number
from .live import LiveState
from .queues import Routing
from .states import AgentStateError, Event

log = logging.getLogger("acd")


class OnConnected(Protocol):
    """The records' hook for a caller connected to an operator: who, after how long in the
    queue, and ``step``, the step of the call's path that says how (a callback attempt
    answered), to be recorded in the same write so that no reader sees one without the
    other."""

    def __call__(self, call_id: str, agent_id: str, wait_s: float,
                 step: dict[str, Any] | None = None) -> Any: ...


@dataclass(frozen=True)
class AcdSettings:
    ring_timeout_s: float = 15.0
    wrap_up_s: float = 10.0
    max_missed: int = 3
    announce_every_s: float = 30.0
    default_handle_s: float = 180.0
    # Offer "press 1 to be called back" only when callbacks can be placed (an outbound trunk is
    # configured): no caller is promised a call that never comes.
    callback: bool = False
    max_queue: int = 200          # more waiting callers than this: told to call later
    callback_attempts: int = 3
    callback_retry_s: float = 60.0
    callbacks_per_hour: int = 3   # per caller number (toll-fraud limit: acd.callback_policy)


class AcdContext:
    def __init__(self, live: LiveState, ami: AmiClient, agents: Callable[[], dict[str, Agent]],
                 sounds: str, settings: AcdSettings, routing: Callable[[], Routing],
                 clock: Callable[[], float] = time.time, *,
                 route_soon: Callable[[], None],
                 on_connected: OnConnected | None = None,
                 on_attempt: Callable[[str, dict[str, Any]], Any] | None = None,
                 on_wrap_up: Callable[[str, str, str], Any] | None = None) -> None:
        self.live = live
        self.ami = ami
        self.agents = agents
        self.sounds = sounds
        self.settings = settings
        self.routing = routing
        self.clock = clock
        self.route_soon = route_soon  # route once the events already queued are handled
        self.on_connected = on_connected
        self.on_attempt = on_attempt
        self.on_wrap_up = on_wrap_up  # (call id, operator, code): into the call's record
        self.timers: set[asyncio.Task[None]] = set()

    async def hold_callback(self, call_id: str, caller: str, skill: str) -> str | None:
        """The number a callback for this call would dial, if it may have one: callbacks are
        on, the caller's number is of the national plan, and one of the number's callbacks this
        hour is held for the call (:mod:`acd.callback_policy`). A refusal is logged, counted
        in the skill's statistics and noted in the call's record, once per call."""
        if not self.settings.callback:
            return None
        number = callback_number(caller)
        if number is None:
            await self._refuse_callback(call_id, caller, skill, NOT_NATIONAL)
            return None
        held = await self.live.hold_callback(number, call_id, self.clock(), window_s=WINDOW_S,
                                             limit=self.settings.callbacks_per_hour)
        if held is False:
            await self._refuse_callback(call_id, caller, skill, LIMIT)
        return number if held else None

    async def _refuse_callback(self, call_id: str, caller: str, skill: str, reason: str) -> None:
        if not await self.live.once("callback_refused", call_id):
            return
        await self.live.count(skill, **{f"callback_refused_{reason}": 1})
        if self.on_attempt is not None:
            await self.on_attempt(call_id, {"event": "callback_refused", "reason": reason})
        log.info("ACD: call %s: no callback to %r (%s)", call_id, caller,
                 "not a number of the national plan" if reason == NOT_NATIONAL else
                 f"its limit of {self.settings.callbacks_per_hour} an hour is reached")

    async def setvar(self, channel: str, name: str, value: str) -> None:
        await self.ami.action("Setvar", [("Channel", channel), ("Variable", name),
                                         ("Value", value)])

    async def apply_once(self, agent_id: str, event: Event, now: float, *,
                         wrap_up_s: float = 0.0) -> bool:
        """Apply an event every controller sees (an answer, a hang-up, a wrap-up that is due):
        the first one wins, the others find the operator moved on and leave it."""
        try:
            await self.live.apply(agent_id, event, now, wrap_up_s=wrap_up_s)
        except AgentStateError:
            log.debug("ACD: %s of %s already handled", event.name, agent_id)
            return False
        return True

    def after(self, seconds: float, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        async def later() -> None:
            await asyncio.sleep(seconds)
            await job(*args)  # made only when due: a cancelled timer leaves nothing un-awaited

        task = asyncio.create_task(later())
        self.timers.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.timers.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("ACD: a timer failed", exc_info=t.exception())

        task.add_done_callback(done)
