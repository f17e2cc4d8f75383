"""Hang-ups and wrap-up: a connected caller's channel that ends (the end of the call, then the
operator's wrap-up), a callback's operator leg that ends (an offer that never reached us, or the
end of the call), a waiting caller who hangs up (counted once; their Dial stops any ring).

The end of a wrap-up is stored with the operator's state in Redis: the controller that saw the
hang-up ends it on time, and if that controller dies, any controller's tick ends it when due.
"""

from __future__ import annotations

import logging

from acd.ami.protocol import Message

from .service_context import AcdContext
from .service_ringing import Ringing
from .states import AgentState, AgentStatus, Event

log = logging.getLogger("acd")


class Hangups:
    def __init__(self, ctx: AcdContext, ringing: Ringing) -> None:
        self.ctx = ctx
        self.ringing = ringing

    async def hangup(self, message: Message) -> None:
        uniqueid = message.get("Uniqueid", "")
        if uniqueid.startswith("acd-"):  # an operator's leg
            await self._operator_leg(uniqueid)
        else:
            await self._caller(uniqueid)

    async def _operator_leg(self, uniqueid: str) -> None:
        """A callback's operator leg (originated with an ``acd-`` id) ended."""
        ctx = self.ctx
        call_id = uniqueid[4:].rsplit("-", 1)[0]
        call = await ctx.live.call(call_id)
        agent_id = call.get("agent", "")
        if not agent_id:
            return
        status = await ctx.live.agent(agent_id)
        if status.state is AgentState.RESERVED and status.call_id == call_id:
            # the operator's leg ended before it reached us (refused, failed to start)
            await self.ringing.not_taken(agent_id, call_id)
            return
        await self._call_ended(agent_id, call_id, call, status)

    async def _call_ended(self, agent_id: str, call_id: str, call: dict[str, str],
                          status: AgentStatus) -> None:
        """The operator's call is over (either side hung up): its wrap-up starts."""
        ctx = self.ctx
        if status.state is not AgentState.ON_CALL or status.call_id != call_id:
            return
        now = ctx.clock()
        wrap_up_s = ctx.settings.wrap_up_s
        if not await ctx.apply_once(agent_id, Event("hangup", call_id=call_id), now,
                                    wrap_up_s=wrap_up_s):
            return
        talk = now - status.since
        skill = (call.get("skills") or "general").split(",")[0]
        await ctx.live.count_agent(agent_id, handled=1, talk_s=talk)
        await ctx.live.handle_time(skill, talk + wrap_up_s)
        # on time here; the end is in Redis too, so if this process dies any controller's
        # tick ends the wrap-up (end_due_wrap_ups)
        ctx.after(wrap_up_s, self.end_wrap_up, agent_id, call_id)

    async def _caller(self, uniqueid: str) -> None:
        ctx = self.ctx
        call = await ctx.live.call(uniqueid)
        if not call or call.get("state") in ("gone", "connected", "callback"):
            if call.get("state") == "connected":
                # the caller's channel dialled the operator: its end is the call's end
                await ctx.live.set_call_state(uniqueid, "done")
                agent_id = call.get("agent", "")
                if agent_id:
                    await self._call_ended(agent_id, uniqueid, call,
                                           await ctx.live.agent(agent_id))
            return
        previous = await ctx.live.leave(uniqueid)
        if previous is None:
            return  # another controller saw this hang-up first
        await ctx.live.count((call.get("skills") or "general").split(",")[0], abandoned=1)
        agent_id = call.get("agent", "")
        if previous == "offered" and agent_id:
            # the caller left while the operator's phone rang: their Dial ended that ring
            status = await ctx.live.agent(agent_id)
            if status.state is AgentState.RESERVED and status.call_id == uniqueid:
                await ctx.live.apply(agent_id, Event("caller_gone", call_id=uniqueid),
                                     ctx.clock())
        log.info("ACD: caller %s hung up while waiting", uniqueid)
        ctx.route_soon()

    async def end_wrap_up(self, agent_id: str, call_id: str) -> None:
        """The wrap-up of this call is over (this controller's timer)."""
        status = await self.ctx.live.agent(agent_id)
        if status.state is AgentState.WRAP_UP and status.call_id == call_id:
            await self._end(status)

    async def end_due_wrap_ups(self) -> None:
        """End every wrap-up whose end has come, whichever controller started it (at every
        tick, on every controller: one of them wins each)."""
        now = self.ctx.clock()
        for status in await self.ctx.live.agents():
            if status.state is AgentState.WRAP_UP and status.wrap_up_until <= now:
                await self._end(status)

    async def _end(self, status: AgentStatus) -> None:
        ctx = self.ctx
        now = ctx.clock()
        # compare-and-set: only while the operator is still in the wrap-up of that call
        if await ctx.apply_once(status.agent_id, Event("wrap_up_done", call_id=status.call_id),
                                now):
            await ctx.live.count_agent(status.agent_id, wrap_s=now - status.since)
            ctx.route_soon()
