"""The callers of a scenario, drawn in advance of any routing: when each one calls, what they
need, how long they stay in the IVR, how patient they are and how long their call lasts.

Arrivals are Poisson with the scenario's rate for each hour (the gaps are exponential, drawn
afresh at every hour's start: the exponential forgets, so this is exact). Each caller's traits
come from a random stream of their own kind, seeded from the scenario's seed, and in the same
order whatever the routing does: two runs of one scenario and seed meet the same callers
(common random numbers), so a difference between skills routing and FIFO, or between 20 and 21
operators, is the routing's and not the dice's. Whether the operators rung for a caller answer
is drawn with the caller too (for the first two offers; later ones, rare, from a stream of the
run's own).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from .scenario import Scenario

HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class Caller:
    number: int
    call_id: str
    arrives_at: float
    skills: tuple[str, ...]
    language: str
    priority: int
    hazard: bool
    self_served: bool   # done in the IVR (when they get a line)
    ivr_s: float
    patience_s: float   # from joining the queue
    talk_s: float       # for an operator of proficiency 3 (the scenario's factors scale it)
    answer_draws: tuple[float, ...] = ()  # uniform draws: does the n-th operator rung answer?


def callers(scenario: Scenario) -> Iterator[Caller]:
    """The scenario's callers in order of arrival, over ``scenario.hours`` from time 0."""
    seed = scenario.seed
    arrivals = random.Random(f"{seed}/arrivals")
    traits = random.Random(f"{seed}/traits")
    answers = random.Random(f"{seed}/answers")
    skills = [demand.skill for demand in scenario.skill_mix]
    skill_weights = _cumulative([demand.share for demand in scenario.skill_mix])
    talk_means = {demand.skill: (demand.aht_s or scenario.aht_s) - scenario.wrap_up_s
                  for demand in scenario.skill_mix}
    default_talk = scenario.aht_s - scenario.wrap_up_s
    languages = [language for language, _ in scenario.languages]
    language_weights = _cumulative([share for _, share in scenario.languages])
    talk = _talk_time(scenario)
    number = 0
    for hour in range(scenario.hours):
        rate = scenario.rate_at(hour) / HOUR_S
        if rate <= 0:
            continue
        start, end = hour * HOUR_S, (hour + 1) * HOUR_S
        when = start + arrivals.expovariate(rate)
        while when < end:
            number += 1
            # always the same draws, in the same order, for every caller
            hazard = traits.random() < scenario.hazard_share
            skill = traits.choices(skills, cum_weights=skill_weights)[0]
            language = traits.choices(languages, cum_weights=language_weights)[0]
            self_served = traits.random() < scenario.self_service
            ivr_s = traits.expovariate(1 / scenario.ivr_time_s) if scenario.ivr_time_s else 0.0
            patience_s = traits.expovariate(1 / scenario.patience_s) \
                if math.isfinite(scenario.patience_s) else math.inf
            if hazard:
                skill = scenario.hazard_skill
            needs = "general" if scenario.general_only else skill
            talk_s = talk(traits, talk_means.get(skill, default_talk))
            draws = (answers.random(), answers.random()) if scenario.no_answer else ()
            yield Caller(number, f"c{number:08d}", when, (needs,), language,
                         scenario.hazard_priority if hazard else 0, hazard,
                         self_served and not hazard, ivr_s, patience_s, talk_s, draws)
            when += arrivals.expovariate(rate)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _talk_time(scenario: Scenario):  # type: ignore[no-untyped-def]
    """A sampler of talk times with a given mean: exponential, or lognormal with the
    scenario's coefficient of variation (sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2)."""
    if scenario.service == "exp":
        return lambda rng, mean: rng.expovariate(1 / mean)
    sigma2 = math.log(1 + scenario.service_cv ** 2)
    sigma = math.sqrt(sigma2)
    return lambda rng, mean: rng.lognormvariate(math.log(mean) - sigma2 / 2, sigma)
