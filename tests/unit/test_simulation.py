"""The simulated centre, scenario by scenario: the clock's order, a caller who hangs up while
the phone rings, wrap-up, shifts, relaxation over simulated time, the IVR's lines, the overflow
rules, missed offers, and the same run for the same seed.

Each scenario hands the centre its callers one by one (who arrives when, needing what, how
patient, how long they talk) and checks what the real decision and state machine made of them.
The agreement with Erlang A and C is in test_simulation_erlang.py."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from acd.agents import Agent
from acd.queues import Routing as QueueRules
from acd.simulation.centre import Centre
from acd.simulation.demand import Caller, callers
from acd.simulation.events import EventQueue
from acd.simulation.roster import representative_order
from acd.simulation.routing import FifoRouting, SkillsRouting
from acd.simulation.run import prepare, simulate
from acd.simulation.scenario import Scenario, load
from acd.states import AgentState

ROSTER = """\
routing:
  min_proficiency: 3
  relax:
    - {after: 30, min_proficiency: 2}
    - {after: 60, min_proficiency: 1}
  sticky_wait: 20
queues:
  default: {max_wait: 600}
  outage: {max_queue: 1, on_queue_full: announce}
agents:
  op01: {name: A, skills: {billing: 1}, languages: [vi]}
  op02: {name: B, skills: {billing: 5, general: 3}, languages: [vi, en]}
