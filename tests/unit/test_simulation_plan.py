"""Staffing plans: more operators are never worse, the plan is the fewest on target, a heavier
load never needs fewer, an absence from an hour on is felt from that hour on, and targets no
staffing can meet are refused with the reason."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from acd.simulation.planning import (
    PlanError,
    Targets,
    erlang_guess,
    fewest,
    plan,
    steady_state,
    what_if_absent,
)
from acd.simulation.run import Setting, prepare
from acd.simulation.scenario import load
from hotline.config import PROJECT_ROOT

AUGUST = PROJECT_ROOT / "dialplans" / "scenarios" / "august-2012.yaml"
TARGETS = Targets(service_level=0.8, threshold_s=20, max_abandon=0.05, hazard_p95_s=30)


def pooled(routing: str, **changes: Any) -> Setting:
    """The August callers, handled by operators who all take any call."""
    return prepare(load(AUGUST, {"operators": 1, "routing": routing, **changes}))


@pytest.mark.parametrize("routing", ["skills", "fifo"])
def test_more_operators_are_never_worse(routing: str) -> None:
    """The same callers (common random numbers) met by 6, 7, ... 16 operators: the service
    level never falls and the abandon rate never rises, counted either way."""
    setting = pooled(routing)
    outcomes = [steady_state(setting, 200, operators, TARGETS) for operators in range(6, 17)]
    for fewer, more in pairwise(outcomes):
        assert more["service_level"] >= fewer["service_level"]
        assert more["service_level_wallboard"] >= fewer["service_level_wallboard"]
        assert more["abandon_rate"] <= fewer["abandon_rate"]
        assert more["abandon_rate_wallboard"] <= fewer["abandon_rate_wallboard"]
        assert more["asa_s"] <= fewer["asa_s"]
    assert outcomes[0]["service_level"] < 0.5 and outcomes[-1]["service_level"] > 0.95


def test_the_plan_is_the_fewest_on_target_in_each_hour() -> None:
    setting = prepare(load(AUGUST, {"hours": 2, "start_hour": 9}))
    result = plan(setting, TARGETS)
    assert [row.hour_of_day for row in result.hours] == [9, 10]
    row = result.hours[0]
    assert row.calls_per_hour == pytest.approx(5975 * 0.09)
    assert row.erlang_a == erlang_guess(setting.scenario, row.calls_per_hour, TARGETS)
    on_target = steady_state(setting, row.calls_per_hour, row.steady_state, TARGETS)
    one_fewer = steady_state(setting, row.calls_per_hour, row.steady_state - 1, TARGETS)
    assert TARGETS.missed(on_target) == []
    assert TARGETS.missed(one_fewer) != []
    # the check can only add operators; the counts per skill are those of the first n
    assert row.operators >= row.steady_state
    assert row.skills["general"] == row.operators  # everyone on the roster has general
    assert 0 < row.skills["outage"] < row.operators
    assert result.staffing[9] == row.operators


def test_a_heavier_load_never_needs_fewer_operators() -> None:
    setting = pooled("skills")
    needed = [fewest(setting, rate, TARGETS, erlang_guess(setting.scenario, rate, TARGETS))[0]
              for rate in (50, 150, 300, 450)]
    assert needed == sorted(needed) and needed[0] < needed[-1]


def test_an_absence_from_an_hour_on_is_felt_from_that_hour_on() -> None:
    setting = pooled("skills", hours=6, start_hour=16)
    result = plan(setting, TARGETS)
    what_if = what_if_absent(setting, result, 3, 18)
    assert [row["hour_of_day"] for row in what_if["rows"]] == list(range(18, 22))
    for row in what_if["rows"]:
        assert row["present"] == max(0, row["planned"] - 3)
        planned = next(r for r in result.check_rows() if r["hour_of_day"] == row["hour_of_day"])
        assert row["service_level_wallboard"] <= planned["service_level_wallboard"]
    assert any(row["missed"] for row in what_if["rows"])
    with pytest.raises(PlanError, match="does not reach 08:00"):
        what_if_absent(prepare(load(AUGUST, {"operators": 1, "hours": 2, "start_hour": 9})),
                       plan(prepare(load(AUGUST, {"operators": 1, "hours": 2,
                                                  "start_hour": 9})), TARGETS), 1, 8)


def test_targets_no_staffing_can_meet_are_refused_with_the_reason() -> None:
    """Callers hang up after 7 s on average and the phone rings 10 s before anyone answers:
    however many operators there are, most callers are gone."""
    setting = pooled("fifo", calls_per_hour=30, patience=7, ring_time=10, hazard_share=0)
    with pytest.raises(PlanError, match=r"30 calls an hour: even \d+ operators miss the target "
                                        r"\(service_level, abandon_rate; service level"):
        plan(setting, Targets(0.8, 20, max_abandon=0.03))
