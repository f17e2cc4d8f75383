"""Time of simulating a month of August 2012 (185 k calls, 50 operators, skills routing) on the
real routing core, against the least any simulation of those calls must do, in one run.

    .venv/bin/python -m bench.acd_simulation                  # the month, skills and FIFO
    .venv/bin/python -m bench.acd_simulation --hours 168      # a week
    .venv/bin/python -m bench.acd_simulation --json

The scenario is dialplans/scenarios/august-2012.yaml run for 744 hours (31 days).

* **baseline**: draw the month's callers (``acd.simulation.demand.callers``: the same random
  draws the simulation makes for them) and pass each through the event queue once. Any
  simulation of these calls does at least this.
* **simulation**: ``acd.simulation.run.simulate``, skills routing, then FIFO on the same
  callers. Inside it, the time spent in ``acd.decision.decide`` and in
  ``acd.states.transition`` is measured call by call (a subclass of the centre times the two
  calls; nothing else changes), so the table says which part of the cost is the hotline's
  routing core and which is the simulator's own bookkeeping (the centre's ``decide`` and
  ``transition`` methods are the two calls; a subclass times them, nothing else changes).

CPU time (``time.process_time``) of this process; the goal is a month under 60 s. Rounds
alternate baseline and simulation so a neighbour's burst of load hits a pair.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from acd.decision import Assignment, FreeAgent, WaitingCall
from acd.simulation.centre import Centre
from acd.simulation.demand import callers
from acd.simulation.events import EventQueue
from acd.simulation.run import Setting, prepare
from acd.simulation.scenario import load
from acd.states import AgentStatus, Event
from hotline.config import PROJECT_ROOT

SCENARIO = PROJECT_ROOT / "dialplans" / "scenarios" / "august-2012.yaml"
GOAL_S = 60.0


def baseline(setting: Setting) -> tuple[float, int]:
    """CPU seconds to draw the callers and run each through the event queue once."""
    started = time.process_time()
    events = EventQueue()
    count = 0

    def arrive(caller: Any) -> None:
        nonlocal count
        count += 1
        following = next(stream, None)
        if following is not None:
            events.at(following.arrives_at, arrive, following)

    stream = callers(setting.scenario)
    first = next(stream, None)
    if first is not None:
        events.at(first.arrives_at, arrive, first)
    events.run()
    return time.process_time() - started, count


class TimedCentre(Centre):
    """The simulated centre, timing each of its calls of the routing core."""

    decide_s = 0.0
    transition_s = 0.0
    transitions = 0

    def decide(self, calls: list[WaitingCall], free: list[FreeAgent], busy: frozenset[str]
               ) -> list[Assignment]:
        started = time.process_time()
        try:
            return super().decide(calls, free, busy)
        finally:
            self.decide_s += time.process_time() - started

    def transition(self, status: AgentStatus, event: Event) -> AgentStatus:
        started = time.process_time()
        try:
            return super().transition(status, event)
        finally:
            self.transition_s += time.process_time() - started
            self.transitions += 1


def simulate(setting: Setting, routing: str) -> dict[str, Any]:
    scenario = replace(setting.scenario, routing=routing)
    router = setting.router_for(scenario)
    gc.collect()
    started = time.process_time()
    centre = TimedCentre(scenario, setting.members, router, setting.queues)
    report = centre.run().report()
    cpu = time.process_time() - started
    return {"cpu_s": cpu, "arrived": report["arrived"], "offered": report["offered"],
            "decisions": centre.decisions, "decide_s": centre.decide_s,
            "transitions": centre.transitions, "transition_s": centre.transition_s,
            "service_level": report["service_level"], "abandon_rate": report["abandon_rate"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=744, help="default 744: August")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    setting = prepare(load(args.scenario, {"hours": args.hours},
                           default_roster=PROJECT_ROOT / "dialplans" / "agents.yaml"))
    base: list[float] = []
    runs: dict[str, list[dict[str, Any]]] = {"skills": [], "fifo": []}
    for round_ in range(args.rounds):
        print(f"[bench] round {round_ + 1}/{args.rounds}: {args.hours} h", file=sys.stderr)
        order = ["baseline", "skills", "fifo"] if round_ % 2 == 0 else \
            ["skills", "fifo", "baseline"]
        for side in order:
            if side == "baseline":
                gc.collect()
                seconds, count = baseline(setting)
                base.append(seconds)
            else:
                runs[side].append(simulate(setting, side))
    base_s = statistics.median(base)
    output: dict[str, Any] = {"hours": args.hours, "operators": len(setting.members),
                              "callers": count, "baseline_s": base_s, "goal_s": GOAL_S,
                              "routings": {}}
    for side, results in runs.items():
        cpu = statistics.median(r["cpu_s"] for r in results)
        last = results[-1]
        output["routings"][side] = {
            **last, "cpu_s": cpu, "ratio": cpu / base_s,
            "us_per_call": cpu / last["arrived"] * 1e6,
            "us_per_decision": last["decide_s"] / max(1, last["decisions"]) * 1e6,
            "decide_share": last["decide_s"] / last["cpu_s"],
            "transition_share": last["transition_s"] / last["cpu_s"],
            "month_s": cpu * 744 / args.hours,
        }
    if args.json:
        print(json.dumps(output, indent=2))
        return 0
    print(f"\nACD simulation: {args.hours} h of {args.scenario.name}, {output['callers']:,} "
          f"callers, {output['operators']} operators, {args.rounds} round(s)")
    print(f"baseline (draw the callers, one event each): {base_s:.2f} s CPU")
    print(f"{'routing':<8}{'CPU s':>8}{'x base':>8}{'us/call':>9}{'decisions':>11}"
          f"{'us/dec':>8}{'decide':>8}{'transit.':>9}{'month s':>9}  verdict (month < 60 s)")
    for side, r in output["routings"].items():
        print(f"{side:<8}{r['cpu_s']:>8.2f}{r['ratio']:>8.1f}{r['us_per_call']:>9.0f}"
              f"{r['decisions']:>11,}{r['us_per_decision']:>8.1f}{r['decide_share']:>8.0%}"
              f"{r['transition_share']:>9.0%}{r['month_s']:>9.1f}  "
              f"{'ok' if r['month_s'] < GOAL_S else 'OVER'}")
    print("decide / transit. = share of the run's CPU inside acd.decision.decide / "
          "acd.states.transition\n(timed call by call, which adds a little to both); month s "
          "= CPU s scaled to 744 h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
