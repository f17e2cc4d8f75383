"""The operator state machine, pair by pair and scenario by scenario.

Every (state, event) pair of the product of all states and all event names is either in the
expected table below, with the whole status it must give, or illegal: it raises
AgentStateError and the status is the same as before. Then the scenarios an operator lives
through (a pause asked during a ring or a call, offers that ring out, a caller who hangs up first,
logging out), and random event sequences that must never leave an inconsistent status."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.states import TRANSITIONS, AgentState, AgentStateError, AgentStatus, Event, transition

S = AgentState
OP = "op07"
EARLIER = 100.0   # when the state in each starting status began
IDLE = 90.0       # when the operator last became free, kept by the starting statuses
NOW = 200.0

EVENT_NAMES = ("login", "logout", "pause", "unpause", "offer", "answer", "no_answer",
               "caller_gone", "hangup", "wrap_up_done", "wrap_up_code")

#: One status per state, as the operator would really be in it: the call c1 is in progress where
#: there is a call; one offer already rang out unanswered; the last call (c0) was closed as
#: 'solved'.
START: dict[AgentState, AgentStatus] = {
    S.LOGGED_OUT: AgentStatus(OP, S.LOGGED_OUT, since=EARLIER),
    S.AVAILABLE: AgentStatus(OP, S.AVAILABLE, since=EARLIER, idle_since=IDLE, missed_offers=1,
                             wrap_up_code="solved", last_call_id="c0"),
    S.RESERVED: AgentStatus(OP, S.RESERVED, since=EARLIER, idle_since=IDLE, missed_offers=1,
                            call_id="c1"),
    S.ON_CALL: AgentStatus(OP, S.ON_CALL, since=EARLIER, idle_since=IDLE, call_id="c1"),
    S.WRAP_UP: AgentStatus(OP, S.WRAP_UP, since=EARLIER, idle_since=IDLE, call_id="c1",
                           last_call_id="c1", wrap_up_until=EARLIER + 10),
    S.PAUSED: AgentStatus(OP, S.PAUSED, since=EARLIER, idle_since=IDLE, pause_reason="lunch",
                          missed_offers=1, last_call_id="c0"),
}

#: The event sent for each name in the product test.
EVENTS: dict[str, Event] = {
    "login": Event("login"),
    "logout": Event("logout"),
    "pause": Event("pause", reason="meeting"),
    "unpause": Event("unpause"),
    "offer": Event("offer", call_id="c2"),
    "answer": Event("answer", call_id="c1"),
    "no_answer": Event("no_answer", call_id="c1"),
    "caller_gone": Event("caller_gone", call_id="c1"),
    "hangup": Event("hangup", call_id="c1"),
    "wrap_up_done": Event("wrap_up_done", reason="resolved"),
    "wrap_up_code": Event("wrap_up_code", reason="7"),
}

LOGGED_OUT_NOW = AgentStatus(OP, S.LOGGED_OUT, since=NOW)

#: (state, event) -> the whole status it gives. Every pair not listed must be refused.
EXPECTED: dict[tuple[AgentState, str], AgentStatus] = {
    (S.LOGGED_OUT, "login"): AgentStatus(OP, S.AVAILABLE, since=NOW, idle_since=NOW),
    (S.AVAILABLE, "logout"): LOGGED_OUT_NOW,
    (S.AVAILABLE, "pause"): replace(START[S.AVAILABLE], state=S.PAUSED, since=NOW,
                                    pause_reason="meeting"),
    # the last call's wrap-up code does not follow the operator into the next call
    (S.AVAILABLE, "offer"): replace(START[S.AVAILABLE], state=S.RESERVED, since=NOW,
                                    call_id="c2", wrap_up_code=None),
    (S.RESERVED, "answer"): replace(START[S.RESERVED], state=S.ON_CALL, since=NOW,
                                    missed_offers=0),
    (S.RESERVED, "no_answer"): replace(START[S.RESERVED], state=S.AVAILABLE, since=NOW,
                                       idle_since=NOW, missed_offers=2, call_id=None),
    # the operator did not work: the idle time (and the missed offers in a row) stay
    (S.RESERVED, "caller_gone"): replace(START[S.RESERVED], state=S.AVAILABLE, since=NOW,
                                         call_id=None),
    (S.RESERVED, "logout"): LOGGED_OUT_NOW,
    (S.RESERVED, "pause"): replace(START[S.RESERVED], pending_pause="meeting"),
    (S.ON_CALL, "hangup"): replace(START[S.ON_CALL], state=S.WRAP_UP, since=NOW,
                                   last_call_id="c1", wrap_up_until=NOW),  # no wrap-up time: due
    (S.ON_CALL, "pause"): replace(START[S.ON_CALL], pending_pause="meeting"),
    (S.WRAP_UP, "wrap_up_done"): replace(START[S.WRAP_UP], state=S.AVAILABLE, since=NOW,
                                         idle_since=NOW, call_id=None, wrap_up_code="resolved",
                                         wrap_up_until=0.0),
    # a wrap-up code ends the wrap-up; given later, it still belongs to the last call
    (S.WRAP_UP, "wrap_up_code"): replace(START[S.WRAP_UP], state=S.AVAILABLE, since=NOW,
                                         idle_since=NOW, call_id=None, wrap_up_code="7",
                                         wrap_up_until=0.0),
    (S.AVAILABLE, "wrap_up_code"): replace(START[S.AVAILABLE], wrap_up_code="7"),
    (S.PAUSED, "wrap_up_code"): replace(START[S.PAUSED], wrap_up_code="7"),
    (S.WRAP_UP, "pause"): replace(START[S.WRAP_UP], state=S.PAUSED, since=NOW,
                                  pause_reason="meeting", call_id=None, wrap_up_until=0.0),
    (S.WRAP_UP, "logout"): LOGGED_OUT_NOW,
    (S.PAUSED, "unpause"): replace(START[S.PAUSED], state=S.AVAILABLE, since=NOW,
                                   idle_since=NOW, pause_reason=None),
    (S.PAUSED, "pause"): replace(START[S.PAUSED], pause_reason="meeting"),  # since stays
    (S.PAUSED, "logout"): LOGGED_OUT_NOW,
}

ALL_PAIRS = [(state, name) for state in S for name in EVENT_NAMES]


def test_the_event_names_are_those_of_the_table() -> None:
    assert {name for _, name in TRANSITIONS} == set(EVENT_NAMES)
    assert set(TRANSITIONS) == set(EXPECTED)


@pytest.mark.parametrize(("state", "name"), [p for p in ALL_PAIRS if p in EXPECTED],
                         ids=lambda v: getattr(v, "value", v))
def test_legal_pair(state: AgentState, name: str) -> None:
    assert transition(START[state], EVENTS[name], NOW) == EXPECTED[state, name]


@pytest.mark.parametrize(("state", "name"), [p for p in ALL_PAIRS if p not in EXPECTED] +
                         [(state, "transfer") for state in S],
                         ids=lambda v: getattr(v, "value", v))
def test_illegal_pair_raises_and_leaves_the_status(state: AgentState, name: str) -> None:
    before = START[state]
    copy = replace(before)
    with pytest.raises(AgentStateError, match=f"{OP} is {state.value}: cannot {name}"):
        transition(before, EVENTS.get(name, Event(name)), NOW)
    assert before == copy


def test_a_wrap_up_code_without_a_call_to_give_it_to_is_refused() -> None:
    fresh = transition(AgentStatus(OP), Event("login"), NOW)
    with pytest.raises(AgentStateError, match="op07 has no call to give a wrap-up code to"):
        transition(fresh, Event("wrap_up_code", reason="7"), NOW)


def test_a_hang_up_sets_the_end_of_the_wrap_up_and_only_that_calls_wrap_up_ends_it() -> None:
    """The deadline lives with the status (in Redis), so any controller can end the wrap-up
    when it is due; a late ``wrap_up_done`` for an earlier call cannot end the next one."""
    wrap_up = transition(START[S.ON_CALL], Event("hangup", call_id="c1"), NOW, wrap_up_s=30)
    assert (wrap_up.state, wrap_up.wrap_up_until) == (S.WRAP_UP, NOW + 30)
    with pytest.raises(AgentStateError, match="has call c1, not c0"):
        transition(wrap_up, Event("wrap_up_done", call_id="c0"), NOW + 30)
    done = transition(wrap_up, Event("wrap_up_done", call_id="c1"), NOW + 30)
    assert (done.state, done.wrap_up_until) == (S.AVAILABLE, 0.0)


def test_the_error_has_a_stable_code() -> None:
    assert AgentStateError.code == "acd.agent_state"


# -- scenarios ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    events: tuple[Event, ...]            # sent one second apart from t=1, from logged_out
    state: AgentState
    fields: dict[str, object]            # the fields of the final status that matter here


def run(events: tuple[Event, ...], max_missed: int = 3) -> AgentStatus:
    status = AgentStatus(OP)
    for second, event in enumerate(events, start=1):
        status = transition(status, event, float(second), max_missed=max_missed)
    return status


LOGIN, LOGOUT, ANSWER, HANGUP = Event("login"), Event("logout"), Event("answer"), Event("hangup")
NO_ANSWER, GONE, DONE = Event("no_answer"), Event("caller_gone"), Event("wrap_up_done")


def offer(call_id: str = "c1") -> Event:
    return Event("offer", call_id=call_id)


def pause(reason: str | None = None) -> Event:
    return Event("pause", reason=reason)


SCENARIOS = [
    Scenario("a call from login to wrap-up with a code",
             (LOGIN, offer(), ANSWER, HANGUP, Event("wrap_up_done", reason="solved")),
             S.AVAILABLE, {"since": 5.0, "idle_since": 5.0, "call_id": None,
                           "wrap_up_code": "solved", "missed_offers": 0}),
    Scenario("a pause asked during the ring is taken after the wrap-up",
             (LOGIN, offer(), pause("lunch"), ANSWER, HANGUP, DONE),
             S.PAUSED, {"pause_reason": "lunch", "pending_pause": None, "since": 6.0,
                        "call_id": None}),
    Scenario("a pause asked during the call is taken after the wrap-up",
             (LOGIN, offer(), ANSWER, pause("training"), HANGUP, DONE),
             S.PAUSED, {"pause_reason": "training", "pending_pause": None, "since": 6.0}),
    Scenario("the call goes on while a pause is pending",
             (LOGIN, offer(), ANSWER, pause("training")),
             S.ON_CALL, {"pending_pause": "training", "pause_reason": None, "call_id": "c1"}),
    Scenario("a pause without a reason is a break",
             (LOGIN, pause()), S.PAUSED, {"pause_reason": "break"}),
    Scenario("the last pause asked for during a call wins",
             (LOGIN, offer(), pause("lunch"), ANSWER, pause("meeting"), HANGUP, DONE),
             S.PAUSED, {"pause_reason": "meeting"}),
    Scenario("a pause during the wrap-up ends it at once, without a code",
             (LOGIN, offer(), ANSWER, HANGUP, pause("lunch")),
             S.PAUSED, {"pause_reason": "lunch", "call_id": None, "wrap_up_code": None,
                        "since": 5.0}),
    Scenario("a pause during the wrap-up replaces the one pending from the call",
             (LOGIN, offer(), ANSWER, pause("lunch"), HANGUP, pause("meeting"),
              Event("unpause"), offer("c2"), ANSWER, HANGUP, DONE),
             S.AVAILABLE, {"pending_pause": None, "pause_reason": None}),
    Scenario("a pause asked during a ring that rings out is taken at once",
             (LOGIN, offer(), pause("lunch"), NO_ANSWER),
             S.PAUSED, {"pause_reason": "lunch", "pending_pause": None, "call_id": None,
                        "since": 4.0, "missed_offers": 1}),
    Scenario("a pause asked during a ring the caller abandons is taken at once",
             (LOGIN, offer(), pause("lunch"), GONE),
             S.PAUSED, {"pause_reason": "lunch", "pending_pause": None, "call_id": None,
                        "idle_since": 1.0}),
    Scenario("two unanswered offers: still available, at the back of the idle queue",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER),
             S.AVAILABLE, {"missed_offers": 2, "idle_since": 5.0}),
    Scenario("three unanswered offers in a row pause with reason no_answer",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER, offer("c3"), NO_ANSWER),
             S.PAUSED, {"pause_reason": "no_answer", "missed_offers": 0, "call_id": None,
                        "since": 7.0}),
    Scenario("the no_answer pause wins over a pause asked during the third ring",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER, offer("c3"), pause("lunch"),
              NO_ANSWER),
             S.PAUSED, {"pause_reason": "no_answer", "pending_pause": None}),
    Scenario("an answer between misses resets the count",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER, offer("c3"), ANSWER, HANGUP,
              DONE, offer("c4"), NO_ANSWER, offer("c5"), NO_ANSWER),
             S.AVAILABLE, {"missed_offers": 2}),
    Scenario("a caller who hangs up during the ring is not a miss",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER, offer("c3"), GONE),
             S.AVAILABLE, {"missed_offers": 2}),
    Scenario("caller_gone keeps the idle time: the operator did not work",
             (LOGIN, offer(), GONE), S.AVAILABLE, {"idle_since": 1.0, "since": 3.0}),
    Scenario("no_answer restarts the idle time",
             (LOGIN, offer(), NO_ANSWER), S.AVAILABLE, {"idle_since": 3.0}),
    Scenario("unpause after a no_answer pause starts afresh",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER, offer("c3"), NO_ANSWER,
              Event("unpause"), offer("c4"), NO_ANSWER),
             S.AVAILABLE, {"missed_offers": 1, "pause_reason": None}),
    Scenario("logout forgets everything but the operator",
             (LOGIN, offer(), NO_ANSWER, offer("c2"), pause("lunch"), LOGOUT),
             S.LOGGED_OUT, {"since": 6.0, "missed_offers": 0, "pending_pause": None,
                            "call_id": None, "idle_since": 0.0}),
    Scenario("login again starts with no missed offers",
             (LOGIN, offer(), NO_ANSWER, LOGOUT, LOGIN),
             S.AVAILABLE, {"missed_offers": 0, "idle_since": 5.0}),
    Scenario("logout during the wrap-up",
             (LOGIN, offer(), ANSWER, HANGUP, LOGOUT), S.LOGGED_OUT, {"call_id": None}),
    Scenario("logout while paused", (LOGIN, pause("lunch"), LOGOUT),
             S.LOGGED_OUT, {"pause_reason": None}),
    Scenario("events that name the call in progress are accepted",
             (LOGIN, offer("c9"), Event("answer", call_id="c9"), Event("hangup", call_id="c9")),
             S.WRAP_UP, {"call_id": "c9"}),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(scenario: Scenario) -> None:
    status = run(scenario.events)
    assert status.state is scenario.state
    assert {name: getattr(status, name) for name in scenario.fields} == scenario.fields
    assert_consistent(status)


def test_max_missed_is_a_setting() -> None:
    two = (LOGIN, offer(), NO_ANSWER, offer("c2"), NO_ANSWER)
    assert run(two, max_missed=2).pause_reason == "no_answer"
    assert run(two, max_missed=5).state is S.AVAILABLE


@dataclass(frozen=True)
class Refusal:
    name: str
    before: tuple[Event, ...]
    event: Event
    message: str


REFUSALS = [
    Refusal("answer for another call than the one offered", (LOGIN, offer("c1")),
            Event("answer", call_id="c2"), "has call c1, not c2"),
    Refusal("no_answer for another call", (LOGIN, offer("c1")),
            Event("no_answer", call_id="c2"), "has call c1, not c2"),
    Refusal("caller_gone for another call", (LOGIN, offer("c1")),
            Event("caller_gone", call_id="c2"), "has call c1, not c2"),
    Refusal("hangup of another call", (LOGIN, offer("c1"), ANSWER),
            Event("hangup", call_id="c2"), "has call c1, not c2"),
    Refusal("an offer without a call", (LOGIN,), Event("offer"), "needs the call"),
    Refusal("an offer with an empty call id", (LOGIN,), Event("offer", call_id=""),
            "needs the call"),
    Refusal("a second offer during a ring", (LOGIN, offer("c1")), offer("c2"),
            "is reserved: cannot offer"),
    Refusal("an offer while paused", (LOGIN, pause("lunch")), offer("c2"),
            "is paused: cannot offer"),
    Refusal("an offer during the wrap-up", (LOGIN, offer(), ANSWER, HANGUP), offer("c2"),
            "is wrap_up: cannot offer"),
    Refusal("logout in the middle of a call", (LOGIN, offer(), ANSWER), LOGOUT,
            "is on_call: cannot logout"),
    Refusal("login twice", (LOGIN,), LOGIN, "is available: cannot login"),
    Refusal("unpause when not paused", (LOGIN,), Event("unpause"),
            "is available: cannot unpause"),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: r.name)
def test_refused(refusal: Refusal) -> None:
    before = run(refusal.before)
    with pytest.raises(AgentStateError, match=refusal.message):
        transition(before, refusal.event, 99.0)
    assert run(refusal.before) == before


# -- random sequences ---------------------------------------------------------------------------

CALL_STATES = {S.RESERVED, S.ON_CALL, S.WRAP_UP}


def assert_consistent(status: AgentStatus, max_missed: int = 3) -> None:
    """What every status must satisfy, whatever happened before."""
    assert (status.call_id is not None) == (status.state in CALL_STATES), status
    assert (status.pause_reason is not None) == (status.state is S.PAUSED), status
    assert status.pending_pause is None or status.state in CALL_STATES, status
    assert status.wrap_up_code is None or status.state in (S.AVAILABLE, S.PAUSED), status
    assert 0 <= status.missed_offers < max_missed, status
    if status.state is S.LOGGED_OUT:
        assert status == AgentStatus(OP, S.LOGGED_OUT, since=status.since)
    if status.state is S.AVAILABLE:
        assert status.idle_since <= status.since, status


events = st.builds(
    Event,
    name=st.sampled_from(EVENT_NAMES + ("transfer",)),
    reason=st.sampled_from([None, "", "lunch", "solved"]),
    call_id=st.sampled_from([None, "", "c1", "c2"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(events, st.sampled_from([0.0, 0.5, 3.0])), max_size=40),
       st.integers(min_value=1, max_value=4))
def test_random_sequences_stay_consistent(steps: list[tuple[Event, float]],
                                          max_missed: int) -> None:
    status, now = AgentStatus(OP), 0.0
    for event, gap in steps:
        now += gap
        before = status
        try:
            status = transition(status, event, now, max_missed=max_missed)
        except AgentStateError:
            assert status is before
            continue
        assert (before.state, event.name) in TRANSITIONS
        assert before.since <= status.since <= now
        if status.state is not TRANSITIONS[before.state, event.name]:
            # the handlers refine the table only towards a pause
            assert status.state is S.PAUSED, (before, event, status)
        assert_consistent(status, max_missed)
