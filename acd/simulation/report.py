"""The simulation's answers as text tables (``hotline acd simulate`` and ``hotline acd plan``
print these; ``--json`` prints the figures themselves)."""

from __future__ import annotations

from typing import Any

from .planning import Plan
from .scenario import Scenario

DAY_ROWS_AFTER_H = 48  # longer runs: a row per hour of the day, over every day (--json: both)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def hour_label(scenario: Scenario, hour: int) -> str:
    day, clock = divmod(scenario.start_hour + hour, 24)
    return f"{clock:02d}:00" if scenario.hours + scenario.start_hour <= 24 else \
        f"d{day + 1} {clock:02d}:00"


def simulation(scenario: Scenario, report: dict[str, Any]) -> list[str]:
    threshold = f"SL({scenario.threshold_s:g}s)"
    lines = [_title(scenario), _calls_line(report), ""]
    head = (f"{'hour':<10}{'calls':>7}{'offered':>8}{'answer':>8}{'aband.':>7}{'overfl.':>8}"
            f"{threshold:>9}{'aband.%':>8}{'ASA s':>7}{'p95 s':>7}{'occup.':>8}{'staff':>6}"
            f"{'hazard p95 s':>13}")
    lines.append(head)
    if scenario.hours > DAY_ROWS_AFTER_H:
        for row in report["hours_of_day"]:
            lines.append(_row(f"{row['hour_of_day']:02d}:00", row))
    else:
        for row in report["hours"]:
            lines.append(_row(hour_label(scenario, row["hour"]), row))
    lines.append(_row("total", report))
    lines += ["", (f"{'skill':<16}{'offered':>8}{'answer':>8}{'aband.':>7}{'overfl.':>8}"
                  f"{threshold:>9}{'aband.%':>8}{'ASA s':>7}{'p95 s':>7}")]
    for skill, row in report["skills"].items():
        lines.append(f"{skill:<16}{row['offered']:>8,}{row['answered']:>8,}"
                     f"{row['abandoned']:>7,}{row['overflowed']:>8,}"
                     f"{_pct(row['service_level']):>9}{_pct(row['abandon_rate']):>8}"
                     f"{_secs(row['asa_s']):>7}{_secs(row['p95_wait_s']):>7}")
    hazard = report["hazard"]
    if hazard["offered"]:
        lines.append(f"hazards (priority {scenario.hazard_priority}): {hazard['offered']:,} "
                     f"offered, {threshold} {_pct(hazard['service_level'])}, abandoned "
                     f"{_pct(hazard['abandon_rate'])}, p95 wait "
                     f"{_secs(hazard['p95_wait_s'])} s, longest {_secs(hazard['max_wait_s'])} s")
    lines += ["", _notes(scenario, report)]
    return lines


def _title(scenario: Scenario) -> str:
    where = f" ({scenario.source})" if scenario.source else ""
    what = scenario.description or "simulation"
    return (f"{what}{where}: {scenario.hours} h from {scenario.start_hour:02d}:00, "
            f"{scenario.routing} routing, seed {scenario.seed}")


def _calls_line(report: dict[str, Any]) -> str:
    return (f"{report['arrived']:,} calls: {report['self_served']:,} done in the IVR, "
            f"{report['ivr_full']:,} sent on with the IVR lines full; {report['offered']:,} "
            f"offered to operators, {report['answered']:,} answered, {report['abandoned']:,} "
            f"abandoned ({report['short_abandons']:,} within the short-abandon time), "
            f"{report['overflowed']:,} sent away by an overflow rule")


def _row(label: str, row: dict[str, Any]) -> str:
    staff = row.get("operators")
    hazard = row.get("hazard_p95_wait_s")
    return (f"{label:<10}{row['arrived']:>7,}{row['offered']:>8,}{row['answered']:>8,}"
            f"{row['abandoned']:>7,}{row['overflowed']:>8,}{_pct(row['service_level']):>9}"
            f"{_pct(row['abandon_rate']):>8}{_secs(row['asa_s']):>7}"
            f"{_secs(row['p95_wait_s']):>7}{_pct(row['occupancy']):>8}"
            f"{('-' if staff is None else f'{staff:.0f}'):>6}{_secs(hazard):>13}")


