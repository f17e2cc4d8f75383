"""After a restart, an AMI reconnect or Redis coming back: make Redis agree with Asterisk. Calls
whose channel is gone are gone, and operators held by them are freed; so are calls the dialplan
handed to Asterisk's own queue while no controller renewed the ACD's lease (acd/lease.py):
alive, but no longer the ACD's to connect. Waiting callers still in the dialplan keep their
place, and a caller on hold whose ``AcdJoin`` no controller saw (sent while the AMI connection
was down) is taken in from its channel's variables, with the time it joined.
"""

from __future__ import annotations

import asyncio
import logging

from acd.ami.errors import AmiError
from acd.ami.protocol import Message

from .service_context import AcdContext
from .service_hangups import Hangups
from .service_joins import Joins
from .service_ringing import IN_USE, Ringing
from .states import AgentState, Event

log = logging.getLogger("acd")

FALLBACK_CONTEXT = "hotline-queue-fallback"  # extensions.conf: Asterisk's app_queue
RING_CONTEXT = "acd-ring"  # extensions.conf: the caller's channel dials an operator
WAIT_CONTEXT = "acd-wait"  # extensions.conf: callers on hold for the ACD
JOIN_VARIABLES = ("ACD_LEAVE", "ACD_JOINED", "HOTLINE_SKILLS", "HOTLINE_LANGUAGE",
                  "HOTLINE_PRIORITY", "HOTLINE_CALLER")


async def rebuild(ctx: AcdContext, ringing: Ringing, hangups: Hangups, joins: Joins) -> None:
    answer = await ctx.ami.action("CoreShowChannels", timeout=10)
    channels = {m.get("Uniqueid", ""): m for m in answer.events}
    for call_id, channel in channels.items():
        if channel.get("Context") == WAIT_CONTEXT and channel.get("Application") == "WaitExten" \
                and not await ctx.live.call(call_id):
            await _adopt(ctx, joins, channel)
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
    await _phones_in_use(ctx)
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
    if agent_id:  # rang out unseen, or never rung (a Redirect lost in the cut): no miss
        await ringing.not_taken(agent_id, call_id, missed=False)


async def _phones_in_use(ctx: AcdContext) -> None:
    """Device state changes were not seen while no controller watched: Asterisk's whole list."""
    answer = await ctx.ami.action("DeviceStateList", timeout=10)
    agents = ctx.agents()
    in_use = {m.get("Device", "").removeprefix("PJSIP/") for m in answer.events
              if m.get("Device", "").startswith("PJSIP/") and m.get("State", "") in IN_USE}
    await ctx.live.replace_phones_in_use({a for a in in_use if a in agents})


async def _adopt(ctx: AcdContext, joins: Joins, channel: Message) -> None:
    """A caller on hold for the ACD that Redis does not know: its AcdJoin was lost."""
    name = channel.get("Channel", "")
    try:
        found = await asyncio.gather(*(ctx.ami.action("Getvar", [
            ("Channel", name), ("Variable", variable)]) for variable in JOIN_VARIABLES))
    except AmiError:
        return  # gone meanwhile
    values = dict(zip(JOIN_VARIABLES, (a.response.get("Value", "") for a in found)))
    if values["ACD_LEAVE"] or not values["ACD_JOINED"].isdigit():
        return  # leaving, or not as far as its join yet (its event is still to come)
    log.info("ACD: call %s waits with no controller told: taken in now", channel.get("Uniqueid"))
    await joins.join(Message((
        ("Event", "UserEvent"), ("UserEvent", "AcdJoin"), ("Channel", name),
        ("Uniqueid", channel.get("Uniqueid", "")), ("AcdSkills", values["HOTLINE_SKILLS"]),
        ("AcdLanguage", values["HOTLINE_LANGUAGE"]), ("AcdPriority", values["HOTLINE_PRIORITY"]),
        ("AcdCaller", values["HOTLINE_CALLER"]))), joined_at=float(values["ACD_JOINED"]))
