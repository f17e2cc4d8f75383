"""Callers joining the ACD and the overflow rules of their queue.

A caller the dialplan hands over (``UserEvent(AcdJoin)``) is stored once in Redis (the
controller that stored it accepts the caller), then checked against the overflow rules:
nobody logged in could ever take the call, too many callers waiting, and (at every tick) waited
too long. An overflow leads to a callback that keeps the caller's place or to the announcement.
"""

from __future__ import annotations

import asyncio
import logging
import re

from acd.agents import split_skills
from acd.ami.errors import AmiError
from acd.ami.protocol import Message

from .decision import WaitingCall, requirement
from .screen_pop import CallerFacts, phone_display
from .service_context import AcdContext
from .service_lookups import POP_WAIT_S, Lookups
from .states import AgentState

log = logging.getLogger("acd")


class Joins:
    def __init__(self, ctx: AcdContext, lookups: Lookups) -> None:
        self.ctx = ctx
        self.lookups = lookups

    async def join(self, message: Message, joined_at: float | None = None) -> None:
        """``UserEvent(AcdJoin)`` (or the same headers read from a waiting channel whose event
        was lost: ``joined_at`` is then when it joined)."""
        ctx = self.ctx
        call_id = message.get("Uniqueid", "")
        channel = message.get("Channel", "")
        if not call_id or not channel:
            return
        # custom headers carry an Acd prefix: events already have Language, Priority, ... of
        # the channel itself
        skills = split_skills(message.get("AcdSkills", "")) or ("general",)
        language = message.get("AcdLanguage", "") or "vi"
        try:
            priority = max(0, min(10, int(message.get("AcdPriority", "0") or 0)))
        except ValueError:
            priority = 0
        caller = re.sub(r"[^0-9+]", "", message.get("AcdCaller", ""))[:20]  # as the dialplan
        now = ctx.clock()
        call = WaitingCall(call_id, skills, language, priority,
                           now if joined_at is None else min(joined_at, now))
        # the records (sticky operator, screen pop) are looked up beside this worker: the call
        # waits for them POP_WAIT_S at most
        look_up = self.lookups.can_take()
        if not await ctx.live.add_call(call, channel=channel, caller=caller,
                                       display=phone_display(skills[0], CallerFacts()),
                                       pop_until=now + POP_WAIT_S if look_up else 0.0):
            return  # another controller took this caller in
        if look_up and self.lookups.submit(call_id, caller, skills[0]):
            asyncio.get_running_loop().call_later(POP_WAIT_S, ctx.route_soon)
        await ctx.live.count(skills[0], offered=1)
        await ctx.setvar(channel, "ACD_ACCEPTED", "1")
        rules = ctx.routing().rules(skills[0])
        if not await self._anyone_for(call):  # nobody logged in could ever take this call
            await self.overflow(call_id, "no_operator", rules.on_no_operator)
            return
        if await self._queue_length(skills[0]) > self._max_queue(skills[0]):
            await self.overflow(call_id, "queue_full", rules.on_queue_full)
            return
        if await ctx.hold_callback(call_id, caller, skills[0]):  # the offer: press 1
            await ctx.setvar(channel, "ACD_CALLBACK", "yes")
        log.info("ACD: call %s waits for %s (%s, priority %d)", call_id, ",".join(skills),
                 language, priority)
        ctx.route_soon()

    async def left(self, message: Message) -> None:
        await self.ctx.live.set_call_state(message.get("Uniqueid", ""), "gone")

    async def _anyone_for(self, call: WaitingCall) -> bool:
        """Is anyone logged in (free, busy or paused) who could take this call once its
        requirements have relaxed as far as the routing policy lets them?"""
        policy = self.ctx.routing().policy
        minimum, any_skill, _ = requirement(call, policy, call.joined_at + 10 ** 9)
        profiles = self.ctx.agents()
        for status in await self.ctx.live.agents():
            profile = profiles.get(status.agent_id)
            if profile is None or status.state is AgentState.LOGGED_OUT:
                continue
            if call.language in profile.languages and (any_skill or all(
                    profile.skills.get(skill, 0) >= minimum for skill in call.skills)):
                return True
        return False

    def _max_queue(self, skill: str) -> int:
        rules = self.ctx.routing().rules(skill)
        return rules.max_queue if rules.max_queue is not None else self.ctx.settings.max_queue

    async def _queue_length(self, skill: str) -> int:
        """Callers waiting for this skill if it has a queue of its own, else all of them."""
        if skill not in self.ctx.routing().queues:
            return await self.ctx.live.waiting_count()
        return sum(1 for c in await self.ctx.live.waiting() if c.skills[:1] == (skill,))

    async def overflow(self, call_id: str, reason: str, action: str) -> None:
        """An overflow rule fired for a waiting caller: a callback that keeps their place (when
        one can be placed) or the announcement; at once (the channel is sent to the leaving
        step), and by one controller only (compare-and-set on the call's state)."""
        ctx = self.ctx
        call = await ctx.live.call(call_id)
        skill = (call.get("skills") or "general").split(",")[0]
        if action == "callback" and await ctx.hold_callback(call_id, call.get("caller", ""),
                                                            skill):
            await ctx.live.grant_callback(call_id)
            if not await ctx.live.move_call(call_id, "waiting", "callback", leave=False):
                await ctx.live.grant_callback(call_id, granted=False)
                return
            await ctx.live.once("callback", call_id)
            if ctx.on_attempt is not None:
                await ctx.on_attempt(call_id, {"event": "callback_offered", "reason": reason})
            leave = "callback"
        else:
            if not await ctx.live.move_call(call_id, "waiting", "overflow", leave=True):
                return
            leave = reason
        await ctx.live.count(skill, overflow=1)
        log.info("ACD: call %s overflows (%s): %s", call_id, reason,
                 "called back in its place" if leave == "callback" else "announcement")
        channel = call.get("channel", "")
        if channel:
            await ctx.setvar(channel, "ACD_LEAVE", leave)
            try:  # leave the hold music now, not at the next announcement
                await ctx.ami.action("Redirect", [("Channel", channel), ("Context", "acd-wait"),
                                                  ("Exten", "t"), ("Priority", "1")])
            except AmiError as exc:
                log.warning("ACD: call %s: %s (the dialplan notices at its next step)", call_id,
                            exc)

    async def overflow_long_waits(self) -> None:
        """The max-wait rule of each caller's queue."""
        ctx = self.ctx
        now = ctx.clock()
        routing = ctx.routing()
        for call in await ctx.live.waiting():
            rules = routing.rules(call.skills[0] if call.skills else "general")
            if rules.max_wait_s is not None and now - call.joined_at > rules.max_wait_s \
                    and (await ctx.live.call(call.call_id)).get("state") == "waiting":
                await self.overflow(call.call_id, "max_wait", rules.on_max_wait)
