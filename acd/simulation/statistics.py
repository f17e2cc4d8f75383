"""What a simulated run measured, per hour, per skill, for hazards and in total.

The definitions are the project's (CALLCENTRE.md), with the simulator's choices:

* offered: callers who entered the queue (after the IVR, or straight from a full IVR);
* service level: answered within the threshold / offered, every caller counted (short
  abandons included, as Erlang A counts them); ``service_level_wallboard`` leaves the short
  abandons out of both sides, as the wallboard does;
* abandon rate: callers who hung up while waiting or while an operator's phone rang / offered,
  short abandons included (``abandon_rate_wallboard`` leaves them out);
* ASA and p95 wait: over the answered callers, from joining the queue to the operator's answer;
* overflowed: callers an overflow rule sent away (no operator logged in who could take them,
  queue full, waited too long) with the announcement: neither answered nor abandoned;
* occupancy: time on calls and in wrap-up / time logged in and not paused.

A caller counts in the hour they joined the queue (arrivals and self-service in the hour they
called). The first ``warm_up_hours`` (the centre starts empty) are in the hourly rows only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Tally:
    arrived: int = 0
    self_served: int = 0
    ivr_full: int = 0          # sent to the queue because all IVR lines were busy
    offered: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    overflowed: int = 0
    wait_sum: float = 0.0
    waits: list[float] = field(default_factory=list)  # of the answered callers

    def summary(self, threshold_s: float) -> dict[str, Any]:
        offered = self.offered
        counted = offered - self.short_abandons
        waits = sorted(self.waits)
        return {
            "offered": offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandons": self.short_abandons,
            "overflowed": self.overflowed,
            "service_level": _share(self.answered_in_time, offered),
            "service_level_wallboard": _share(self.answered_in_time, counted),
            "abandon_rate": _share(self.abandoned, offered),
            "abandon_rate_wallboard": _share(self.abandoned - self.short_abandons, counted),
            "asa_s": self.wait_sum / self.answered if self.answered else None,
            "p95_wait_s": percentile(waits, 0.95),
            "max_wait_s": waits[-1] if waits else None,
            "threshold_s": threshold_s,
        }


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


class Measures:
    """The tallies of a run and the operators' time, filled in as it goes."""

    def __init__(self, hours: int, threshold_s: float, short_abandon_s: float,
                 warm_up_hours: int = 0, start_hour: int = 0) -> None:
        self.hours = hours
        self.start_hour = start_hour
        self.warm_up_hours = warm_up_hours  # in the hourly rows only, not in the totals
        self.threshold_s = threshold_s
        self.short_abandon_s = short_abandon_s
        self.total = Tally()
        self.by_hour = [Tally() for _ in range(hours)]
        self.by_skill: dict[str, Tally] = {}
        self.hazard = Tally()
        self.hazard_by_hour = [Tally() for _ in range(hours)]
        # past the warm-up, by hour of the day (for runs of several days)
        self.by_hour_of_day = [Tally() for _ in range(24)]
        self.hazard_by_hour_of_day = [Tally() for _ in range(24)]
        self.working_s = [0.0] * hours   # operator-seconds on calls and in wrap-up
        self.staffed_s = [0.0] * hours   # operator-seconds logged in and not paused
        self.offers = 0
        self.offers_not_answered = 0
        self.overflow_reasons: dict[str, int] = {}
        self.still_waiting = 0  # in the queue when the run ended (nobody logged in to serve them)

    def hour_of(self, when: float) -> int:
        return min(max(int(when // 3600.0), 0), self.hours - 1)

    def tallies(self, hour: int, skill: str, hazard: bool) -> tuple[Tally, ...]:
        if hour < self.warm_up_hours:
            return (self.by_hour[hour], self.hazard_by_hour[hour]) if hazard else \
                (self.by_hour[hour],)
        by_skill = self.by_skill.get(skill)
        if by_skill is None:
            by_skill = self.by_skill[skill] = Tally()
        of_day = (self.start_hour + hour) % 24
        if hazard:
            return self.total, self.by_hour[hour], by_skill, self.by_hour_of_day[of_day], \
                self.hazard, self.hazard_by_hour[hour], self.hazard_by_hour_of_day[of_day]
        return self.total, self.by_hour[hour], by_skill, self.by_hour_of_day[of_day]

    # what happens to callers

    def arrived(self, hour: int) -> None:
        self.total.arrived += hour >= self.warm_up_hours
        self.by_hour[hour].arrived += 1

    def self_served(self, hour: int) -> None:
        self.total.self_served += hour >= self.warm_up_hours
        self.by_hour[hour].self_served += 1

    def ivr_full(self, hour: int) -> None:
        self.total.ivr_full += hour >= self.warm_up_hours
        self.by_hour[hour].ivr_full += 1

    def offered(self, tallies: tuple[Tally, ...]) -> None:
        for tally in tallies:
            tally.offered += 1

    def answered(self, tallies: tuple[Tally, ...], wait: float) -> None:
        in_time = wait <= self.threshold_s
        for tally in tallies:
            tally.answered += 1
            tally.wait_sum += wait
            tally.waits.append(wait)
            if in_time:
                tally.answered_in_time += 1

    def abandoned(self, tallies: tuple[Tally, ...], wait: float) -> None:
        short = wait <= self.short_abandon_s
        for tally in tallies:
            tally.abandoned += 1
            if short:
                tally.short_abandons += 1

    def overflowed(self, tallies: tuple[Tally, ...], reason: str) -> None:
        if tallies[0] is self.total:  # past the warm-up
            self.overflow_reasons[reason] = self.overflow_reasons.get(reason, 0) + 1
        for tally in tallies:
            tally.overflowed += 1

    # the operators' time

    def operator_time(self, start: float, end: float, working: int, staffed: int) -> None:
        """``working`` and ``staffed`` operators from ``start`` to ``end`` (split per hour;
        time past the last hour, while the queue drains, is left out)."""
        while start < end:
            hour = int(start // 3600.0)
            if hour >= self.hours:
                return
            until = min(end, (hour + 1) * 3600.0)
            self.working_s[hour] += working * (until - start)
            self.staffed_s[hour] += staffed * (until - start)
            start = until

    # the report

    def report(self) -> dict[str, Any]:
        total = self.total.summary(self.threshold_s)
        measured = slice(self.warm_up_hours, None)
        total.update(arrived=self.total.arrived, self_served=self.total.self_served,
                     ivr_full=self.total.ivr_full,
                     occupancy=_share(sum(self.working_s[measured]),
                                      sum(self.staffed_s[measured])),
                     offers=self.offers, offers_not_answered=self.offers_not_answered,
                     still_waiting=self.still_waiting,
                     operators=sum(self.staffed_s[measured]) /
                     (3600.0 * (self.hours - self.warm_up_hours)),
                     hazard_p95_wait_s=percentile(sorted(self.hazard.waits), 0.95),
                     overflow_reasons=dict(sorted(self.overflow_reasons.items())))
        hours = [self._row(tally, self.hazard_by_hour[hour], [hour], hour=hour)
                 for hour, tally in enumerate(self.by_hour)]
        report = {
            **total,
            "hours": hours,
            "skills": {skill: tally.summary(self.threshold_s)
                       for skill, tally in sorted(self.by_skill.items())},
            "hazard": self.hazard.summary(self.threshold_s),
        }
        if self.hours > 24:
            measured_hours = range(self.warm_up_hours, self.hours)
            report["hours_of_day"] = [
                self._row(tally, self.hazard_by_hour_of_day[of_day],
                          [h for h in measured_hours if (self.start_hour + h) % 24 == of_day],
                          hour_of_day=of_day)
                for of_day, tally in enumerate(self.by_hour_of_day)]
        return report

    def _row(self, tally: Tally, hazard: Tally, hours: list[int], **label: int
             ) -> dict[str, Any]:
        """One row of the hourly tables: ``hours`` are the run's hours it covers."""
        working = sum(self.working_s[hour] for hour in hours)
        staffed = sum(self.staffed_s[hour] for hour in hours)
        row = tally.summary(self.threshold_s)
        row.update(label, arrived=tally.arrived, self_served=tally.self_served,
                   ivr_full=tally.ivr_full, occupancy=_share(working, staffed),
                   operators=staffed / 3600.0 / max(1, len(hours)),
                   hazard_offered=hazard.offered,
                   hazard_service_level=_share(hazard.answered_in_time, hazard.offered),
                   hazard_p95_wait_s=percentile(sorted(hazard.waits), 0.95))
        return row