def _notes(scenario: Scenario, report: dict[str, Any]) -> str:
    notes = [(f"SL: answered within {scenario.threshold_s:g} s / offered; abandon rate: every "
             f"caller who hung up while waiting / offered (short abandons, within "
             f"{scenario.short_abandon_s:g} s, included; the wallboard leaves them out: SL "
             f"{_pct(report['service_level_wallboard'])}, abandoned "
             f"{_pct(report['abandon_rate_wallboard'])})")]
    if scenario.hours > DAY_ROWS_AFTER_H:
        notes.append(f"each row is that hour of all {scenario.hours // 24} days; staff: the "
                     "mean logged in")
    if report.get("still_waiting"):
        notes.append(f"{report['still_waiting']} caller(s) still waiting when nobody was left "
                     "logged in")
    return "; ".join(notes)


def staffing_plan(result: Plan, what_if: dict[str, Any] | None = None) -> list[str]:
    scenario = result.scenario
    days = f"{result.check_days:g}"
    lines = [f"staffing plan: {_title(scenario)}",
             (f"targets: {result.targets.describe()} (service level and abandon rate as the "
              "wallboard counts them: short abandons left out)"), "",
             (f"{'hour':<7}{'calls/h':>8}{'Erlang A':>9}{'steady':>7}{'plan':>6}{'SL':>8}"
              f"{'aband.':>8}{'hazard p95':>11}  operators with each skill")]
    for row in result.hours:
        outcome = row.outcome
        skills = " ".join(f"{skill} {count}" for skill, count in row.skills.items())
        lines.append(f"{row.hour_of_day:02d}:00  {row.calls_per_hour:>7.0f}{row.erlang_a:>9}"
                     f"{row.steady_state:>7}{row.operators:>6}"
                     f"{_pct(outcome.get('service_level_wallboard')):>8}"
                     f"{_pct(outcome.get('abandon_rate_wallboard')):>8}"
                     f"{_secs(outcome.get('hazard_p95_wait_s')):>11}  {skills}")
    planned = sum(row.operators for row in result.hours)
    steady = sum(row.steady_state for row in result.hours)
    guessed = sum(row.erlang_a for row in result.hours)
    check = result.check
    missed = result.missed_hours()
    lines += ["", (f"Erlang A: the first guess (one queue, no skills); steady: the fewest on "
                   f"target in a 6-hour steady state at the hour's load; plan: after checking "
                   f"the plan on {days} day(s) (one more operator in an hour off target there, "
                   f"three rounds at most); SL, aband., hazard p95: that check, seed "
                   f"{scenario.seed}"),
              f"operator-hours a day: {planned:,} (steady states {steady:,}, Erlang A {guessed:,})",
              (f"the check: SL {_pct(check['service_level_wallboard'])}, abandoned "
               f"{_pct(check['abandon_rate_wallboard'])}, hazard p95 "
               f"{_secs(check['hazard_p95_wait_s'])} s, occupancy {_pct(check['occupancy'])}; "
               + ("every hour on target" if not missed else
                  "still off target: " + ", ".join(
                      f"{hour:02d}:00 ({' '.join(m)})" for hour, m in missed)))]
    if what_if is not None:
        lines += ["", (f"what if {what_if['absent']} operators are absent from "
                       f"{what_if['from_hour']:02d}:00 (the same callers, "
                       f"{what_if['days']:g} day(s)):"),
                  (f"{'hour':<7}{'plan':>6}{'present':>8}{'SL':>8}{'aband.':>8}"
                   f"{'hazard p95':>11}  targets")]
        for row in what_if["rows"]:
            lines.append(f"{row['hour_of_day']:02d}:00  {row['planned']:>5}{row['present']:>8}"
                         f"{_pct(row['service_level_wallboard']):>8}"
                         f"{_pct(row['abandon_rate_wallboard']):>8}"
                         f"{_secs(row['hazard_p95_wait_s']):>11}  "
                         + ("missed: " + ", ".join(row["missed"]) if row["missed"] else "met"))
    return lines
