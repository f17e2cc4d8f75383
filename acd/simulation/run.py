"""One simulated run of a scenario: the team, the routing and the rules it needs, then the
centre on its clock, and what it measured."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..agents import Agent, load_agents
from ..queues import Routing as QueueRules
from ..queues import load_routing
from .centre import Centre
from .roster import extended, general_team, representative_order
from .routing import FifoRouting, Router, SkillsRouting
from .scenario import Scenario


@dataclass(frozen=True)
class Setting:
    """What a scenario runs with: its staffing made explicit, the roster in calling order
    (None: operators who take any call), and the overflow rules."""
    scenario: Scenario
    order: list[Agent] | None
    queues: QueueRules
    _teams: dict[int, list[Agent]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def router(self) -> Router:
        return self.router_for(self.scenario)

    def router_for(self, scenario: Scenario) -> Router:
        return SkillsRouting(self.queues.policy) if scenario.routing == "skills" \
            else FifoRouting()

    @property
    def members(self) -> list[Agent]:
        return self.members_for(self.scenario)

    def members_for(self, scenario: Scenario) -> list[Agent]:
        """Everyone who may work in the scenario's run, in the order they are called in."""
        size = max(scenario.staff_at(hour) for hour in range(scenario.hours))
        members = self._teams.get(size)
        if members is None:
            if self.order is None:
                languages = [language for language, _ in scenario.languages]
                members = general_team(size, tuple(dict.fromkeys(["vi", *languages])))
            else:
                members = extended(self.order, size)
            self._teams[size] = members
        return members


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    report: dict[str, Any]
    decisions: int      # calls of acd.decision.decide
    cpu_s: float


def prepare(scenario: Scenario) -> Setting:
    """Read the roster and its routing rules (``AgentsError`` if the file is broken)."""
    if scenario.general_only:
        return Setting(scenario, None, QueueRules())
    path = scenario.roster
    if path is None:
        raise ValueError("a scenario without operators needs a roster")
    roster = list(load_agents(path).values())
    if scenario.staffing is None:
        scenario = replace(scenario, staffing=(len(roster),) * 24)
    return Setting(scenario, representative_order(roster), load_routing(path))


def simulate(setting: Setting, **changes: Any) -> Result:
    """Run the setting's scenario (with ``changes`` to it: staffing, routing, seed, ...)."""
    scenario = replace(setting.scenario, **changes) if changes else setting.scenario
    started = time.process_time()
    centre = Centre(scenario, setting.members_for(scenario), setting.router_for(scenario),
                    setting.queues)
    report = centre.run().report()
    return Result(scenario, report, centre.decisions, time.process_time() - started)
