"""``hotline acd simulate`` and ``hotline acd plan`` as a user runs them: the installed command, in a process of its own,
on the August 2012 scenario (no hotline needs to run)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from hotline.config import PROJECT_ROOT

AUGUST = "dialplans/scenarios/august-2012.yaml"
REQUIRED = ("service_level", "abandon_rate", "asa_s", "p95_wait_s", "occupancy", "answered",
            "abandoned", "offered")


def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=PROJECT_ROOT, check=False)


def test_an_hour_of_august_2012_as_json() -> None:
    result = hotline("acd", "simulate", "--scenario", AUGUST, "--hours", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report: dict[str, Any] = json.loads(result.stdout)
    for key in REQUIRED:
        assert key in report, key
    for key in ("service_level", "abandon_rate", "occupancy"):
        assert 0 <= report[key] <= 1, key
    assert report["offered"] == report["answered"] + report["abandoned"] + \
        report["overflowed"] + report["still_waiting"] > 0
    assert len(report["hours"]) == 1
    assert report["scenario"]["staffing"] == [50] * 24
    assert report["scenario"]["patience_s"] == 90.0 and report["scenario"]["seed"] == 2012
    assert set(report["skills"]) <= {"outage", "billing", "general", "advice",
                                     "new_connection"}


def test_flags_replace_the_scenario_values_and_the_table_has_every_hour() -> None:
    result = hotline("acd", "simulate", "--scenario", AUGUST, "--hours", "3", "--start-hour",
                     "9", "--staffing", "30", "--routing", "fifo", "--patience", "inf")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "3 h from 09:00, fifo routing, seed 2012" in lines[0]
    rows = [line.split()[0] for line in lines if line[:2].isdigit() or
            line.startswith("total")]
    assert rows == ["09:00", "10:00", "11:00", "total"]
    assert any(line.startswith("billing") for line in lines)
    # nobody hangs up
    total = next(line for line in lines if line.startswith("total")).split()
    assert total[4] == "0" and int(total[3].replace(",", "")) > 0


def test_a_plan_for_the_morning_peak_with_an_absence() -> None:
    result = hotline("acd", "plan", "--scenario", AUGUST, "--hours", "2", "--start-hour", "9",
                     "--target", "80/20", "--max-abandon", "0.05", "--hazard-p95", "30",
                     "--absent", "4", "--absent-from", "10:00", "--json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    assert [h["hour"] for h in answer["hours"]] == [9, 10]
    for hour in answer["hours"]:
        assert 0 < hour["erlang_a"] <= hour["steady_state"] <= hour["operators"] <= 50
        assert hour["skills"]["general"] == hour["operators"]
    assert answer["targets"]["service_level"] == 0.8
    assert answer["operator_hours"] == sum(h["operators"] for h in answer["hours"])
    what_if = answer["what_if"]["hours"]
    assert [h["hour"] for h in what_if] == [10]
    assert what_if[0]["present"] == what_if[0]["planned"] - 4
