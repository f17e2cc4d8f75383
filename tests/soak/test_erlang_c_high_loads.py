"""The simulator against Erlang C at high loads (``make soak``): millions of calls each.

An M/M/n queue forgets its past only after about 2 / (1 - occupancy)^2 arrivals, so the
estimate of the service level settles slowly as the load grows. At 70-90% these runs give about
three standard deviations of margin on 1 point; at 95% and 98% a 1-point check would need 10^7
to 10^8 calls, so the tolerance there is three standard errors of the run's own batch means (20
batches of 150,000 calls, each far longer than the queue's memory), at least 1 point. Seed 1,
as the unit rows (tests/unit/test_simulation_erlang.py, which this shares its set-up with).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from tests.unit.test_simulation_erlang import arrival_rate, run, theory

SOAK_ROWS = [(0.70, 800_000), (0.80, 2_000_000), (0.90, 4_000_000), (0.95, 3_000_000),
             (0.98, 3_000_000)]


@pytest.mark.soak
@pytest.mark.parametrize(("occupancy", "calls"), SOAK_ROWS,
                         ids=[f"Erlang C {r[0]:.0%}" for r in SOAK_ROWS])
def test_the_simulation_agrees_with_erlang_c_at_high_loads(occupancy: float,
                                                           calls: int) -> None:
    operators = 10
    rate = arrival_rate(operators, occupancy, math.inf)
    expected = theory(operators, rate, math.inf)
    got = run(operators, rate, math.inf, calls)
    tolerance = 0.01
    if occupancy > 0.9:
        tolerance = max(tolerance, 3 * batch_standard_error(got["hours"], batches=20))
    assert got["service_level"] == pytest.approx(expected.service_level, abs=tolerance)
    assert got["occupancy"] == pytest.approx(expected.occupancy, abs=0.01)


def batch_standard_error(hours: list[dict[str, Any]], batches: int) -> float:
    """The standard error of the service level from the means of consecutive batches of
    hours."""
    size = len(hours) // batches
    means = []
    for index in range(batches):
        chunk = hours[index * size:(index + 1) * size]
        offered = sum(h["offered"] for h in chunk)
        in_time = sum((h["service_level"] or 0) * h["offered"] for h in chunk)
        means.append(in_time / offered)
    return statistics.stdev(means) / math.sqrt(batches)
