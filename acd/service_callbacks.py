"""Queued callback: a caller who asks to be called back keeps their place (their join time);
when their turn comes the operator's leg is rung first, then the caller is called
(``acd-callback`` in the dialplan), with retries, each attempt recorded once.
"""

from __future__ import annotations

import logging

from acd.ami.protocol import Message

from .service_context import AcdContext

log = logging.getLogger("acd")


class Callbacks:
    def __init__(self, ctx: AcdContext) -> None:
        self.ctx = ctx

    async def requested(self, message: Message) -> None:
        """The caller pressed the callback key while waiting."""
        ctx = self.ctx
        call_id = message.get("Uniqueid", "")
        call = await ctx.live.call(call_id)
        if call.get("state") != "waiting":
            return  # already an operator ringing (or handled by another controller)
        if not call.get("callback_number"):  # never offered (acd.callback_policy refused it)
            log.warning("ACD: call %s asked for a callback it was not offered; it waits on",
                        call_id)
            return
        if not await ctx.live.once("callback", call_id):
            return
        await ctx.live.grant_callback(call_id)
        await ctx.live.set_call_state(call_id, "callback")
        if ctx.on_attempt is not None:
            await ctx.on_attempt(call_id, {"event": "callback_requested"})
        log.info("ACD: call %s will be called back, keeping its place", call_id)

    async def result(self, message: Message) -> None:
        """How one callback attempt ended (``UserEvent(AcdCallbackResult)``)."""
        ctx = self.ctx
        call_id = message.get("AcdCall", "")
        status = message.get("AcdStatus", "") or "FAILED"
        if not await ctx.live.once("attempt", message.get("Uniqueid", "") or call_id):
            return  # another controller recorded this attempt
        call = await ctx.live.call(call_id)
        agent_id = call.get("agent", "")
        now = ctx.clock()
        count = await ctx.live.add_attempt(call_id, f"{now:.0f} {agent_id} {status}")
        step = {"event": "callback_attempt", "attempt": count, "operator": agent_id,
                "status": status}
        skill = (call.get("skills") or "general").split(",")[0]
        if status == "ANSWER":
            await ctx.live.set_call_state(call_id, "done")
            wait = now - float(call.get("joined_at") or now)
            await ctx.live.count(skill, answered=1, wait_sum=wait, wait_max=wait, callbacks=1)
            # the operator, the wait and the attempt in one write: a reader of the record never
            # sees the answered attempt without the operator who made it
            if ctx.on_connected is not None:
                await ctx.on_connected(call_id, agent_id, wait, step)
            elif ctx.on_attempt is not None:
                await ctx.on_attempt(call_id, step)
            log.info("ACD: call %s called back by %s (attempt %d)", call_id, agent_id, count)
            return
        if ctx.on_attempt is not None:
            await ctx.on_attempt(call_id, step)
        if count >= ctx.settings.callback_attempts:
            await ctx.live.set_call_state(call_id, "gone")
            await ctx.live.count(skill, callback_failed=1)
            log.warning("ACD: call %s: the caller did not answer %d callbacks (%s)", call_id,
                        count, status)
        else:  # try again later, still in its place
            await ctx.live.set_call_state(call_id, "callback", agent="",
                                          not_before=repr(now + ctx.settings.callback_retry_s))
            log.info("ACD: call %s: callback attempt %d %s; next in %.0f s", call_id, count,
                     status, ctx.settings.callback_retry_s)
