"""How the simulated centre shows its callers and operators to the real routing decision
(:func:`acd.decision.decide`).

* ``skills``: as the live ACD does: the caller's skills, language and priority, the operators'
  skills and languages, the routing policy of the operators file (relaxation, sticky wait).
* ``fifo``: the plain queue of a classic ACD, through the same decision: every caller needs
  nothing (no skill, one common language, priority 0) and every operator can take anyone, so
  the decision reduces to longest waiting caller first, longest idle operator first.
"""

from __future__ import annotations

from ..agents import Agent
from ..decision import FreeAgent, Policy, WaitingCall

_ANYONE = "*"  # the one language of the plain queue
FIFO_POLICY = Policy(min_proficiency=1, steps=(), sticky_wait_s=0.0)


class SkillsRouting:
    name = "skills"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def waiting(self, call_id: str, skills: tuple[str, ...], language: str, priority: int,
                joined_at: float, declined: frozenset[str]) -> WaitingCall:
        return WaitingCall(call_id, skills, language, priority, joined_at, None, declined)

    def free(self, agent: Agent, idle_since: float) -> FreeAgent:
        return FreeAgent(agent.id, agent.skills, agent.languages, idle_since)


class FifoRouting:
    name = "fifo"
    policy = FIFO_POLICY

    def waiting(self, call_id: str, skills: tuple[str, ...], language: str, priority: int,
                joined_at: float, declined: frozenset[str]) -> WaitingCall:
        return WaitingCall(call_id, (), _ANYONE, 0, joined_at, None, declined)

    def free(self, agent: Agent, idle_since: float) -> FreeAgent:
        return FreeAgent(agent.id, {}, (_ANYONE,), idle_since)


Router = SkillsRouting | FifoRouting
