"""The routing decision, scenario by scenario: who waits, who is served first, and by whom.

Each scenario is a queue of waiting callers, the free (and busy) operators at that moment and the
assignments the decision must give, with their reasons. Then properties over random snapshots:
no operator twice, every assignment allowed by the caller's requirement at that moment, no free
operator left idle while a caller they could serve waits (unless that caller is waiting for their
sticky operator), and the same result as the plain reference implementation below."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.decision import (
    Assignment,
    FreeAgent,
    Policy,
    Relaxation,
    WaitingCall,
    decide,
    requirement,
    score,
)

NOW = 10_000.0
POLICY = Policy()  # proficiency 3; 2 after 30 s; 1 after 60 s; anyone with the language after 90 s


def agent(agent_id: str, idle_s: float = 60.0, languages: tuple[str, ...] = ("vi",),
          **skills: int) -> FreeAgent:
    """A free operator, idle for ``idle_s`` seconds."""
    return FreeAgent(agent_id, skills, languages, NOW - idle_s)


def call(call_id: str, *skills: str, waited: float = 0.0, priority: int = 0,
         language: str = "vi", sticky: str | None = None,
         declined: tuple[str, ...] = ()) -> WaitingCall:
    """A caller who has waited ``waited`` seconds."""
    return WaitingCall(call_id, skills, language, priority, NOW - waited, sticky,
                       frozenset(declined))


@dataclass(frozen=True)
class Scenario:
    name: str
    calls: list[WaitingCall]
    agents: list[FreeAgent]
    expected: list[tuple[str, str, str]]  # (call, operator, reason), in decision order
    busy: frozenset[str] = frozenset()
    policy: Policy = field(default=POLICY)


SCENARIOS = [
    # -- skills and idle time
    Scenario("the best skill match beats a longer idle time",
             [call("c1", "billing")],
             [agent("op01", idle_s=10, billing=5), agent("op02", idle_s=300, billing=3)],
             [("c1", "op01", "skills")]),
    Scenario("among equal matches the longest idle wins",
             [call("c1", "billing")],
             [agent("op01", idle_s=10, billing=4), agent("op02", idle_s=300, billing=4),
              agent("op03", idle_s=200, billing=4)],
             [("c1", "op02", "skills")]),
    Scenario("the match is summed over the skills the caller needs",
             [call("c1", "billing", "outage")],
             [agent("op01", idle_s=300, billing=5, outage=3),
              agent("op02", idle_s=10, billing=4, outage=5)],
             [("c1", "op02", "skills")]),
    Scenario("the same summed match: the longest idle",
             [call("c1", "billing", "outage")],
             [agent("op01", idle_s=10, billing=5, outage=3),
              agent("op02", idle_s=300, billing=4, outage=4)],
             [("c1", "op02", "skills")]),
    Scenario("every skill must reach the minimum",
             [call("c1", "billing", "outage")],
             [agent("op01", billing=5, outage=2), agent("op02", billing=3, outage=3)],
             [("c1", "op02", "skills")]),
    Scenario("skills the caller does not need do not count",
             [call("c1", "billing")],
             [agent("op01", idle_s=300, billing=4), agent("op02", idle_s=10, billing=4,
                                                          outage=5, general=5)],
             [("c1", "op01", "skills")]),
    Scenario("a caller with no skill to match takes the longest idle with the language",
             [call("c1")],
             [agent("op01", idle_s=10, general=5), agent("op02", idle_s=20)],
             [("c1", "op02", "skills")]),
    # -- relaxation with the wait
    Scenario("below the minimum the caller waits, before 30 s",
             [call("c1", "billing", waited=29.9)], [agent("op01", billing=2)], []),
    Scenario("after 30 s proficiency 2 will do",
             [call("c1", "billing", waited=30)], [agent("op01", billing=2)],
             [("c1", "op01", "relaxed:1")]),
    Scenario("after 30 s proficiency 1 is still too little",
             [call("c1", "billing", waited=59)], [agent("op01", billing=1)], []),
    Scenario("after 60 s proficiency 1 will do",
             [call("c1", "billing", waited=60)], [agent("op01", billing=1)],
             [("c1", "op01", "relaxed:2")]),
    Scenario("before 90 s an operator without the skill is not enough",
             [call("c1", "billing", waited=89)], [agent("op01", general=5)], []),
    Scenario("after 90 s any operator with the language",
             [call("c1", "billing", waited=90)], [agent("op01", general=5)],
             [("c1", "op01", "any")]),
    Scenario("after 90 s the best match still comes first",
             [call("c1", "billing", waited=120)],
             [agent("op01", idle_s=500, general=5), agent("op02", idle_s=5, billing=1)],
             [("c1", "op02", "any")]),
    Scenario("a relaxed caller still takes an expert if one is free",
             [call("c1", "billing", waited=45)],
             [agent("op01", idle_s=500, billing=2), agent("op02", idle_s=5, billing=5)],
             [("c1", "op02", "relaxed:1")]),
    Scenario("the language never relaxes",
             [call("c1", "billing", waited=3600, language="en")],
             [agent("op01", billing=5), agent("op02", languages=("vi", "fr"), billing=5)], []),
    Scenario("an operator who speaks the caller's language among others",
             [call("c1", "billing", language="en")],
             [agent("op01", idle_s=500, billing=5),
              agent("op02", idle_s=5, languages=("vi", "en"), billing=3)],
             [("c1", "op02", "skills")]),
    # -- the order of the queue
    Scenario("a higher priority caller jumps ahead of a longer-waiting one",
             [call("c-old", "billing", waited=200), call("c-vip", "billing", priority=1,
                                                         waited=5)],
             [agent("op01", billing=5)],
             [("c-vip", "op01", "skills")]),
    Scenario("within a priority the longest waiting first",
             [call("c1", "billing", waited=10), call("c2", "billing", waited=20),
              call("c3", "billing", waited=15)],
             [agent("op01", billing=5)],
             [("c2", "op01", "skills")]),
    Scenario("callers are served in order, each by the best operator left",
             [call("c1", "billing", waited=10), call("c2", "billing", waited=20)],
             [agent("op01", idle_s=100, billing=3), agent("op02", idle_s=10, billing=5)],
             [("c2", "op02", "skills"), ("c1", "op01", "skills")]),
    Scenario("a caller nobody free can serve does not hold up the queue",
             [call("c1", "billing", waited=50, language="en"), call("c2", "billing")],
             [agent("op01", billing=5)],
             [("c2", "op01", "skills")]),
    Scenario("each operator is assigned once",
             [call("c1", "billing", waited=30), call("c2", "billing", waited=20),
              call("c3", "billing", waited=10)],
             [agent("op01", billing=5), agent("op02", billing=4)],
             [("c1", "op01", "relaxed:1"), ("c2", "op02", "skills")]),
    # -- operators who declined this call
    Scenario("an operator who let the call ring out: the next best, though less good",
             [call("c1", "billing", declined=("op01",))],
             [agent("op01", billing=5), agent("op02", billing=3)],
             [("c1", "op02", "skills")]),
    Scenario("an operator who declined is offered the call again if nobody else can take it",
             [call("c1", "billing", declined=("op01",))],
             [agent("op01", billing=5), agent("op02", billing=1)],
             [("c1", "op01", "skills")]),
    Scenario("a decliner is still the best for another caller",
             [call("c1", "billing", waited=9, declined=("op01",)), call("c2", "billing")],
             [agent("op01", billing=5), agent("op02", billing=3)],
             [("c1", "op02", "skills"), ("c2", "op01", "skills")]),
    Scenario("a sticky operator who declined is not waited for",
             [call("c1", "billing", waited=5, sticky="op09", declined=("op09",))],
             [agent("op01", billing=4)],
             [("c1", "op01", "skills")], busy=frozenset({"op09"})),
    # -- sticky routing
    Scenario("the sticky operator, free, is chosen even if a better one is idle",
             [call("c1", "billing", waited=5, sticky="op02")],
             [agent("op01", idle_s=500, billing=5), agent("op02", idle_s=1, billing=1)],
             [("c1", "op02", "sticky")]),
    Scenario("the sticky operator needs no skill, only the language",
             [call("c1", "billing", waited=5, sticky="op02")],
             [agent("op01", billing=5), agent("op02")],
             [("c1", "op02", "sticky")]),
    Scenario("a sticky operator who does not speak the language: the best instead",
             [call("c1", "billing", waited=5, language="en", sticky="op02")],
             [agent("op01", languages=("en",), billing=5), agent("op02", billing=5)],
             [("c1", "op01", "skills")]),
    Scenario("the sticky operator busy: the caller waits for them",
             [call("c1", "billing", waited=19.9, sticky="op09")],
             [agent("op01", billing=5)], [], busy=frozenset({"op09"})),
    Scenario("the sticky operator busy past sticky_wait_s: the best free operator",
             [call("c1", "billing", waited=20, sticky="op09")],
             [agent("op01", billing=5)], [("c1", "op01", "skills")],
             busy=frozenset({"op09"})),
    Scenario("a sticky operator past sticky_wait_s competes like anyone",
             [call("c1", "billing", waited=25, sticky="op02")],
             [agent("op01", idle_s=500, billing=5), agent("op02", idle_s=1, billing=1)],
             [("c1", "op01", "skills")]),
    Scenario("the sticky operator logged out: the best free operator at once",
             [call("c1", "billing", waited=1, sticky="op09")],
             [agent("op01", billing=5)], [("c1", "op01", "skills")]),
    Scenario("a caller waiting for a sticky operator does not hold up the queue",
             [call("c1", "billing", waited=10, sticky="op09"), call("c2", "billing")],
             [agent("op01", billing=5)], [("c2", "op01", "skills")],
             busy=frozenset({"op09"})),
    Scenario("the sticky operator taken by an earlier caller: the caller waits for them",
             [call("c1", "billing", waited=15, priority=1, sticky="op02"),
              call("c2", "billing", waited=10, sticky="op02")],
             [agent("op01", billing=5), agent("op02", billing=5)],
             [("c1", "op02", "sticky")]),
    Scenario("the sticky operator taken by skills for an earlier caller: the caller waits",
             [call("c1", "billing", waited=15), call("c2", "billing", waited=10,
                                                     sticky="op01")],
             [agent("op01", idle_s=100, billing=5), agent("op02", idle_s=200, billing=3)],
             [("c1", "op01", "skills")]),
    Scenario("a relaxation policy of its own",
             [call("c1", "billing", waited=11)], [agent("op01", general=1)],
             [("c1", "op01", "any")],
             policy=Policy(min_proficiency=5, steps=(Relaxation(5, min_proficiency=4),
                                                     Relaxation(10, any_skill=True)))),
    Scenario("no relaxation steps: the minimum stays",
             [call("c1", "billing", waited=3600)], [agent("op01", billing=2)], [],
             policy=Policy(steps=())),
    # -- edges and ties
    Scenario("no operators free", [call("c1", "billing")], [], []),
    Scenario("no callers waiting", [], [agent("op01", billing=5)], []),
    Scenario("same match, same idle time: the smaller operator id",
             [call("c1", "billing")],
             [agent("op03", idle_s=60, billing=4), agent("op02", idle_s=60, billing=4)],
             [("c1", "op02", "skills")]),
    Scenario("a tie with callers nobody can serve or waiting for their operator",
             [call("c4", "billing", waited=60, language="en"), call("c5", "billing", waited=60),
              call("c3", "billing", waited=10, sticky="op09"), call("c1", "billing", waited=10),
              call("c2", "billing", waited=10, sticky="op02"),
              call("c0", "billing", waited=10, language="en")],
             [agent("op01", billing=5), agent("op02", billing=5), agent("op03", billing=5)],
             [("c5", "op01", "relaxed:2"), ("c1", "op02", "skills"), ("c3", "op03", "skills")]),
    Scenario("same priority, same arrival: the smaller call id",
             [call("c2", "billing", waited=60), call("c1", "billing", waited=60)],
             [agent("op01", billing=5)],
             [("c1", "op01", "relaxed:2")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(scenario: Scenario) -> None:
    got = decide(scenario.calls, scenario.agents, scenario.policy, NOW, scenario.busy)
    assert [(a.call_id, a.agent_id, a.reason) for a in got] == scenario.expected
    assert got == reference_decide(scenario.calls, scenario.agents, scenario.policy, NOW,
                                   scenario.busy)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_does_not_depend_on_input_order(scenario: Scenario) -> None:
    rng = random.Random(scenario.name)
    calls, agents = list(scenario.calls), list(scenario.agents)
    for _ in range(5):
        rng.shuffle(calls)
        rng.shuffle(agents)
        got = decide(calls, agents, scenario.policy, NOW, scenario.busy)
        assert [(a.call_id, a.agent_id, a.reason) for a in got] == scenario.expected


REQUIREMENTS = [  # waited -> (minimum proficiency, any skill, why) under the default policy
    (0.0, (3, False, "skills")), (29.999, (3, False, "skills")), (30.0, (2, False, "relaxed:1")),
    (60.0, (1, False, "relaxed:2")), (89.0, (1, False, "relaxed:2")),
    (90.0, (1, True, "any")), (86_400.0, (1, True, "any")), (-5.0, (3, False, "skills")),
]


@pytest.mark.parametrize(("waited", "expected"), REQUIREMENTS)
def test_requirement(waited: float, expected: tuple[int, bool, str]) -> None:
    assert requirement(call("c1", waited=waited), POLICY, NOW) == expected


SCORES = [  # (call skills, call language, operator, minimum, any skill) -> score
    (("billing",), "vi", agent("op01", billing=4), 3, False, 4),
    (("billing",), "vi", agent("op01", billing=2), 3, False, None),
    (("billing", "outage"), "vi", agent("op01", billing=4, outage=3), 3, False, 7),
    (("billing", "outage"), "vi", agent("op01", billing=4), 3, False, None),
    (("billing", "outage"), "vi", agent("op01", billing=4), 1, True, 4),
    (("billing",), "en", agent("op01", billing=5), 1, True, None),
    ((), "vi", agent("op01"), 3, False, 0),
]


@pytest.mark.parametrize(("skills", "language", "operator", "minimum", "any_skill", "expected"),
                         SCORES)
def test_score(skills: tuple[str, ...], language: str, operator: FreeAgent, minimum: int,
               any_skill: bool, expected: int | None) -> None:
    waiting = WaitingCall("c1", skills, language, 0, NOW)
    assert score(waiting, operator, minimum, any_skill) == expected


# -- the reference: the plain algorithm, written for reading, not speed -------------------------

def reference_decide(calls: list[WaitingCall], agents: list[FreeAgent], policy: Policy,
                     now: float, busy_agents: frozenset[str] = frozenset()
                     ) -> list[Assignment]:
    free = {a.agent_id: a for a in agents}
    taken: set[str] = set()
    assignments = []
    for waiting in sorted(calls, key=lambda c: (-c.priority, c.joined_at, c.call_id)):
        if not free:
            break
        sticky = waiting.sticky_agent
        if sticky is not None and now - waiting.joined_at < policy.sticky_wait_s and \
                sticky not in waiting.declined:
            if sticky in free and waiting.language in free[sticky].languages:
                assignments.append(Assignment(waiting.call_id, sticky, "sticky"))
                taken.add(sticky)
                del free[sticky]
                continue
            if sticky in busy_agents or sticky in taken:
                continue
        minimum, any_skill, why = requirement(waiting, policy, now)
        candidates = []
        for operator in free.values():
            fit = score(waiting, operator, minimum, any_skill)
            if fit is not None:
                candidates.append((-fit, operator.idle_since, operator.agent_id))
        candidates = [c for c in candidates if c[2] not in waiting.declined] or candidates
        if candidates:
            best = min(candidates)[2]
            assignments.append(Assignment(waiting.call_id, best, why))
            taken.add(best)
            del free[best]
    return assignments


# -- properties over random snapshots -----------------------------------------------------------

SKILL_NAMES = ("general", "billing", "outage", "advice")
OPERATORS = tuple(f"op{n:02d}" for n in range(1, 13))


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[list[WaitingCall], list[FreeAgent], frozenset[str],
                                        Policy]:
    """Few skills, two languages and coarse times, so that ties and thresholds are common."""
    ids = draw(st.lists(st.sampled_from(OPERATORS), unique=True, max_size=len(OPERATORS)))
    free_count = draw(st.integers(0, len(ids)))
    free_ids, busy_ids = ids[:free_count], ids[free_count:]
    agents = [FreeAgent(
        agent_id,
        draw(st.dictionaries(st.sampled_from(SKILL_NAMES), st.integers(1, 5), max_size=3)),
        draw(st.sampled_from([("vi",), ("vi",), ("vi", "en"), ("en",)])),
        NOW - draw(st.sampled_from([0.0, 5.0, 60.0, 61.5, 300.0])),
    ) for agent_id in free_ids]
    calls = [WaitingCall(
        f"c{number:03d}",
        tuple(draw(st.lists(st.sampled_from(SKILL_NAMES), max_size=2))),
        draw(st.sampled_from(["vi", "vi", "vi", "en", "fr"])),
        draw(st.integers(0, 2)),
        NOW - draw(st.sampled_from([0.0, 10.0, 19.999, 20.0, 29.5, 30.0, 45.0, 60.0, 75.0,
                                    90.0, 200.0])),
        draw(st.none() | st.sampled_from(OPERATORS)),
        frozenset(draw(st.lists(st.sampled_from(OPERATORS), max_size=3))),
    ) for number in range(draw(st.integers(0, 25)))]
    calls = list(draw(st.permutations(calls)))
    policy = draw(st.sampled_from([
        POLICY,
        Policy(sticky_wait_s=0.0),
        Policy(min_proficiency=4, steps=(Relaxation(20, min_proficiency=3),
                                         Relaxation(45, any_skill=True)), sticky_wait_s=60),
        Policy(min_proficiency=2, steps=()),
    ]))
    return calls, agents, frozenset(busy_ids), policy


def eligible(waiting: WaitingCall, operator: FreeAgent, policy: Policy) -> bool:
    minimum, any_skill, _ = requirement(waiting, policy, NOW)
    return score(waiting, operator, minimum, any_skill) is not None


@settings(max_examples=250, deadline=None)
@given(snapshots())
def test_properties(snapshot: tuple[list[WaitingCall], list[FreeAgent], frozenset[str],
                                    Policy]) -> None:
    calls, agents, busy, policy = snapshot
    got = decide(calls, agents, policy, NOW, busy)
    by_call = {c.call_id: c for c in calls}
    by_agent = {a.agent_id: a for a in agents}

    # each operator at most once, each caller at most once, only free operators
    assert len({a.agent_id for a in got}) == len(got)
    assert len({a.call_id for a in got}) == len(got)
    assert {a.agent_id for a in got} <= set(by_agent)

    # every assignment is allowed by the caller's requirement at this moment
    for assignment in got:
        waiting, operator = by_call[assignment.call_id], by_agent[assignment.agent_id]
        if assignment.reason == "sticky":
            assert waiting.sticky_agent == operator.agent_id
            assert NOW - waiting.joined_at < policy.sticky_wait_s
            assert waiting.language in operator.languages
        else:
            assert eligible(waiting, operator, policy)
            assert assignment.reason == requirement(waiting, policy, NOW)[2]

    # work-conserving: a free operator is left unassigned only if every caller they could
    # serve is waiting for their sticky operator, who is busy or was just assigned
    assigned_agents = {a.agent_id for a in got}
    assigned_calls = {a.call_id for a in got}
    for operator in agents:
        if operator.agent_id in assigned_agents:
            continue
        for waiting in calls:
            if waiting.call_id in assigned_calls or not eligible(waiting, operator, policy):
                continue
            assert waiting.sticky_agent is not None, (waiting, operator)
            assert NOW - waiting.joined_at < policy.sticky_wait_s, (waiting, operator)
            assert waiting.sticky_agent in busy | assigned_agents, (waiting, operator)

    # and exactly what the plain reference decides
    assert got == reference_decide(calls, agents, policy, NOW, busy)


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(snapshot: tuple[list[WaitingCall], list[FreeAgent],
                                                     frozenset[str], Policy],
                                     rng: random.Random) -> None:
    calls, agents, busy, policy = snapshot
    first = decide(calls, agents, policy, NOW, busy)
    rng.shuffle(calls)
    rng.shuffle(agents)
    assert decide(calls, agents, policy, NOW, busy) == first


def test_large_snapshots_match_the_reference() -> None:
    """The benchmark's shape (50 operators, 20 skills, 1,000 callers), against the reference."""
    from bench.acd_decision import random_operators, snapshot, yaml_operators

    rng = random.Random(5)
    for operators in (random_operators(rng), yaml_operators()):
        for free, servable in ((1, True), (5, True), (17, True), (50, True), (1, False)):
            for _ in range(3):
                shot = snapshot(rng, operators, 1000, free, NOW, servable)
                got = decide(shot.calls, shot.free, POLICY, NOW, shot.busy)
                assert got == reference_decide(shot.calls, shot.free, POLICY, NOW, shot.busy)
                assert len(got) <= free
