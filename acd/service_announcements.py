"""Announcements to waiting callers: position and estimated wait, played by the dialplan at its
next announcement (the controller sets ``ACD_ANNOUNCE`` on the caller's channel), with the
callback offer when a callback can be placed.
"""

from __future__ import annotations

import math
from datetime import timedelta

from speech.values import SpeechError, say

from .service_context import AcdContext
from .states import AgentState


class Announcements:
    def __init__(self, ctx: AcdContext) -> None:
        self.ctx = ctx
        self._last = 0.0

    def due(self) -> bool:
        """Time for a new round (twice per announcement interval, so none is missed)."""
        if self.ctx.clock() - self._last >= self.ctx.settings.announce_every_s / 2:
            self._last = self.ctx.clock()
            return True
        return False

    async def announce(self) -> None:
        """Position and estimated wait for every waiting caller."""
        ctx = self.ctx
        calls = sorted(await ctx.live.waiting(), key=lambda c: (-c.priority, c.joined_at))
        if not calls:
            return
        profiles = ctx.agents()
        statuses = await ctx.live.agents()
        for position, call in enumerate(calls, 1):
            data = await ctx.live.call(call.call_id)
            channel = data.get("channel")
            if not channel:
                continue
            staffed = sum(1 for st in statuses if st.state is not AgentState.LOGGED_OUT
                          and st.agent_id in profiles and call.language in
                          profiles[st.agent_id].languages
                          and any(k in profiles[st.agent_id].skills for k in call.skills))
            handle = await ctx.live.handle_time(call.skills[0],
                                                default=ctx.settings.default_handle_s)
            minutes = max(1, math.ceil(estimated_wait_s(position, staffed, handle) / 60))
            lang = call.language if call.language in ("vi", "en") else "vi"
            try:
                words = (["acd_position_is", *say("number", position, lang), "acd_in_queue",
                          "acd_wait_about", *say("duration", timedelta(minutes=minutes), lang)]
                         + (["acd_callback_offer"] if data.get("callback_number") else []))
            except SpeechError:
                continue
            files = "&".join(f"{ctx.sounds}/{lang}/{w}" for w in words)
            await ctx.setvar(channel, "ACD_ANNOUNCE", files)


def estimated_wait_s(position: int, skill_agents: int, handle_s: float) -> float:
    return math.ceil(position / max(1, skill_agents)) * handle_s
