"""Staffing plans: the fewest operators each hour that meet the targets, found on the simulator
with Erlang A as the first guess; and what happens if some of them are absent.

For each hour of the day in the run, the hour's load is simulated in a steady state (the
centre run for ``WARM_UP_HOURS`` + ``WINDOW_HOURS`` at that hour's rate, the warm-up left out,
the same callers, the scenario's seed, for every number of operators: common random numbers).
The search starts from Erlang A's answer for the calls that reach the operators (one skill,
FIFO, the mix's mean handle time) and moves one operator at a time (down while the targets
are still met; up, doubling the step, then halving, while they are not). The team for n
operators is the first n of the roster's representative order, so the plan's count per skill
is the roster's shares of n. Then the run is simulated with the plan as a check, a day's
scenario for a week of such days (the same hours of the day pooled: one hour of one day holds
few calls, and its figures wander), and an hour of the day that misses a target there gets one
more operator, until none misses (three rounds at most).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .erlang import fewest_operators
from .roster import skill_counts
from .run import Setting, simulate
from .scenario import Scenario

WARM_UP_HOURS = 1
WINDOW_HOURS = 6
CHECK_DAYS = 7     # a day's plan is checked on a week of such days
CHECK_ROUNDS = 3   # hours of the day off target in the check get one more operator, this often
MAX_OPERATORS = 2000


class PlanError(Exception):
    code = "acd.plan_impossible"


@dataclass(frozen=True)
class Targets:
    service_level: float = 0.8
    threshold_s: float = 20.0
    max_abandon: float | None = None     # abandon rate, every abandon counted
    hazard_p95_s: float | None = None    # p95 wait of the answered hazard callers

    def missed(self, outcome: dict[str, Any]) -> list[str]:
        """The targets this outcome misses (none: it meets them). Service level and abandon
        rate as the wallboard shows them (short abandons left out), the centre's own
        measures: with exponential patience some callers always hang up within seconds."""
        missed = []
        level = outcome.get("service_level_wallboard")
        if level is not None and level < self.service_level:
            missed.append("service_level")
        abandoned = outcome.get("abandon_rate_wallboard")
        if self.max_abandon is not None and abandoned is not None and \
                abandoned > self.max_abandon:
            missed.append("abandon_rate")
        hazard = outcome.get("hazard_p95_wait_s")
        if self.hazard_p95_s is not None and hazard is not None and hazard > self.hazard_p95_s:
            missed.append("hazard_p95")
        return missed

    def describe(self) -> str:
        parts = [f"{self.service_level:.0%} answered within {self.threshold_s:g} s"]
        if self.max_abandon is not None:
            parts.append(f"abandon rate at most {self.max_abandon:.1%}")
        if self.hazard_p95_s is not None:
            parts.append(f"hazard p95 wait at most {self.hazard_p95_s:g} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class HourPlan:
    hour_of_day: int
    calls_per_hour: float
    erlang_a: int                  # the first guess
    steady_state: int              # the fewest on target in the hour's steady state
    operators: int                 # the plan: after the check's additions
    skills: dict[str, int]         # operators with each skill among them
    outcome: dict[str, Any]        # the check's figures for this hour of the day
    evaluations: int               # simulated steady states it took


@dataclass(frozen=True)
class Plan:
    targets: Targets
    scenario: Scenario             # as checked: the plan's staffing, the targets' threshold
    hours: list[HourPlan]
    check: dict[str, Any]          # the run with the plan (a week, for a day's scenario)

    @property
    def check_days(self) -> float:
        return len(self.check["hours"]) / 24

    @property
    def staffing(self) -> tuple[int, ...]:
        assert self.scenario.staffing is not None
        return self.scenario.staffing

    def check_rows(self) -> list[dict[str, Any]]:
        """The check per hour of the day (over all its days), or per hour of a short run."""
        if "hours_of_day" in self.check:
            planned = set(hours_of_day(self.scenario))
            return [row for row in self.check["hours_of_day"] if row["hour_of_day"] in planned]
        return [{**row, "hour_of_day": (self.scenario.start_hour + row["hour"]) % 24}
                for row in self.check["hours"]]

    def missed_hours(self) -> list[tuple[int, list[str]]]:
        """Hours of the day whose check misses a target, and which."""
        return [(row["hour_of_day"], missed) for row in self.check_rows()
                if (missed := self.targets.missed(row))]


def hours_of_day(scenario: Scenario) -> list[int]:
    """The hours of the day the run covers, in run order."""
    return [(scenario.start_hour + hour) % 24 for hour in range(min(scenario.hours, 24))]


def erlang_guess(scenario: Scenario, calls_per_hour: float, targets: Targets) -> int:
    """Erlang A's operators for the calls that reach them (one skill, FIFO)."""
    hazard, self_service = scenario.hazard_share, scenario.self_service
    to_operators = calls_per_hour * (hazard + (1 - hazard) * (1 - self_service)) / 3600.0
    if to_operators <= 0:
        return 0
    ahts = {d.skill: d.aht_s or scenario.aht_s for d in scenario.skill_mix}
    handle = (1 - hazard) * sum(d.share * ahts[d.skill] for d in scenario.skill_mix) + \
        hazard * ahts.get(scenario.hazard_skill, scenario.aht_s)
    return fewest_operators(to_operators, handle, scenario.patience_s, targets.threshold_s,
                            targets.service_level, targets.max_abandon
                            if targets.max_abandon is not None else 1.0)


