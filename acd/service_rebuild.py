"""After a restart, an AMI reconnect or Redis coming back: make Redis agree with Asterisk. Calls
whose channel is gone are gone, and operators held by them are freed; so are calls the dialplan
handed to Asterisk's own queue while no controller renewed the ACD's lease (acd/lease.py):
alive, but no longer the ACD's to connect. Waiting callers still in the dialplan keep their
place.
"""

from __future__ import annotations

import logging

from .service_context import AcdContext
from .service_hangups import Hangups
from .service_ringing import Ringing
from .states import AgentState, Event

log = logging.getLogger("acd")

FALLBACK_CONTEXT = "hotline-queue-fallback"  # extensions.conf: Asterisk's app_queue


async def rebuild(ctx: AcdContext, ringing: Ringing, hangups: Hangups) -> None:
    answer = await ctx.ami.action("CoreShowChannels", timeout=10)
    alive = {m.get("Uniqueid", "") for m in answer.events}
    in_fallback = {m.get("Uniqueid", "") for m in answer.events
                   if m.get("Context") == FALLBACK_CONTEXT}
    now = ctx.clock()
    for call_id in [c.call_id for c in await ctx.live.waiting()] + await ctx.live.offered():
        data = await ctx.live.call(call_id)
        leg_alive = any(u.startswith(f"acd-{call_id}-") for u in alive)
        if data.get("state") == "callback" or (
                data.get("offered_from") == "callback" and leg_alive):
            continue  # the caller hung up on purpose: we call them back
        if data.get("offered_from") == "callback":
            await ctx.live.set_call_state(call_id, "callback", agent="")
            continue
        if call_id not in alive:
            await ctx.live.set_call_state(call_id, "gone")
            log.info("ACD: call %s ended while no controller watched it", call_id)
        elif call_id in in_fallback:
            await ctx.live.set_call_state(call_id, "gone")
            log.info("ACD: call %s went to the fallback queue while no controller routed",
                     call_id)
    for status in await ctx.live.agents():
        ours = status.call_id in alive and status.call_id not in in_fallback
        if status.call_id and not ours and not any(
                u.startswith(f"acd-{status.call_id}-") for u in alive):
            event = {AgentState.RESERVED: "caller_gone", AgentState.ON_CALL: "hangup"}.get(
                status.state)
            if event:  # a call that ended unseen: its wrap-up (if any) is over already
                await ctx.live.apply(status.agent_id, Event(event, call_id=status.call_id), now)
    # wrap-ups keep their end, stored in Redis: those due end now, the others on time
    await hangups.end_due_wrap_ups()
    await ringing.route()
