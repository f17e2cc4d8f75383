"""The simulated contact centre: the hotline's ACD on a simulated clock.

Callers (:mod:`acd.simulation.demand`) take one of the IVR's lines (all busy: straight to the
queue, as the dialplan sends the 41st caller, with no skill, language or priority chosen: the
defaults ``general``, ``vi``, 0), finish there (self-service) or join the queue. From then on
the hotline's own code decides:

* whenever a caller joins, an operator becomes free, or a waiting caller's requirement relaxes
  (at the exact moment the wait reaches a relaxation step), :func:`acd.decision.decide` picks who
  takes whom, from the callers waiting and the operators available;
* every operator's state moves by :func:`acd.states.transition`: login, offer (their phone
  rings), answer, hang-up, wrap-up, no answer (the caller goes back in their place, offered to
  someone else first; after ``max_missed`` in a row the operator is paused and comes back a
  minute later), caller gone (the caller hung up while the phone rang), logout;
* the overflow rules of the operators file (:mod:`acd.queues`) send a caller away with the
  announcement when nobody logged in could ever take them, when their queue is full, or when
  they have waited ``max_wait``.

A waiting caller hangs up when their patience runs out (also while an operator's phone rings).
Staffing changes on the hour: operators who are to leave finish their call and wrap-up first.
Arrivals stop after the scenario's hours; the callers still in the centre are then served (or
give up) with the last hour's staff, and count in the last hour.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from ..agents import Agent
from ..decision import Assignment, FreeAgent, WaitingCall, decide, requirement, score
from ..queues import Routing as QueueRules
from ..states import AgentState, AgentStatus, Event, transition
from .demand import HOUR_S, Caller, callers
from .events import EventQueue
from .routing import Router
from .scenario import Scenario
from .statistics import Measures, Tally

AUTO_PAUSE_S = 60.0      # an operator paused for missed offers is back this much later
RECHECK_BUSY_S = 2.0     # the live ACD's tick: how soon a ringing caller's max wait is looked at
FULL_IVR_SKILLS = ("general",)  # what the dialplan hands the ACD for a caller who had no line
FULL_IVR_LANGUAGE = "vi"

S = AgentState


def _working(state: AgentState) -> int:
    """On a call or in its wrap-up: 1, else 0."""
    return 1 if state is S.ON_CALL or state is S.WRAP_UP else 0


def _staffed(state: AgentState) -> int:
    """Logged in and not paused: 1, else 0."""
    return 0 if state is S.LOGGED_OUT or state is S.PAUSED else 1


def _busy(state: AgentState) -> bool:
    """Logged in, not free, not paused (the decision's busy operators)."""
    return state is S.RESERVED or state is S.ON_CALL or state is S.WRAP_UP

WAITING, RINGING, CONNECTED, GONE = "waiting", "ringing", "connected", "gone"


@dataclass(slots=True, eq=False)
class InQueue:
    """A caller in the queue, from joining until answered or gone."""
    caller: Caller
    skills: tuple[str, ...]
    language: str
    priority: int
    joined_at: float
    tallies: tuple[Tally, ...]
    state: str = WAITING
    agent: str = ""
    offer: int = 0                       # the offer now ringing; events of earlier ones are stale
    declined: frozenset[str] = frozenset()


class Centre:
    def __init__(self, scenario: Scenario, members: list[Agent], router: Router,
                 queues: QueueRules, arrivals: Iterable[Caller] | None = None) -> None:
        """``arrivals``: the callers in order of arrival (default: the scenario's, drawn by
        :func:`acd.simulation.demand.callers`)."""
        self.scenario = scenario
        self.router = router
        self.policy = router.policy
        self.queues = queues
        self.thresholds = sorted({step.after_s for step in self.policy.steps})
        self.events = EventQueue()
        self.measures = Measures(scenario.hours, scenario.threshold_s, scenario.short_abandon_s,
                                 scenario.warm_up_hours, scenario.start_hour)
        self.members = members
        self.profiles = {agent.id: agent for agent in members}
        self.status = {agent.id: AgentStatus(agent.id) for agent in members}
        self.free: dict[str, FreeAgent] = {}
        self.busy: set[str] = set()
        self._busy_view: frozenset[str] | None = frozenset()
        self.logged_in: set[str] = set()
        self.on_shift = 0                 # members[:on_shift] are meant to be working
        self.leaving: set[str] = set()    # to log out once their call and wrap-up are over
        self.waiting: dict[str, WaitingCall] = {}   # what the decision sees
        self.queued: dict[str, InQueue] = {}        # waiting or ringing
        self.queued_by_skill: dict[str, int] = {}
        self.ivr_busy = 0
        self.working = 0
        self.staffed = 0
        self.accounted_until = 0.0
        self._anyone: dict[tuple[tuple[str, ...], str], bool] = {}
        self._factors: dict[tuple[str, tuple[str, ...]], float] = {}
        self._ringing = random.Random(f"{scenario.seed}/ringing")
        self._callers = iter(arrivals if arrivals is not None else callers(scenario))
        self.decisions = 0

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Measures:
        """The whole run: the scenario's hours, then until the last caller is done."""
        self.start()
        self.events.run()
        return self.finish()

    def start(self) -> None:
        """The shifts and the first caller on the clock (then ``events.run(until)`` steps)."""
        for hour in range(self.scenario.hours):
            self.events.at(hour * HOUR_S, self.staff, hour)
        first = next(self._callers, None)
        if first is not None:
            self.events.at(first.arrives_at, self.arrive, first)

    def finish(self) -> Measures:
        self._account(max(self.events.now, self.scenario.hours * HOUR_S))
        self.measures.still_waiting = len(self.queued)  # nobody left who could take them
        return self.measures

    # -- operators -------------------------------------------------------------------------

    def transition(self, status: AgentStatus, event: Event) -> AgentStatus:
        """The operator's next state (:func:`acd.states.transition`, with the scenario's
        settings)."""
        return transition(status, event, self.events.now, max_missed=self.scenario.max_missed,
                          wrap_up_s=self.scenario.wrap_up_s)

    def _apply(self, agent_id: str, event: Event) -> AgentStatus:
        old = self.status[agent_id]
        new = self.transition(old, event)
        self.status[agent_id] = new
        before, after = old.state, new.state
        if before is not after:
            # identity tests, not set membership: an enum member's hash is a Python call
            working = _working(after) - _working(before)
            staffed = _staffed(after) - _staffed(before)
            if working or staffed:
                self._account(self.events.now)
                self.working += working
                self.staffed += staffed
            if after is S.AVAILABLE:
                self.free[agent_id] = self.router.free(self.profiles[agent_id], new.idle_since)
            elif before is S.AVAILABLE:
                del self.free[agent_id]
            if _busy(after) != _busy(before):
                if _busy(after):
                    self.busy.add(agent_id)
                else:
                    self.busy.discard(agent_id)
                self._busy_view = None
        return new

    def _account(self, now: float) -> None:
        if now > self.accounted_until:
            self.measures.operator_time(self.accounted_until, now, self.working, self.staffed)
            self.accounted_until = now

    def staff(self, hour: int) -> None:
        """The hour's staffing: the first n of the team work."""
        wanted = min(self.scenario.staff_at(hour), len(self.members))
        changed = False
        while self.on_shift < wanted:
            agent_id = self.members[self.on_shift].id
            self.on_shift += 1
            self.leaving.discard(agent_id)
            if self.status[agent_id].state is S.LOGGED_OUT:
                self._apply(agent_id, Event("login"))
                self.logged_in.add(agent_id)
                changed = True
        while self.on_shift > wanted:
            self.on_shift -= 1
            agent_id = self.members[self.on_shift].id
            if self.status[agent_id].state in (S.AVAILABLE, S.PAUSED):
                self._log_out(agent_id)
                changed = True
            else:
                self.leaving.add(agent_id)
        if changed:
            self._anyone.clear()
            self.route()

    def _log_out(self, agent_id: str) -> None:
        self._apply(agent_id, Event("logout"))
        self.logged_in.discard(agent_id)
        self.leaving.discard(agent_id)
        self._anyone.clear()

    def unpause(self, agent_id: str) -> None:
        if self.status[agent_id].state is not S.PAUSED:
            return
        if agent_id in self.leaving:
            self._log_out(agent_id)
            return
        self._apply(agent_id, Event("unpause"))
        self.route()

    # -- callers ---------------------------------------------------------------------------

    def arrive(self, caller: Caller) -> None:
        following = next(self._callers, None)
        if following is not None:
            self.events.at(following.arrives_at, self.arrive, following)
        hour = self.measures.hour_of(caller.arrives_at)
        self.measures.arrived(hour)
        if self.ivr_busy < self.scenario.ivr_lines:
            self.ivr_busy += 1
            if caller.ivr_s > 0:
                self.events.at(caller.arrives_at + caller.ivr_s, self.leave_ivr, caller)
            else:
                self.leave_ivr(caller)
        else:
            self.measures.ivr_full(hour)
            self.join(caller, FULL_IVR_SKILLS, FULL_IVR_LANGUAGE, 0)

    def leave_ivr(self, caller: Caller) -> None:
        self.ivr_busy -= 1
        if caller.self_served:
            self.measures.self_served(self.measures.hour_of(caller.arrives_at))
            return
        self.join(caller, caller.skills, caller.language, caller.priority)

    def join(self, caller: Caller, skills: tuple[str, ...], language: str,
             priority: int) -> None:
        now = self.events.now
        measures = self.measures
        entry = InQueue(caller, skills, language, priority, now,
                        measures.tallies(measures.hour_of(now), skills[0], caller.hazard))
        measures.offered(entry.tallies)
        skill = skills[0]
        rules = self.queues.rules(skill)
        if not self._anyone_for(entry):
            measures.overflowed(entry.tallies, "no_operator")
            entry.state = GONE
            return
        self.queued[caller.call_id] = entry
        self.queued_by_skill[skill] = self.queued_by_skill.get(skill, 0) + 1
        length = self.queued_by_skill[skill] if skill in self.queues.queues else len(self.queued)
        limit = rules.max_queue if rules.max_queue is not None else self.scenario.max_queue
        if length > limit:
            self._overflow(entry, "queue_full")
            return
        self.waiting[caller.call_id] = self.router.waiting(
            caller.call_id, skills, language, priority, now, frozenset())
        patience = caller.patience_s
        max_wait = rules.max_wait_s if rules.max_wait_s is not None else math.inf
        if max_wait < patience:
            self.events.at(now + max_wait, self.wait_too_long, entry)
        elif patience < math.inf:
            self.events.at(now + patience, self.abandon, entry)
        if self.thresholds:
            self.events.at(_after(now, self.thresholds[0]), self.recheck, (entry, 0))
        self.route()

    def _anyone_for(self, entry: InQueue) -> bool:
        """Is anyone logged in who could take this caller once the requirement has relaxed
        as far as the policy lets it (the live ACD's no-operator rule)?"""
        key = (entry.skills, entry.language)
        known = self._anyone.get(key)
        if known is None:
            call = self.router.waiting("", entry.skills, entry.language, 0, 0.0, frozenset())
            minimum, any_skill, _ = requirement(call, self.policy, 1e18)
            known = any(score(call, self.router.free(self.profiles[agent_id], 0.0), minimum,
                              any_skill) is not None for agent_id in self.logged_in)
            self._anyone[key] = known
        return known

    def _leave_queue(self, entry: InQueue, state: str) -> None:
        call_id = entry.caller.call_id
        entry.state = state
        self.waiting.pop(call_id, None)
        del self.queued[call_id]
        self.queued_by_skill[entry.skills[0]] -= 1

    def _overflow(self, entry: InQueue, reason: str) -> None:
        self._leave_queue(entry, GONE)
        self.measures.overflowed(entry.tallies, reason)

    def wait_too_long(self, entry: InQueue) -> None:
        if entry.state == WAITING:
            self._overflow(entry, "max_wait")
        elif entry.state == RINGING:  # only a waiting caller is sent away: look again soon
            self.events.at(self.events.now + RECHECK_BUSY_S, self.wait_too_long, entry)

    def abandon(self, entry: InQueue) -> None:
        state = entry.state
        if state not in (WAITING, RINGING):
            return
        self._leave_queue(entry, GONE)
        self.measures.abandoned(entry.tallies, self.events.now - entry.joined_at)
        if state == RINGING:  # the caller left while the operator's phone rang
            self._apply(entry.agent, Event("caller_gone", call_id=entry.caller.call_id))
            self.route()

    def recheck(self, subject: tuple[InQueue, int]) -> None:
        """The caller's wait reached a relaxation step: route if anyone is free."""
        entry, step = subject
        if entry.state not in (WAITING, RINGING):
            return
        if step + 1 < len(self.thresholds):
            self.events.at(_after(entry.joined_at, self.thresholds[step + 1]), self.recheck,
                           (entry, step + 1))
        if entry.state == WAITING:
            self.route()

    # -- routing and ringing ---------------------------------------------------------------

    def route(self) -> None:
        if not self.waiting or not self.free:
            return
        busy = self._busy_view
        if busy is None:
            busy = self._busy_view = frozenset(self.busy)
        self.decisions += 1
        for assignment in self.decide(list(self.waiting.values()), list(self.free.values()),
                                      busy):
            self.offer(self.queued[assignment.call_id], assignment.agent_id)

    def decide(self, calls: list[WaitingCall], free: list[FreeAgent], busy: frozenset[str]
               ) -> list[Assignment]:
        """Who takes whom now (:func:`acd.decision.decide`, with the routing's policy)."""
        return decide(calls, free, self.policy, self.events.now, busy)

    def offer(self, entry: InQueue, agent_id: str) -> None:
        call_id = entry.caller.call_id
        del self.waiting[call_id]
        self._apply(agent_id, Event("offer", call_id=call_id))
        entry.state = RINGING
        entry.agent = agent_id
        entry.offer += 1
        self.measures.offers += 1
        scenario = self.scenario
        draws = entry.caller.answer_draws
        draw = draws[entry.offer - 1] if entry.offer <= len(draws) else self._ringing.random()
        if draw < scenario.no_answer:
            self.events.at(self.events.now + scenario.ring_timeout_s, self.ring_out,
                           (entry, entry.offer))
        elif scenario.ring_time_s > 0:
            self.events.at(self.events.now + scenario.ring_time_s, self.answer,
                           (entry, entry.offer))
        else:
            self.answer((entry, entry.offer))

    def answer(self, subject: tuple[InQueue, int]) -> None:
        entry, offer = subject
        if entry.state != RINGING or entry.offer != offer:
            return  # the caller hung up while it rang
        now = self.events.now
        caller = entry.caller
        self._apply(entry.agent, Event("answer", call_id=caller.call_id))
        self._leave_queue(entry, CONNECTED)
        self.measures.answered(entry.tallies, now - entry.joined_at)
        talk = caller.talk_s
        if self.scenario.handle_factor:
            talk *= self._factor(entry.agent, caller.skills)
        self.events.at(now + talk, self.hang_up, entry)

    def _factor(self, agent_id: str, skills: tuple[str, ...]) -> float:
        key = (agent_id, skills)
        factor = self._factors.get(key)
        if factor is None:
            profile = self.profiles[agent_id].skills
            level = min(profile.get(skill, 0) for skill in skills)
            factor = self._factors[key] = self.scenario.factor(level)
        return factor

    def ring_out(self, subject: tuple[InQueue, int]) -> None:
        """The operator let the phone ring out: a missed offer; the caller waits on, offered
        to someone else first."""
        entry, offer = subject
        if entry.state != RINGING or entry.offer != offer:
            return
        agent_id = entry.agent
        call_id = entry.caller.call_id
        status = self._apply(agent_id, Event("no_answer", call_id=call_id))
        self.measures.offers_not_answered += 1
        entry.state = WAITING
        entry.agent = ""
        entry.declined = entry.declined | {agent_id}
        self.waiting[call_id] = self.router.waiting(call_id, entry.skills, entry.language,
                                                    entry.priority, entry.joined_at,
                                                    entry.declined)
        if status.state is S.PAUSED:
            self.events.at(self.events.now + AUTO_PAUSE_S, self.unpause, agent_id)
        self.route()

    def hang_up(self, entry: InQueue) -> None:
        agent_id = entry.agent
        call_id = entry.caller.call_id
        status = self._apply(agent_id, Event("hangup", call_id=call_id))
        if status.wrap_up_until > self.events.now:
            self.events.at(status.wrap_up_until, self.end_wrap_up, (agent_id, call_id))
        else:
            self.end_wrap_up((agent_id, call_id))

    def end_wrap_up(self, subject: tuple[str, str]) -> None:
        agent_id, call_id = subject
        status = self.status[agent_id]
        if status.state is not S.WRAP_UP or status.call_id != call_id:
            return
        self._apply(agent_id, Event("wrap_up_done", call_id=call_id))
        if agent_id in self.leaving:
            self._log_out(agent_id)
        else:
            self.route()


def _after(start: float, seconds: float) -> float:
    """The first moment at which ``moment - start >= seconds`` holds in floating point (the
    decision compares the wait with its thresholds this way)."""
    moment = start + seconds
    while moment - start < seconds:
        moment = math.nextafter(moment, math.inf)
    return moment
