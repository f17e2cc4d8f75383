"""The routing decision, pure: waiting calls + free operators + policy -> who takes which call.

* Calls are served highest priority first, and within a priority longest waiting first.
* A call needs operators with every required skill at a minimum proficiency and its language.
  The requirement relaxes in configured steps as the wait grows (e.g. after 30 s proficiency 2
  will do; after 90 s any operator who speaks the language).
* Among eligible operators the best skill match wins (summed proficiency on the required
  skills), then the longest idle.
* Sticky routing: a caller the same operator served last waits up to ``sticky_wait_s`` for that
  operator while the operator is busy (in ``busy_agents``, or just chosen for an earlier caller
  in this decision), and gets them at once if they are free.
* An operator who let this call ring out (or refused it: busy) is offered it again only when
  no other eligible operator is free; a sticky operator who declined is no longer waited for.
* An operator is chosen for at most one call per decision.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter


@dataclass(frozen=True)
class WaitingCall:
    call_id: str
    skills: tuple[str, ...]
    language: str
    priority: int
    joined_at: float
    sticky_agent: str | None = None
    declined: frozenset[str] = frozenset()  # operators who let this call ring out or refused it


@dataclass(frozen=True)
class FreeAgent:
    agent_id: str
    skills: dict[str, int]
    languages: tuple[str, ...]
    idle_since: float


@dataclass(frozen=True)
class Relaxation:
    after_s: float
    min_proficiency: int | None = None  # None: keep the current minimum
    any_skill: bool = False              # any operator who speaks the language


@dataclass(frozen=True)
class Policy:
    min_proficiency: int = 3
    steps: tuple[Relaxation, ...] = (Relaxation(30, min_proficiency=2),
                                     Relaxation(60, min_proficiency=1),
                                     Relaxation(90, any_skill=True))
    sticky_wait_s: float = 20.0


@dataclass(frozen=True)
class Assignment:
    call_id: str
    agent_id: str
    reason: str  # "sticky", "skills", "relaxed:<step>", "any"


def requirement(call: WaitingCall, policy: Policy, now: float) -> tuple[int, bool, str]:
    """(minimum proficiency, any skill will do, why) for this call at this moment."""
    return _requirement_after(policy, now - call.joined_at)


def _requirement_after(policy: Policy, waited: float) -> tuple[int, bool, str]:
    minimum, any_skill, why = policy.min_proficiency, False, "skills"
    for index, step in enumerate(policy.steps):
        if waited >= step.after_s:
            if step.min_proficiency is not None:
                minimum = step.min_proficiency
            any_skill = any_skill or step.any_skill
            why = "any" if any_skill else f"relaxed:{index + 1}"
    return minimum, any_skill, why


def score(call: WaitingCall, agent: FreeAgent, minimum: int, any_skill: bool) -> int | None:
    """How well ``agent`` fits ``call``; None if not eligible."""
    if call.language not in agent.languages:
        return None
    levels = [agent.skills.get(skill, 0) for skill in call.skills]
    if any_skill:
        return sum(levels)
    if any(level < minimum for level in levels):
        return None
    return sum(levels)


_CALL_ID = attrgetter("call_id")
_JOINED_AT = attrgetter("joined_at")
_PRIORITY = attrgetter("priority")


def decide(calls: list[WaitingCall], agents: list[FreeAgent], policy: Policy, now: float,
           busy_agents: frozenset[str] = frozenset()) -> list[Assignment]:
    """Assign free operators to waiting calls. ``busy_agents`` are logged in but not free (for
    sticky waits); an operator assigned earlier in this decision counts as busy too.

    The result is that of scanning every free operator with :func:`score` for each call in
    order (the tests keep that plain version as a reference), computed with bit masks: bit i
    stands for the i-th free operator by (idle_since, agent_id), so among equally good
    operators the lowest bit is the one to choose. Callers who need the same thing (skills,
    language, relaxation stage) share one eligibility mask, so a caller nobody free can serve
    costs a dictionary lookup."""
    if not calls or not agents:
        return []
    free = {agent.agent_id: agent for agent in agents}
    pool = _Pool(sorted(free.values(), key=lambda a: (a.idle_since, a.agent_id)))
    bits = {agent.agent_id: 1 << index for index, agent in enumerate(pool.ranked)}
    free_mask = pool.everyone
    thresholds = sorted({step.after_s for step in policy.steps})
    # stage k: the wait has reached exactly the k smallest thresholds
    stages = [(policy.min_proficiency, False, "skills")] + [
        _requirement_after(policy, after_s) for after_s in thresholds]
    sticky_wait_s = policy.sticky_wait_s
    eligible_by_need: dict[tuple[tuple[str, ...], str, int], int] = {}
    # Highest priority first, then longest waiting, then call id. The calls are sorted by
    # priority (cheap: few distinct integers) and each priority by arrival only when the loop
    # gets there: a decision that ends in the top priority never sorts the rest of the queue.
    # A caller skipped (nobody free for them, or waiting for their sticky operator) changes
    # nothing, so callers tied on arrival are put in call id order only when one of them is
    # about to get an operator (ties are rare; sorting the whole queue by call id as well
    # would double the cost of the sort).
    by_priority = sorted(calls, key=_PRIORITY, reverse=True)
    assignments: list[Assignment] = []
    need_mask = eligible_by_need.get
    stage_of = bisect_right
    for _, same_priority in groupby(by_priority, key=_PRIORITY):
        ordered = sorted(same_priority, key=_JOINED_AT)
        last = len(ordered) - 1
        ties_ordered_until = 0
        for position, call in enumerate(ordered):
            waited = now - call.joined_at
            sticky = call.sticky_agent
            if sticky is not None and waited < sticky_wait_s and sticky not in call.declined:
                bit = bits.get(sticky, 0)
                if bit and free_mask & bit and call.language in free[sticky].languages:
                    agent_id, reason = sticky, "sticky"
                elif sticky in busy_agents or (bit and not free_mask & bit):
                    continue  # wait a little for the operator who knows this caller
                else:
                    bit = 0
            else:
                bit = 0
            if not bit:
                stage = stage_of(thresholds, waited)
                need = (call.skills, call.language, stage)
                eligible = need_mask(need)
                if eligible is None:
                    minimum, any_skill, _ = stages[stage]
                    eligible = pool.eligible(call.skills, call.language, minimum, any_skill)
                    eligible_by_need[need] = eligible
                candidates = eligible & free_mask
                if not candidates:
                    continue
                if call.declined:  # someone else first, if anyone
                    others = candidates
                    for declined in call.declined:
                        others &= ~bits.get(declined, 0)
                    candidates = others or candidates
                index = pool.best(call.skills, candidates)
                bit, agent_id, reason = 1 << index, pool.ranked[index].agent_id, stages[stage][2]
            if ties_ordered_until <= position < last and \
                    ordered[position + 1].joined_at == call.joined_at:
                # this caller again, then the whole tie in call id order, from the next position
                end = _tie_end(ordered, position)
                ordered[position + 1:end] = sorted(ordered[position:end], key=_CALL_ID)
                last += 1
                ties_ordered_until = end + 1
                continue
            assignments.append(Assignment(call.call_id, agent_id, reason))
            free_mask &= ~bit
            if not free_mask:
                return assignments
    return assignments


def _tie_end(ordered: list[WaitingCall], start: int) -> int:
    """The position after the callers who arrived with ``ordered[start]`` (``ordered`` holds
    the callers of one priority, by arrival)."""
    joined_at = ordered[start].joined_at
    end = start + 1
    while end < len(ordered) and ordered[end].joined_at == joined_at:
        end += 1
    return end


# A decision reads a skill's levels from every free operator for the first few skills its
# callers need, and builds the index of every operator's skills (one pass over what each
# operator has) once more are needed. One caller joining with operators free (the commonest
# decision) needs one skill; a shift starting with a long queue needs them all.
# bench/acd_simulation.py and bench/acd_decision.py measure the two.
_READ_SKILLS = 3


class _Pool:
    """The free operators of one decision as bit masks, made the first time a caller needs
    them (a language's speakers, a skill's levels) and looked up per call."""

    def __init__(self, ranked: list[FreeAgent]) -> None:
        self.ranked = ranked
        self.everyone = (1 << len(ranked)) - 1
        self._speakers: dict[str, int] = {}
        self._explicit: dict[str, dict[int, int]] | None = None
        self._levels: dict[str, list[tuple[int, int]]] = {}
        self._at_least: dict[tuple[str, int], int] = {}

    def speakers(self, language: str) -> int:
        mask = self._speakers.get(language)
        if mask is None:
            mask = 0
            for index, agent in enumerate(self.ranked):
                if language in agent.languages:
                    mask |= 1 << index
            self._speakers[language] = mask
        return mask

    def levels(self, skill: str) -> list[tuple[int, int]]:
        """(level, operators at that level) for ``skill``, highest first; 0 for those without."""
        levels = self._levels.get(skill)
        if levels is None:
            by_level: dict[int, int] = {}
            if self._explicit is None and len(self._levels) < _READ_SKILLS:
                for index, agent in enumerate(self.ranked):
                    level = agent.skills.get(skill, 0)
                    by_level[level] = by_level.get(level, 0) | 1 << index
            else:
                by_level.update(self._index().get(skill, {}))
                without = self.everyone
                for mask in by_level.values():
                    without &= ~mask
                if without:
                    by_level[0] = by_level.get(0, 0) | without
            levels = self._levels[skill] = sorted(by_level.items(), reverse=True)
        return levels

    def _index(self) -> dict[str, dict[int, int]]:
        """skill -> level -> operators, from every operator's skills."""
        if self._explicit is None:
            self._explicit = {}
            for index, agent in enumerate(self.ranked):
                bit = 1 << index
                for skill, level in agent.skills.items():
                    by_level = self._explicit.setdefault(skill, {})
                    by_level[level] = by_level.get(level, 0) | bit
        return self._explicit

    def at_least(self, skill: str, minimum: int) -> int:
        mask = self._at_least.get((skill, minimum))
        if mask is None:
            mask = 0
            for level, operators in self.levels(skill):
                if level >= minimum:
                    mask |= operators
            self._at_least[skill, minimum] = mask
        return mask

    def eligible(self, skills: tuple[str, ...], language: str, minimum: int,
                 any_skill: bool) -> int:
        """The operators :func:`score` accepts for these needs."""
        mask = self.speakers(language)
        if not any_skill:
            for skill in skills:
                mask &= self.at_least(skill, minimum)
        return mask

    def best(self, skills: tuple[str, ...], candidates: int) -> int:
        """The index of the best match among ``candidates`` (a non-empty mask): the highest
        summed proficiency, then the lowest bit (longest idle, then smallest id)."""
        if len(skills) == 1:
            for _, operators in self.levels(skills[0]):
                found = operators & candidates
                if found:
                    return (found & -found).bit_length() - 1
        # group the candidates by summed proficiency, one skill at a time
        by_fit = {0: candidates}
        for skill in skills:
            summed: dict[int, int] = {}
            for fit, operators in by_fit.items():
                for level, at_level in self.levels(skill):
                    both = operators & at_level
                    if both:
                        summed[fit + level] = summed.get(fit + level, 0) | both
            by_fit = summed
        best = by_fit[max(by_fit)]
        return (best & -best).bit_length() - 1