def steady_state(setting: Setting, calls_per_hour: float, operators: int,
                 targets: Targets) -> dict[str, Any]:
    """The outcome of ``operators`` at this load, past the warm-up."""
    report = simulate(setting, calls_per_hour=(calls_per_hour,) * 24,
                      hours=WARM_UP_HOURS + WINDOW_HOURS, start_hour=0,
                      warm_up_hours=WARM_UP_HOURS, staffing=(operators,) * 24,
                      threshold_s=targets.threshold_s).report
    return report


def fewest(setting: Setting, calls_per_hour: float, targets: Targets, guess: int
           ) -> tuple[int, dict[str, Any], int]:
    """The fewest operators meeting the targets at this load, their outcome, and how many
    steady states were simulated."""
    outcomes: dict[int, dict[str, Any]] = {}

    def meets(operators: int) -> bool:
        if operators not in outcomes:
            outcomes[operators] = steady_state(setting, calls_per_hour, operators, targets)
        return not targets.missed(outcomes[operators])

    if calls_per_hour <= 0:
        return 0, {"offered": 0}, 0
    operators = max(1, guess)
    if meets(operators):
        while operators > 1 and meets(operators - 1):
            operators -= 1
        return operators, outcomes[operators], len(outcomes)
    # far more than theory asks for and still missing: something other than staff (the ring
    # time, the patience, operators without the skill) stands in the way
    limit = min(MAX_OPERATORS, max(8 * operators, operators + 50))
    low, step = operators, 1  # low misses
    while not meets(min(low + step, limit)):
        if low + step >= limit:
            missed = ", ".join(targets.missed(outcomes[limit]))
            raise PlanError(f"{calls_per_hour:.0f} calls an hour: even {limit} operators miss "
                            f"the target ({missed}; {_figures(outcomes[limit])})")
        low += step
        step *= 2
    high = min(low + step, limit)  # meets
    while high - low > 1:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle
    return high, outcomes[high], len(outcomes)


