"""Transfers: an operator on a call sends the caller to another skill's queue (from the desk:
``transfer`` on the controller's control socket).

The caller goes back to the queue for the new skill, with the call's priority, a new wait and
the transferring operator tried last; they hear the hold music again and are offered like any
waiting caller. The operator's leg ends and the operator goes to the wrap-up of that call (the
wrap-up code and the statistics count it as handled). The call's record notes the transfer in
its path, and its operator becomes whoever answers next.

In order: the call is put back in the queue in Redis (one compare-and-set: only the call this
operator is connected to, once), the operator moves to the wrap-up, then Asterisk moves the
caller (AMI ``Redirect`` of the caller's channel to ``acd-wait``), which ends the bridge and the
operator's leg. The call is offered to nobody for ``SETTLE_S``, so the end of the old leg is
handled before a new operator is rung for the same call.
"""

from __future__ import annotations

import logging

from acd.ami.errors import AmiError

from .service_context import AcdContext
from .service_hangups import Hangups
from .states import AgentState, Event

log = logging.getLogger("acd")

SETTLE_S = 1.0


class TransferError(Exception):
    code = "acd.transfer"


class Transfers:
    def __init__(self, ctx: AcdContext, hangups: Hangups) -> None:
        self.ctx = ctx
        self.hangups = hangups

    async def to_skill(self, agent_id: str, call_id: str, skill: str) -> None:
        """Raises TransferError (nothing changed) when it cannot be done."""
        ctx = self.ctx
        if not any(skill in agent.skills for agent in ctx.agents().values()):
            raise TransferError(f"no operator has the skill {skill!r}")
        status = await ctx.live.agent(agent_id)
        if status.state is not AgentState.ON_CALL or status.call_id != call_id:
            raise TransferError(f"{agent_id} is not talking to the caller of call {call_id}")
        call = await ctx.live.call(call_id)
        channel = call.get("channel", "")
        if not channel or call.get("offered_from") == "callback":
            raise TransferError("this call cannot be transferred (a callback, or no channel)")
        now = ctx.clock()
        if not await ctx.live.requeue(call_id, agent_id, (skill,), now, now + SETTLE_S):
            raise TransferError(f"call {call_id} is no longer {agent_id}'s")
        if await ctx.apply_once(agent_id, Event("hangup", call_id=call_id), now,
                                wrap_up_s=ctx.settings.wrap_up_s):
            await ctx.live.count_agent(agent_id, handled=1, talk_s=now - status.since,
                                       transferred=1)
            ctx.after(ctx.settings.wrap_up_s, self.hangups.end_wrap_up, agent_id, call_id)
        await ctx.live.count(skill, offered=1, transferred_in=1)
        if ctx.on_attempt is not None:
            await ctx.on_attempt(call_id, {"event": "transfer", "by": agent_id, "to": skill})
        try:
            await ctx.ami.action("Redirect", [("Channel", channel), ("Context", "acd-wait"),
                                              ("Exten", "s"), ("Priority", "1")])
        except AmiError as exc:
            # the caller stays with the operator's leg gone: the dialplan hangs up the bridge,
            # so say it loudly; the call is back in the queue and will be offered again
            log.error("ACD: transfer of call %s: Asterisk did not move the caller (%s)",
                      call_id, exc)
            raise TransferError(f"Asterisk did not move the caller ({exc})") from None
        log.info("ACD: %s transferred call %s to %s", agent_id, call_id, skill)
        ctx.after(SETTLE_S, self._route)

    async def _route(self) -> None:
        self.ctx.route_soon()
