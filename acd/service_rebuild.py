"""After a restart, an AMI reconnect or Redis coming back: make Redis agree with Asterisk. Calls
whose channel is gone are gone, and operators held by them are freed; so are calls the dialplan
handed to Asterisk's own queue while no controller renewed the ACD's lease (acd/lease.py):
alive, but no longer the ACD's to connect. Waiting callers still in the dialplan keep their
place.
"""

from __future__ import annotations

import logging

from acd.ami.protocol import Message

from .service_context import AcdContext
from .service_hangups import Hangups
from .service_ringing import Ringing
from .states import AgentState, Event

log = logging.getLogger("acd")

FALLBACK_CONTEXT = "hotline-queue-fallback"  # extensions.conf: Asterisk's app_queue
RING_CONTEXT = "acd-ring"  # extensions.conf: the caller's channel dials an operator


async def rebuild(ctx: AcdContext, ringing: Ringing, hangups: Hangups) -> None:
    answer = await ctx.ami.action("CoreShowChannels", timeout=10)
    channels = {m.get("Uniqueid", ""): m for m in answer.events}
    alive = set(channels)
    in_fallback = {u for u, m in channels.items() if m.get("Context") == FALLBACK_CONTEXT}
    now = ctx.clock()
    for call_id in [c.call_id for c in await ctx.live.waiting()] + await ctx.live.offered():
        data = await ctx.live.call(call_id)
        if data.get("state") == "offered" and data.get("offered_from") != "callback" \
                and call_id in channels and call_id not in in_fallback:
            await _settle_ring(ctx, ringing, call_id, data, channels[call_id])
            continue
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


async def _settle_ring(ctx: AcdContext, ringing: Ringing, call_id: str, data: dict[str, str],
                       channel: Message) -> None:
    """A caller offered to an operator while no controller watched: still dialing (its result
    will come), answered unseen (the operator is on the call), or back to waiting unseen."""
    agent_id = data.get("agent", "")
    if channel.get("BridgeId"):  # answered: the two are talking
        if agent_id and await ctx.apply_once(agent_id, Event("answer", call_id=call_id),
                                             ctx.clock()):
            await ctx.live.set_call_state(call_id, "connected", answered_at=repr(ctx.clock()))
            log.info("ACD: call %s was answered by %s while no controller watched", call_id,
                     agent_id)
        return
    if channel.get("Context") == RING_CONTEXT:
        return  # the operator's phone still rings
    if agent_id:
        await ringing.not_taken(agent_id, call_id)