"""


def caller(number: int, at: float, *, skill: str = "general", talk: float = 100.0,
           patience: float = math.inf, language: str = "vi", priority: int = 0,
           ivr: float = 0.0, self_served: bool = False, hazard: bool = False) -> Caller:
    return Caller(number, f"c{number:08d}", at, (skill,), language, priority, hazard,
                  self_served, ivr, patience, talk)


def general(count: int) -> list[Agent]:
    return [Agent(f"op{n:02d}", f"operator {n}", {"general": 3}, ("vi",))
            for n in range(1, count + 1)]


def centre(arrivals: list[Caller], members: list[Agent], *, hours: int = 1,
           staffing: tuple[int, ...] | None = None, router: Any = None,
           queues: QueueRules | None = None, **settings: Any) -> Centre:
    scenario = Scenario(hours=hours, staffing=staffing or (len(members),) * 24, **settings)
    return Centre(scenario, members, router or SkillsRouting(QueueRules().policy),
                  queues or QueueRules(), arrivals)


def test_events_run_in_time_order_and_in_scheduling_order_at_the_same_instant() -> None:
    events = EventQueue()
    seen: list[str] = []
    events.at(5.0, seen.append, "third")
    events.at(1.0, seen.append, "first")
    events.at(5.0, seen.append, "fourth")
    events.at(2.0, lambda _: events.at(2.0, seen.append, "scheduled at 2 by 2"), None)
    events.at(2.0, seen.append, "second")
    events.run(until=4.0)
    assert seen == ["first", "second", "scheduled at 2 by 2"]
    assert events.now == 2.0
    events.at(0.0, seen.append, "never in the past")  # runs now, not before
    events.run()
    assert seen[3:] == ["never in the past", "third", "fourth"]


def test_two_callers_one_operator_the_second_waits_for_the_call_and_the_wrap_up() -> None:
    run = centre([caller(1, 1.0, talk=100.0), caller(2, 2.0, talk=50.0)], general(1),
                 wrap_up_s=30.0)
    measures = run.run()
    # caller 1: answered at 1, hangs up at 101, wrap-up to 131; caller 2 answered at 131
    assert measures.total.waits == [0.0, 129.0]
    assert measures.total.answered == 2 and measures.total.answered_in_time == 1
    assert run.status["op01"].state is AgentState.AVAILABLE
    assert run.status["op01"].idle_since == 131.0 + 50.0 + 30.0
    # on calls and in wrap-up 100 + 30 + 50 + 30 of the hour, logged in all of it
    assert measures.working_s[0] == pytest.approx(210.0)
    assert measures.staffed_s[0] == pytest.approx(3600.0)


def test_a_caller_who_hangs_up_while_the_phone_rings_frees_the_operator() -> None:
    run = centre([caller(1, 10.0, patience=4.0), caller(2, 20.0)], general(1),
                 ring_time_s=6.0)
    measures = run.run()
    assert measures.total.abandoned == 1 and measures.total.short_abandons == 1
    assert measures.offers == 2  # both rang the operator
    # the operator is free again at 14 (idle since 0: a lost ring is not a call), rung for
    # caller 2 at 20, who is answered 6 s later
    assert measures.total.waits == [6.0]
    assert run.status["op01"].missed_offers == 0


def test_requirements_relax_at_the_moment_the_wait_reaches_each_step(tmp_path: Path) -> None:
    """op01 has billing 1 and is free all along; the policy asks for 3, then 2 after 30 s,
    then 1 after 60 s: the caller is offered op01 when the wait reaches exactly 60 s."""
    roster = tmp_path / "agents.yaml"
    roster.write_text(ROSTER)
    setting = prepare(load(None, {"staffing": 1, "hours": 1}, default_roster=roster))
    members = [Agent("op01", "A", {"billing": 1}, ("vi",))]
    run = Centre(setting.scenario, members, setting.router, setting.queues,
                 [caller(1, 10.123, skill="billing")])
    run.start()
    run.events.run(until=10.123 + 59.999)
    assert run.status["op01"].state is AgentState.AVAILABLE and len(run.waiting) == 1
    run.events.run()
    measures = run.finish()
    assert measures.total.waits == [pytest.approx(60.0, abs=1e-9)]
    assert measures.total.waits[0] >= 60.0


def test_skills_routing_serves_the_hazard_first_and_fifo_in_order_of_arrival() -> None:
    arrivals = [caller(1, 1.0, talk=100.0), caller(2, 2.0), caller(3, 3.0, priority=10,
                                                                     hazard=True)]
    skills = centre(arrivals, general(1))
    skills.run()
    fifo = centre(arrivals, general(1), router=FifoRouting())
    fifo.run()
    assert skills.measures.hazard.waits == [98.0]   # answered when caller 1 hangs up
    assert fifo.measures.hazard.waits == [198.0]    # after caller 2 too


def test_staffing_changes_on_the_hour_and_a_leaving_operator_finishes_the_call() -> None:
    arrivals = [caller(1, 3000.0, talk=900.0), caller(2, 3700.0), caller(3, 7300.0)]
    run = centre(arrivals, general(2), hours=3, staffing=(1, 0, 2) + (0,) * 21)
    measures = run.run()
    # caller 1 is answered by op01 in hour 0, who stays on the call past 1:00 and then
    # leaves; caller 2 joins at 1:01:40 while op01 is still logged in, so waits, and is
    # answered only when hour 2 brings two operators in
    assert measures.total.answered == 3
    assert measures.total.waits == [0.0, 7200.0 - 3700.0, 0.0]
    assert measures.staffed_s[1] == pytest.approx(900.0 - 600.0)  # op01 until 1:05:00
    assert measures.staffed_s[0] == pytest.approx(3600.0)


def test_nobody_logged_in_who_could_take_the_caller_is_an_overflow() -> None:
    arrivals = [caller(1, 10.0), caller(2, 3700.0, language="fr"), caller(3, 3800.0)]
    run = centre(arrivals, general(1), hours=2, staffing=(0,) + (1,) * 23)
    measures = run.run()
    # hour 0 has nobody logged in; in hour 1 nobody speaks French (the language never relaxes)
    assert measures.overflow_reasons == {"no_operator": 2}
    assert measures.total.offered == 3 and measures.total.answered == 1


def test_overflow_rules_of_the_operators_file(tmp_path: Path) -> None:
    roster = tmp_path / "agents.yaml"
    roster.write_text(ROSTER)
    setting = prepare(load(None, {"staffing": 2, "hours": 1}, default_roster=roster))
    # outage has its own queue of at most 1; op02 takes an outage call only after relaxing
    # past any skill (never: the last step here is proficiency 1), so nobody could ever take
    # it: no_operator; general: op02 (general 3), queue default with a max wait of 600 s
    arrivals = [caller(1, 1.0, skill="general", talk=2000.0),
                caller(2, 2.0, skill="general", patience=math.inf),
                caller(3, 3.0, skill="outage")]
    run = Centre(setting.scenario, setting.members, setting.router, setting.queues, arrivals)
    measures = run.run()
    assert measures.overflow_reasons == {"max_wait": 1, "no_operator": 1}
    assert measures.by_skill["general"].answered == 1


def test_a_full_queue_sends_the_next_caller_away() -> None:
    arrivals = [caller(n, float(n), talk=1000.0) for n in range(1, 5)]
    run = centre(arrivals, general(1), max_queue=2)
    measures = run.run()
    # caller 1 is answered; 2 and 3 wait; caller 4 makes three in the queue: sent away
    assert measures.overflow_reasons == {"queue_full": 1}
    assert measures.total.answered == 3


def test_a_full_ivr_sends_callers_straight_to_the_queue_without_their_choices() -> None:
    arrivals = [caller(1, 1.0, ivr=100.0, self_served=True),
                caller(2, 2.0, ivr=100.0, skill="billing", language="en", priority=10,
                       hazard=True)]
    members = [Agent("op01", "A", {"general": 3}, ("vi",))]
    run = centre(arrivals, members, ivr_lines=1)
    measures = run.run()
    # caller 2 finds the one line busy: queued as general / vi / priority 0, answered at once
    assert measures.total.ivr_full == 1 and measures.total.self_served == 1
    assert measures.by_skill["general"].answered == 1
    assert measures.hazard.waits == [0.0]


def test_an_offer_that_rings_out_goes_to_someone_else_and_misses_pause_the_operator() -> None:
    run = centre([caller(1, 1.0)], general(2), no_answer=0.99, ring_timeout_s=15.0,
                 max_missed=1, seed=3)
    run.start()
    run.events.run(until=10.0)  # op01 (idle as long as op02, first by id) rings
    assert run.status["op01"].state is AgentState.RESERVED
    run.events.run(until=20.0)  # rang out at 16: a miss pauses op01; op02 rings
    assert run.status["op01"].state is AgentState.PAUSED
    assert run.status["op01"].pause_reason == "no_answer"
    assert run.status["op02"].state is AgentState.RESERVED
    assert run.queued["c00000001"].declined == {"op01"}
    run.events.run(until=80.0)  # op01 is back 60 s after the pause, and rung again
    assert run.status["op01"].state in (AgentState.RESERVED, AgentState.ON_CALL,
                                        AgentState.AVAILABLE)
    run.events.run()
    measures = run.finish()
    assert measures.offers_not_answered >= 2 and measures.total.answered == 1


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    settings = {"calls_per_hour": 400, "operators": 10, "hours": 3, "patience": 90,
                "service": "lognormal", "service_cv": 0.8, "ring_time": 2, "wrap_up": 10,
                "aht": 200, "self_service": 0.3, "ivr_time": 40, "no_answer": 0.05}
    first = simulate(prepare(load(None, {**settings, "seed": 7}))).report
    again = simulate(prepare(load(None, {**settings, "seed": 7}))).report
    other = simulate(prepare(load(None, {**settings, "seed": 8}))).report
    assert first == again
    assert first["arrived"] != other["arrived"] or first["hours"] != other["hours"]


def test_both_routings_meet_the_same_callers() -> None:
    """Common random numbers: the callers are drawn before any routing, so skills routing
    and FIFO see the same arrivals, needs, patience and talk times."""
    scenario = load(None, {"calls_per_hour": 300, "operators": 5, "hours": 2, "patience": 60,
                           "hazard_share": 0.05, "self_service": 0.2, "seed": 11})
    skills = list(callers(scenario))
    fifo = list(callers(load(None, {"calls_per_hour": 300, "operators": 5, "hours": 2,
                                    "patience": 60, "hazard_share": 0.05,
                                    "self_service": 0.2, "seed": 11, "routing": "fifo"})))
    assert skills == fifo
    setting = prepare(scenario)
    by_skills = simulate(setting).report
    by_fifo = simulate(setting, routing="fifo").report
    assert by_skills["arrived"] == by_fifo["arrived"] and \
        by_skills["offered"] == by_fifo["offered"]
    assert by_skills["hazard"]["offered"] == by_fifo["hazard"]["offered"] > 0


def test_a_run_reports_the_required_measures() -> None:
    report = simulate(prepare(load(None, {"calls_per_hour": 200, "operators": 4, "hours": 2,
                                          "patience": 120, "seed": 2}))).report
    for key in ("service_level", "abandon_rate", "asa_s", "p95_wait_s", "occupancy",
                "answered", "abandoned", "offered"):
        assert key in report
    assert 0 <= report["service_level"] <= 1 and 0 <= report["abandon_rate"] <= 1
    assert 0 < report["occupancy"] <= 1
    assert len(report["hours"]) == 2
    assert report["offered"] == report["answered"] + report["abandoned"] + \
        report["overflowed"] + report["still_waiting"]
    assert sum(h["offered"] for h in report["hours"]) == report["offered"]


def test_the_representative_order_keeps_the_roster_shares_in_every_prefix() -> None:
    roster = [Agent(f"op{n:02d}", "", {"general": 3, **({"billing": 4} if n <= 10 else {}),
                                       **({"outage": 2} if n > 30 else {})},
                    ("vi", "en") if n % 5 == 0 else ("vi",)) for n in range(1, 41)]
    order = representative_order(roster)
    assert sorted(a.id for a in order) == sorted(a.id for a in roster)
    for size in (4, 8, 20):
        prefix = order[:size]
        assert abs(sum("billing" in a.skills for a in prefix) - size / 4) <= 1
        assert abs(sum("outage" in a.skills for a in prefix) - size / 4) <= 1
        assert abs(sum("en" in a.languages for a in prefix) - size / 5) <= 1