def _figures(outcome: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    hazard = outcome.get("hazard_p95_wait_s")
    return (f"service level {pct(outcome.get('service_level_wallboard'))}, abandon rate "
            f"{pct(outcome.get('abandon_rate_wallboard'))}, hazard p95 "
            f"{'-' if hazard is None else f'{hazard:.0f} s'}")


def plan(setting: Setting, targets: Targets) -> Plan:
    """The fewest operators per hour on target in each hour's steady state; then the run
    with them (a week of the scenario's day), and one more operator in each hour of the day
    that misses a target there, up to ``CHECK_ROUNDS`` times (picking the first number whose
    noisy estimate passes favours numbers that pass by luck; the check corrects that)."""
    scenario = setting.scenario
    known: dict[float, tuple[int, dict[str, Any], int]] = {}
    staffing = list(scenario.staffing or (0,) * 24)
    found: dict[int, tuple[float, int, int, int]] = {}  # hour -> rate, guess, n, evaluations
    for hour in hours_of_day(scenario):
        rate = scenario.calls_per_hour[hour]
        guess = erlang_guess(scenario, rate, targets)
        if rate not in known:
            known[rate] = fewest(setting, rate, targets, guess)
        operators, _outcome, evaluations = known[rate]
        staffing[hour] = operators
        found[hour] = (rate, guess, operators, evaluations)
    hours = CHECK_DAYS * 24 if scenario.hours == 24 else scenario.hours
    for round_ in range(CHECK_ROUNDS + 1):
        planned = replace(scenario, staffing=tuple(staffing), threshold_s=targets.threshold_s)
        check = simulate(setting, staffing=planned.staffing, threshold_s=targets.threshold_s,
                         hours=hours).report
        result = Plan(targets, planned, [], check)
        missed = result.missed_hours()
        if not missed or round_ == CHECK_ROUNDS:
            break
        for hour, _ in missed:
            staffing[hour] += 1
    by_hour = {row["hour_of_day"]: row for row in result.check_rows()}
    rows = []
    for hour, (rate, guess, steady, evaluations) in found.items():
        team = replace(scenario, staffing=(staffing[hour],) * 24)
        rows.append(HourPlan(hour, rate, guess, steady, staffing[hour],
                             skill_counts(setting.members_for(team)[:staffing[hour]]),
                             by_hour.get(hour, {}), evaluations))
    return Plan(targets, result.scenario, rows, result.check)


def what_if_absent(setting: Setting, result: Plan, absent: int, from_hour: int
                   ) -> dict[str, Any]:
    """The plan's run (as long as its check, the same callers) with ``absent`` fewer
    operators from ``from_hour`` to the end of the day: a row per hour of the day affected."""
    scenario = result.scenario
    staffing = list(result.staffing)
    affected: list[int] = []
    for hour in hours_of_day(scenario):
        if hour == from_hour or affected:
            staffing[hour] = max(0, staffing[hour] - absent)
            affected.append(hour)
    if not affected:
        raise PlanError(f"the run ({scenario.hours} h from {scenario.start_hour:02d}:00) "
                        f"does not reach {from_hour:02d}:00")
    report = simulate(setting, staffing=tuple(staffing), threshold_s=result.targets.threshold_s,
                      hours=len(result.check["hours"])).report
    absent_plan = Plan(result.targets, replace(scenario, staffing=tuple(staffing)), [], report)
    rows = [{**row, "planned": result.staffing[row["hour_of_day"]],
             "present": staffing[row["hour_of_day"]], "missed": result.targets.missed(row)}
            for row in absent_plan.check_rows() if row["hour_of_day"] in affected]
    return {"absent": absent, "from_hour": from_hour, "rows": rows,
            "days": absent_plan.check_days}


def summary(outcome: dict[str, Any]) -> dict[str, Any]:
    """The figures of an outcome a plan shows."""
    return {key: outcome.get(key) for key in
            ("offered", "service_level", "abandon_rate", "asa_s", "p95_wait_s", "occupancy",
             "hazard_p95_wait_s")}


def operator_hours(staffing: list[int] | tuple[int, ...], scenario: Scenario) -> int:
    return sum(staffing[(scenario.start_hour + hour) % 24] for hour in range(scenario.hours))


