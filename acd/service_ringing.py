"""Routing passes and ringing operators: decide, reserve (one atomic script in Redis), ring the
operator (the waiting caller's channel dials them; a callback's operator leg is originated); an
offer not taken goes to the next operator; an answer connects the call.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from acd.ami.client import ClientState
from acd.ami.errors import AmiDisconnected, AmiError, AmiNotSent
from acd.ami.protocol import Message

from .decision import decide
from .screen_pop import offer_name
from .service_context import AcdContext
from .states import AgentState, AgentStateError, Event

log = logging.getLogger("acd")

OFFER_GRACE_S = 30.0  # after the ring timeout, an Originate's response is not coming
# Asterisk's device states of a phone that must not be offered a call: in a call, ringing,
# holding one (DeviceStateChange; NOT_INUSE, UNAVAILABLE, UNKNOWN and INVALID are not in use)
IN_USE = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


class PendingOffers:
    """Originates waiting for their response: action id -> (agent, call), each kept at most
    ``max_age_s`` (bounded however many responses are lost)."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._pending: dict[str, tuple[str, str, float]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, action_id: str, agent_id: str, call_id: str, now: float) -> None:
        self._pending[action_id] = (agent_id, call_id, now)

    def pop(self, action_id: str) -> tuple[str, str] | None:
        found = self._pending.pop(action_id, None)
        return None if found is None else found[:2]

    def expire(self, now: float) -> list[tuple[str, str, str]]:
        """Forget those older than ``max_age_s``: (action id, agent, call) of each."""
        old = [(action_id, agent_id, call_id)
               for action_id, (agent_id, call_id, since) in self._pending.items()
               if now - since > self.max_age_s]
        for action_id, _, _ in old:
            del self._pending[action_id]
        return old


