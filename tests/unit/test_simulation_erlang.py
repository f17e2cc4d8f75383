"""The simulator against theory: one skill, FIFO, Poisson arrivals, exponential handle times and
patience, every operator alike. There the simulated centre (the real decision and state
machine on a simulated clock) must give Erlang A's service level within 1 point and its abandon
rate within 0.5 point, and Erlang C's service level when nobody hangs up, over loads from 50%
to 98% occupancy.

The runs are long enough that the tolerance is about three standard deviations of the
estimate (measured over seeds: 0.1-0.3 point of service level and 0.1-0.15 point of abandon
rate for Erlang A at 130,000 calls) and seeded, so each row gives the same answer every time.
Erlang C needs far longer runs as the load grows (the queue forgets its past only after about
2 / (1 - occupancy)^2 arrivals: 5,000 at 98%), so the unit suite checks it at 50% and 60% and
``make soak`` at 70% to 98% (tests/soak/test_erlang_c_high_loads.py); docs/simulation.md has
the table.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from acd.simulation.erlang import Outcome, erlang_a, erlang_c_outcome
from acd.simulation.run import prepare, simulate
from acd.simulation.scenario import load

HANDLE_S = 180.0
THRESHOLD_S = 20.0


def arrival_rate(operators: int, occupancy: float, patience_s: float) -> float:
    """Calls per second for which theory's occupancy is ``occupancy``."""
    if math.isinf(patience_s):
        return occupancy * operators / HANDLE_S
    low, high = 0.0, 50 * operators / HANDLE_S
    for _ in range(60):
        middle = (low + high) / 2
        if erlang_a(operators, middle, HANDLE_S, patience_s, THRESHOLD_S).occupancy < occupancy:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def run(operators: int, rate: float, patience_s: float, calls: int, seed: int = 1
        ) -> dict[str, Any]:
    hours = max(1, round(calls / (rate * 3600)))
    scenario = load(None, {"calls_per_hour": rate * 3600, "operators": operators,
                           "aht": HANDLE_S, "service": "exp", "patience": patience_s,
                           "hours": hours, "routing": "fifo", "threshold": THRESHOLD_S,
                           "max_queue": 10 ** 6, "seed": seed})
    return simulate(prepare(scenario)).report


def theory(operators: int, rate: float, patience_s: float) -> Outcome:
    if math.isinf(patience_s):
        return erlang_c_outcome(operators, rate, HANDLE_S, THRESHOLD_S)
    return erlang_a(operators, rate, HANDLE_S, patience_s, THRESHOLD_S)


# (model, operators, occupancy, patience, calls simulated)
ROWS = [("Erlang A", 5, 0.50, 60.0, 40_000),
        ("Erlang A", 5, 0.70, 60.0, 130_000),
        ("Erlang A", 5, 0.80, 60.0, 130_000),
        ("Erlang A", 5, 0.90, 60.0, 130_000),
        ("Erlang A", 5, 0.95, 60.0, 130_000),
        ("Erlang A", 5, 0.98, 60.0, 130_000),
        ("Erlang C", 10, 0.50, math.inf, 60_000),
        ("Erlang C", 10, 0.60, math.inf, 150_000)]


@pytest.mark.parametrize(("model", "operators", "occupancy", "patience_s", "calls"), ROWS,
                         ids=[f"{r[0]} {r[2]:.0%}" for r in ROWS])
def test_the_simulation_agrees_with_theory(model: str, operators: int, occupancy: float,
                                           patience_s: float, calls: int) -> None:
    rate = arrival_rate(operators, occupancy, patience_s)
    expected = theory(operators, rate, patience_s)
    assert expected.occupancy == pytest.approx(occupancy, abs=1e-6)
    got = run(operators, rate, patience_s, calls)
    assert got["offered"] > 0.9 * calls
    assert got["service_level"] == pytest.approx(expected.service_level, abs=0.01)
    assert got["abandon_rate"] == pytest.approx(expected.abandon_rate, abs=0.005)
    assert got["occupancy"] == pytest.approx(expected.occupancy, abs=0.01)
