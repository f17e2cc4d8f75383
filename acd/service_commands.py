"""Operators' commands: log in, log out, pause (with a reason), unpause, wrap-up code, from the
feature codes of the ``operators`` context (over FastAGI, so the phone hears the real result)
or ``hotline agents`` (the controller's control socket).

A command that cannot be done raises :class:`AgentCommandError` (not an operator, not a
command, not a wrap-up code) or :class:`~acd.states.AgentStateError` (not now: logging in while
paused, a wrap-up code with no call to give it to); nothing changes then.
"""

from __future__ import annotations

import logging
import re

from .service_context import AcdContext
from .states import AgentState, AgentStatus, Event

log = logging.getLogger("acd")

PAUSE_REASONS = {"1": "break", "2": "meal", "3": "training", "4": "other"}
COMMANDS = ("login", "logout", "pause", "unpause", "wrap_up")
WRAP_UP_CODE = re.compile(r"[0-9]{1,8}")


class AgentCommandError(Exception):
    code = "acd.agent_command"


class AgentCommands:
    def __init__(self, ctx: AcdContext) -> None:
        self.ctx = ctx

    async def run(self, agent_id: str, action: str, reason: str | None = None) -> AgentStatus:
        """Do the command; the operator's status after it."""
        ctx = self.ctx
        if agent_id not in ctx.agents():
            raise AgentCommandError(f"{agent_id} is not an operator in the operators file")
        if action not in COMMANDS:
            raise AgentCommandError(f"{action!r} is not a command ({', '.join(COMMANDS)})")
        now = ctx.clock()
        before = await ctx.live.agent(agent_id)
        if action == "wrap_up":
            if not reason or not WRAP_UP_CODE.fullmatch(reason):
                raise AgentCommandError(f"a wrap-up code is 1 to 8 digits, not {reason!r}")
            status = await ctx.live.apply(agent_id, Event("wrap_up_code", reason=reason), now)
            await self._wrap_up_code(before, reason, now)
        else:
            if action == "pause":
                reason = PAUSE_REASONS.get(reason or "1", reason or "break")
            status = await ctx.live.apply(agent_id, Event(action, reason=reason), now,
                                          max_missed=ctx.settings.max_missed)
            if before.state is AgentState.PAUSED and action in ("unpause", "logout", "pause"):
                await ctx.live.count_agent(
                    agent_id, **{f"pause_s:{before.pause_reason or 'break'}": now - before.since})
        log.info("ACD: %s %s%s", agent_id, action, f" ({reason})" if reason else "")
        ctx.route_soon()
        return status

    async def _wrap_up_code(self, before: AgentStatus, code: str, now: float) -> None:
        """The code lands in the record of the operator's last call and in the statistics (per
        operator and for the whole centre); given in the wrap-up, it ends it."""
        ctx = self.ctx
        if before.state is AgentState.WRAP_UP:
            await ctx.live.count_agent(before.agent_id, wrap_s=now - before.since)
        await ctx.live.count_agent(before.agent_id, **{f"wrap_up:{code}": 1})
        await ctx.live.count_wrap_up_code(code)
        if ctx.on_wrap_up is not None and before.last_call_id:
            await ctx.on_wrap_up(before.last_call_id, before.agent_id, code)
