"""Operators' feature codes over FastAGI (``agi://…/operator``): the dialplan's
``operator-command`` hands over the operator (the authenticated endpoint, never a caller's
string), the command and its argument; the ACD does it, and ``ACD_RESULT`` tells the dialplan
what the phone hears: ``ok``, ``refused`` (not now, or not a code), ``error``. No answer at all
(controller down, Redis down) leaves it empty: the dialplan says the service is unavailable.
"""

from __future__ import annotations

import logging

from acd.service import AcdService, AgentCommandError
from acd.states import AgentStateError
from ivr.agi.channel import AgiChannel

log = logging.getLogger("hotline.feature_codes")


class FeatureCodes:
    def __init__(self, acd: AcdService) -> None:
        self.acd = acd

    async def handle(self, channel: AgiChannel, args: tuple[str, ...]) -> None:
        agent_id, action, reason = (*args, "", "", "")[:3]
        try:
            status = await self.acd.agent_command(agent_id, action, reason or None)
            result = "ok"
            log.info("feature code: %s %s: now %s", agent_id, action, status.state.value)
        except (AgentCommandError, AgentStateError) as exc:
            result = "refused"
            log.info("feature code: %s %s refused: %s", agent_id, action, exc)
        except Exception as exc:  # noqa: BLE001 - Redis down, AMI gone: the phone hears it
            result = "error"
            log.error("feature code: %s %s failed: %s", agent_id, action, exc)
        await channel.set_variable("ACD_RESULT", result)
