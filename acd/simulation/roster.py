"""Who works: the operators of a simulation, in the order they are called in.

With ``operators: M`` the team is M operators who take any call (skill ``general`` at
proficiency 3, every language of the scenario). With a roster (an operators file), the team is
the roster put in a *representative order*: each first n operators have, as nearly as the
roster allows, its shares of each skill and language (greedy: the next operator is the one that
keeps the prefix's counts closest to n times the roster's shares). When an hour needs n
operators, the first n work; when more are needed than the roster has, it is repeated, the
copies named on from the last id (op51, op52, ... copy op01's profile, ...). So staffing by
numbers keeps the roster's skill mix, and a plan's count per skill is that of the first n.
"""

from __future__ import annotations

from ..agents import Agent


def general_team(count: int, languages: tuple[str, ...]) -> list[Agent]:
    return [Agent(_name(number), f"operator {number}", {"general": 3}, languages)
            for number in range(1, count + 1)]


def representative_order(roster: list[Agent]) -> list[Agent]:
    """The roster in an order whose every prefix has about the roster's shares of each skill
    and language (ties: the roster's own order)."""
    if not roster:
        return []
    traits = [_traits(agent) for agent in roster]
    every = sorted({trait for found in traits for trait in found})
    shares = {trait: sum(trait in found for found in traits) / len(roster) for trait in every}
    have = dict.fromkeys(every, 0)
    left = list(range(len(roster)))
    order: list[Agent] = []
    while left:
        size = len(order) + 1
        best = min(left, key=lambda index: (_cost(traits[index], have, shares, size), index))
        left.remove(best)
        for trait in traits[best]:
            have[trait] += 1
        order.append(roster[best])
    return order


def extended(ordered: list[Agent], size: int) -> list[Agent]:
    """The first ``size`` of the ordered roster, repeated (with new ids) past its end."""
    out = list(ordered[:size])
    if not ordered:
        return out
    last = max(_number(agent.id) for agent in ordered)
    for index in range(len(ordered), size):
        model = ordered[index % len(ordered)]
        last += 1
        out.append(Agent(_name(last), f"{model.name} ({model.id})", dict(model.skills),
                         model.languages))
    return out


def skill_counts(members: list[Agent]) -> dict[str, int]:
    """Operators with each skill (any proficiency), most common first."""
    counts: dict[str, int] = {}
    for agent in members:
        for skill in agent.skills:
            counts[skill] = counts.get(skill, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _cost(traits: set[str], have: dict[str, int], shares: dict[str, float], size: int
          ) -> float:
    """How far the first ``size`` operators would be from the roster's shares with an
    operator of these traits next."""
    return sum((count + (trait in traits) - size * shares[trait]) ** 2
               for trait, count in have.items())


def _traits(agent: Agent) -> set[str]:
    return {f"skill:{skill}" for skill in agent.skills} | \
        {f"language:{language}" for language in agent.languages}


def _name(number: int) -> str:
    return f"op{number:02d}"


def _number(agent_id: str) -> int:
    digits = "".join(c for c in agent_id if c.isdigit())
    return int(digits) if digits else 0
