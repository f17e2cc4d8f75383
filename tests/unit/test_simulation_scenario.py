"""Scenario files: what a file and flags make of a simulation, and every mistake named by file,
line and column."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from acd.service_context import AcdSettings
from acd.simulation.scenario import Scenario, ScenarioError, load
from hotline.config import PROJECT_ROOT

AUGUST = PROJECT_ROOT / "dialplans" / "scenarios" / "august-2012.yaml"


def test_the_august_2012_scenario() -> None:
    scenario = load(AUGUST)
    assert sum(scenario.calls_per_hour) == pytest.approx(5975)  # 185,213 / 31 days
    assert max(scenario.calls_per_hour) == pytest.approx(5975 * 0.09)
    assert scenario.staffing == (50,) * 24 and scenario.operators is None
    assert scenario.roster == AUGUST.parent / "../agents.yaml"
    assert {d.skill: d.share for d in scenario.skill_mix} == pytest.approx(
        {"outage": 0.40, "billing": 0.35, "general": 0.12, "advice": 0.08,
         "new_connection": 0.05})
    assert scenario.ivr_lines == 40 and scenario.hazard_priority == 10
    assert scenario.patience_s == 90 and scenario.seed == 2012
    assert scenario.factor(5) == 0.8 and scenario.factor(3) == 1.0


def test_flags_replace_the_file_and_a_flag_for_the_operators_replaces_the_roster() -> None:
    scenario = load(AUGUST, {"operators": 20, "calls_per_hour": 100, "patience": math.inf,
                             "seed": None})
    assert scenario.operators == 20 and scenario.staffing == (20,) * 24
    assert scenario.roster is None and scenario.general_only
    assert scenario.calls_per_hour == (100.0,) * 24
    assert scenario.patience_s == math.inf
    assert scenario.seed == 2012  # a flag not given (None) leaves the file's value


def test_shifts_add_up_per_hour_also_past_midnight(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("shifts:\n  - {start: 6, end: 14, operators: 20}\n"
                    "  - {start: 12, end: 22, operators: 10}\n"
                    "  - {start: 22, end: 6, operators: 4}\n")
    staffing = load(path, default_roster=Path("agents.yaml")).staffing
    assert staffing is not None
    assert staffing[:6] == (4,) * 6 and staffing[6:12] == (20,) * 6
    assert staffing[12:14] == (30, 30) and staffing[14:22] == (10,) * 8
    assert staffing[22:] == (4, 4)


def test_every_mistake_is_reported_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("hours: 0\n"
                    "patience: soon\n"
                    "skill_mix: {billing: -1}\n"
                    "routing: random\n"
                    "calls_per_hour: [1, 2]\n"
                    "operators: 5\n"
                    "staffing: 3\n")
    with pytest.raises(ScenarioError) as error:
        load(path)
    assert error.value.problems == [
        f"{path}:1:8: hours: a whole number 1 or more, not 0",
        f"{path}:2:11: patience: a number more than 0 (or inf), not 'soon'",
        (f"{path}:3:12: skill_mix: shares are numbers 0 or more, not all 0 (they are made to "
         "sum to 1)"),
        f"{path}:4:10: routing: one of skills, fifo, not 'random'",
        (f"{path}:5:17: calls_per_hour: one number, or a list of 24 numbers 0 or more (hour 0 "
         "to 23)"),
        (f"{path}:7:11: staffing: operators (M operators who take any call) replaces the "
         "roster: give one or the other"),
    ]


def test_a_file_that_is_not_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:1:1: a scenario is a mapping"):
        load(path)
    with pytest.raises(ScenarioError, match=r"missing.yaml:1:1: cannot read the scenario"):
        load(tmp_path / "missing.yaml")


def test_the_defaults_are_the_hotline_s_own() -> None:
    """What the live ACD does unless told otherwise, the simulation does too."""
    live, simulated = AcdSettings(), Scenario()
    assert simulated.ring_timeout_s == live.ring_timeout_s
    assert simulated.max_missed == live.max_missed
    assert simulated.max_queue == live.max_queue