class Ringing:
    def __init__(self, ctx: AcdContext) -> None:
        self.ctx = ctx
        # offers in flight: a callback's Originate action id, or ``ring-<call>`` for a caller's
        # channel dialing an operator -> (agent, call), until the response or the ring's
        # result; one that never comes (the AMI connection dropped meanwhile) is over after
        # the ring timeout and its grace
        self._offers = PendingOffers(ctx.settings.ring_timeout_s + OFFER_GRACE_S)
        self._counter = itertools.count(1)

    async def route(self) -> None:
        """One routing pass: decide, reserve (atomic in Redis), ring the operators chosen."""
        ctx = self.ctx
        if ctx.ami.state is not ClientState.CONNECTED:
            return  # nobody could be rung: the rebuild after the reconnect routes
        now = ctx.clock()
        calls = await ctx.live.waiting(ready_at=now)
        if not calls:
            return
        free, busy = await ctx.live.free_agents(ctx.agents())
        if not free:
            return
        for assignment in decide(calls, free, ctx.routing().policy, now, busy):
            if await ctx.live.reserve(assignment.agent_id, assignment.call_id, now):
                await self._ring(assignment.agent_id, assignment.call_id)

    async def _ring(self, agent_id: str, call_id: str) -> None:
        ctx = self.ctx
        call = await ctx.live.call(call_id)
        callback = call.get("offered_from") == "callback"
        caller = call.get("caller", "") or "19001122"
        display = call.get("display", "") or call.get("skills", "").split(",")[0]
        offer_id = f"\"{offer_name(display, callback)}\" <{caller}>"
        try:
            if callback:
                await self._ring_for_callback(agent_id, call_id, call, offer_id)
            else:
                await self._ring_from_caller(agent_id, call_id, call, offer_id)
            log.info("ACD: ringing %s for call %s", agent_id, call_id)
        except AmiNotSent as exc:  # certainly not run: the reconnect's rebuild routes again
            log.warning("ACD: could not ring %s (%s); the call waits on", agent_id, exc)
            await self.not_taken(agent_id, call_id, missed=False)
        except AmiDisconnected as exc:  # it may have run: the reconnect's rebuild settles it
            log.warning("ACD: ringing %s for call %s: %s", agent_id, call_id, exc)
            if not callback:
                self._offers.add(f"ring-{call_id}", agent_id, call_id, ctx.clock())
        except AmiError as exc:  # refused (the caller's channel gone meanwhile): no miss
            log.error("ACD: could not ring %s (%s); the call waits on", agent_id, exc)
            await self.not_taken(agent_id, call_id, missed=False)

    async def _ring_from_caller(self, agent_id: str, call_id: str, call: dict[str, str],
                                offer_id: str) -> None:
        """The waiting caller's own channel dials the operator (``acd-ring``): moved there by
        an AMI Redirect, an async goto that needs no masquerade. Its ``AcdRingResult`` or
        ``AcdAgentAnswered`` ends the offer."""
        ctx = self.ctx
        channel = call.get("channel", "")
        # one round trip: the three actions are written at once, and Asterisk runs a
        # session's actions in order, so the variables are set before the channel moves
        results = await asyncio.gather(
            ctx.setvar(channel, "ACD_OFFER_ID", offer_id),
            ctx.setvar(channel, "ACD_AGENT", agent_id),
            ctx.ami.action("Redirect", [("Channel", channel), ("Context", "acd-ring"),
                                        ("Exten", "s"), ("Priority", "1")]),
            return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[-1]  # the Redirect's, if it failed: the channel did not move
        self._offers.add(f"ring-{call_id}", agent_id, call_id, ctx.clock())

    async def _ring_for_callback(self, agent_id: str, call_id: str, call: dict[str, str],
                                 offer_id: str) -> None:
        """A callback: the operator's leg first (Originate into ``acd-callback``), which then
        calls the caller back; its ``OriginateResponse`` says if the operator answered."""
        ctx = self.ctx
        leg = f"acd-{call_id}-{next(self._counter)}"
        answer = await ctx.ami.action("Originate", [
            ("Channel", f"PJSIP/{agent_id}"), ("Context", "acd-callback"), ("Exten", "s"),
            ("Priority", "1"), ("Timeout", str(int(ctx.settings.ring_timeout_s * 1000))),
            ("Async", "true"), ("ChannelId", leg), ("CallerID", offer_id),
            ("Variable", f"ACD_CALL={call_id}"),
            # the national form the callback policy checked, never the raw caller ID
            ("Variable", f"ACD_CALLBACK_NUMBER={call.get('callback_number', '')}"),
            ("Variable", f"ACD_LANGUAGE={call.get('language', 'vi')}"),
        ])
        self._offers.add(answer.action_id, agent_id, call_id, ctx.clock())

    async def ring_result(self, message: Message) -> None:
        """``UserEvent(AcdRingResult)``: the operator rung from the caller's channel did not
        answer (rang out, refused, unreachable)."""
        call_id = message.get("AcdCall", "")
        agent_id = message.get("AcdAgent", "")
        self._offers.pop(f"ring-{call_id}")
        if not call_id or not agent_id:
            return
        status = message.get("AcdStatus", "?")
        if status == "INUSE":  # on another call by the time it would have rung: not a miss
            log.info("ACD: %s was on another call when rung for call %s", agent_id, call_id)
            await self._phone_now(agent_id)
            await self.not_taken(agent_id, call_id, missed=False)
            return
        log.info("ACD: %s did not answer call %s (%s)", agent_id, call_id, status)
        await self.not_taken(agent_id, call_id)

    async def _phone_now(self, agent_id: str) -> None:
        """The phone's state as Asterisk has it now (its change events may have been missed):
        a change after this one comes as an event, so the two cannot disagree for long."""
        try:
            answer = await self.ctx.ami.action("Getvar", [
                ("Variable", f"DEVICE_STATE(PJSIP/{agent_id})")])
            in_use = answer.response.get("Value", "") in IN_USE
        except AmiError:
            in_use = True  # the next reconnect's rebuild reads the whole list again
        await self.ctx.live.phone_in_use(agent_id, in_use)

    async def phone_state(self, message: Message) -> None:
        """``DeviceStateChange`` of an operator's phone: one in use is offered nothing (a call
        of Asterisk's own queue, one they placed); one free again may be."""
        device = message.get("Device", "")
        agent_id = device.removeprefix("PJSIP/")
        if agent_id == device or agent_id not in self.ctx.agents():
            return
        in_use = message.get("State", "") in IN_USE
        await self.ctx.live.phone_in_use(agent_id, in_use)
        if not in_use:
            self.ctx.route_soon()

    async def originate_result(self, message: Message) -> None:
        """``OriginateResponse`` of a callback's operator leg: a failure (not answered,
        busy, unreachable) is a missed offer. Responses to Originates of others are ignored."""
        pending = self._offers.pop(message.action_id or "")
        if pending is None or message.get("Response") == "Success":
            return
        agent_id, call_id = pending
        log.info("ACD: %s did not answer the callback of call %s (reason %s)", agent_id,
                 call_id, message.get("Reason", "?"))
        await self.not_taken(agent_id, call_id)

    def add_offer(self, action_id: str, agent_id: str, call_id: str) -> None:
        """An Originate sent elsewhere (tests, a resent offer) whose response counts here."""
        self._offers.add(action_id, agent_id, call_id, self.ctx.clock())

    async def forget_stale_offers(self) -> bool:
        """An offer whose answer never came (lost with an AMI connection, or never sent by
        Asterisk) is over by now. A callback's Originate: a missed offer, and the caller
        waits on for another operator, never left ``offered`` to a phone that stopped ringing
        long ago. A caller's own ring: True, and the service asks Asterisk where the caller
        is (:func:`acd.service_rebuild.rebuild`), since only Asterisk knows if it was
        answered."""
        lost_ring = False
        for key, agent_id, call_id in self._offers.expire(self.ctx.clock()):
            log.warning("ACD: no answer to the offer %s of %s for call %s; the offer is over",
                        key, agent_id, call_id)
            if key.startswith("ring-"):
                lost_ring = True
            else:
                await self.not_taken(agent_id, call_id)
        return lost_ring

    async def not_taken(self, agent_id: str, call_id: str, *, missed: bool = True) -> None:
        """The operator's phone rang out, refused (busy) or could not be rung: a missed offer
        for them (auto-pause after N in a row; not when ``missed`` is False: their phone was
        taken by another call first), and the caller, who heard nothing of it, goes on waiting
        in their place, offered to someone else first."""
        ctx = self.ctx
        status = await ctx.live.agent(agent_id)
        if status.state is AgentState.RESERVED and status.call_id == call_id:
            try:
                await ctx.live.apply(agent_id, Event("no_answer" if missed else "caller_gone",
                                                     call_id=call_id),
                                     ctx.clock(), max_missed=ctx.settings.max_missed)
            except AgentStateError:
                pass  # another controller got there first
        await ctx.live.decline(call_id, agent_id)
        call = await ctx.live.call(call_id)
        if call.get("state") == "offered" and call.get("agent") == agent_id:
            await ctx.live.set_call_state(call_id, call.get("offered_from") or "waiting",
                                          agent="")
        ctx.route_soon()

    async def answered(self, message: Message) -> None:
        """The operator answered (``UserEvent(AcdAgentAnswered)`` from ``acd-answered`` or
        ``acd-callback``)."""
        ctx = self.ctx
        call_id = message.get("AcdCall", "")
        self._offers.pop(f"ring-{call_id}")
        call = await ctx.live.call(call_id)
        agent_id = call.get("agent", "")
        if not agent_id:
            return
        now = ctx.clock()
        if not await ctx.apply_once(agent_id, Event("answer", call_id=call_id), now):
            return
        if message.get("AcdCallback") == "yes":
            await ctx.live.set_call_state(call_id, "calling_back", answered_at=repr(now))
            log.info("ACD: %s is calling back the caller of call %s", agent_id, call_id)
            return
        await ctx.live.set_call_state(call_id, "connected", answered_at=repr(now))
        wait = now - float(call.get("joined_at") or now)
        skill = (call.get("skills") or "general").split(",")[0]
        await ctx.live.count(skill, answered=1, wait_sum=wait, wait_max=wait,
                             answered_in_sl=1 if wait <= 20 else 0)
        if ctx.on_connected is not None:
            await ctx.on_connected(call_id, agent_id, wait)
        log.info("ACD: %s answered call %s after %.1f s in the queue", agent_id, call_id, wait)
