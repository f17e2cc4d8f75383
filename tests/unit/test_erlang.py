"""The queueing formulas against textbook values and the closed forms they must reduce to.

Erlang B: the traffic tables (lines, erlangs carried at a grade of service). Erlang C: a
textbook exercise and the M/M/1 and M/M/2 closed forms. Erlang A: its limits (patience equal
to the handle time: the number in the system is Poisson, as in M/M/infinity; patience without
end: Erlang C), its abandon rate summed caller by caller, and its service level at the extremes.
The agreement with the simulator is in test_simulation_erlang.py.
"""

from __future__ import annotations

import math

import pytest

from acd.simulation.erlang import (
    abandon_rate_by_caller,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_outcome,
    fewest_operators,
)

# (lines, erlangs, grade of service) from the Erlang B traffic table
ERLANG_B_TABLE = [(5, 1.361, 0.01), (10, 4.461, 0.01), (10, 5.084, 0.02), (10, 6.216, 0.05),
                  (30, 24.80, 0.05), (50, 37.90, 0.01), (50, 40.26, 0.02)]


@pytest.mark.parametrize(("lines", "load", "blocked"), ERLANG_B_TABLE)
def test_erlang_b_gives_the_traffic_table(lines: int, load: float, blocked: float) -> None:
    assert erlang_b(lines, load) == pytest.approx(blocked, abs=5e-5)


def test_erlang_c_textbook_exercise() -> None:
    """120 customers an hour, 3 minutes each, 10 servers: 'the probability of waiting is
    about 0.10'."""
    assert erlang_c(10, 120 / 60 * 3) == pytest.approx(0.1013, abs=1e-4)


@pytest.mark.parametrize("rho", [0.3, 0.7, 0.95])
def test_erlang_c_with_one_operator_is_m_m_1(rho: float) -> None:
    mu = 1 / 180
    outcome = erlang_c_outcome(1, rho * mu, 180, 20)
    assert outcome.wait_probability == pytest.approx(rho)
    assert outcome.service_level == pytest.approx(1 - rho * math.exp(-(1 - rho) * mu * 20))
    assert outcome.asa_s == pytest.approx(rho / (mu - rho * mu))
    assert outcome.occupancy == pytest.approx(rho)


@pytest.mark.parametrize("rho", [0.4, 0.9])
def test_erlang_c_with_two_operators(rho: float) -> None:
    assert erlang_c(2, 2 * rho) == pytest.approx(2 * rho ** 2 / (1 + rho))


def test_erlang_c_refuses_a_load_it_cannot_carry() -> None:
    assert erlang_c(5, 5.0) == 1.0
    with pytest.raises(ValueError, match="needs more than 5 operators"):
        erlang_c_outcome(5, 5 / 180, 180, 20)


@pytest.mark.parametrize(("n", "load"), [(5, 3.0), (10, 8.0), (20, 26.0)])
def test_erlang_a_with_patience_equal_to_handle_time_is_poisson(n: int, load: float) -> None:
    """theta = mu: every caller in the system leaves at rate mu, served or not, so the number
    in the system is Poisson(A) whatever n is."""
    outcome = erlang_a(n, load / 180, 180, 180, 20)
    poisson = [math.exp(-load + k * math.log(load) - math.lgamma(k + 1)) for k in range(400)]
    assert outcome.wait_probability == pytest.approx(sum(poisson[n:]), rel=1e-9)
    expected_queue = sum((k - n) * p for k, p in enumerate(poisson) if k > n)
    assert outcome.mean_queue == pytest.approx(expected_queue, rel=1e-9)
    assert outcome.abandon_rate == pytest.approx(expected_queue / load, rel=1e-9)


@pytest.mark.parametrize(("n", "load"), [(10, 6.0), (55, 48.0)])
def test_erlang_a_without_patience_is_erlang_c(n: int, load: float) -> None:
    c = erlang_c_outcome(n, load / 240, 240, 15)
    a = erlang_a(n, load / 240, 240, 1e12, 15)
    assert a.wait_probability == pytest.approx(c.wait_probability, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-6)
    assert a.abandon_rate < 1e-9
    assert erlang_a(n, load / 240, 240, math.inf, 15) == c


@pytest.mark.parametrize(("n", "rho", "patience"), [(10, 0.8, 60), (20, 1.2, 120),
                                                     (50, 2.0, 30)])
def test_erlang_a_abandon_rate_is_theta_times_queue_over_lambda(n: int, rho: float,
                                                                patience: float) -> None:
    """theta E[Q] / lambda (the definition) equals the sum over arrivals of P(j ahead) x
    P(patience runs out before the line reaches them)."""
    lam = rho * n / 180
    assert erlang_a(n, lam, 180, patience, 20).abandon_rate == \
        pytest.approx(abandon_rate_by_caller(n, lam, 180, patience), rel=1e-9)


def test_erlang_a_service_level_at_the_extremes() -> None:
    lam = 1.1 * 20 / 180
    outcome = erlang_a(20, lam, 180, 120, 20)
    at_once = erlang_a(20, lam, 180, 120, 0)
    forever = erlang_a(20, lam, 180, 120, 10 ** 5)
    assert at_once.service_level == pytest.approx(1 - outcome.wait_probability)
    assert forever.service_level == pytest.approx(1 - outcome.abandon_rate, abs=1e-9)
    assert at_once.service_level < outcome.service_level < forever.service_level
    # carried load: every answered caller holds an operator for the handle time
    assert outcome.occupancy == pytest.approx(lam * 180 * (1 - outcome.abandon_rate) / 20)


def test_fewest_operators_is_the_first_that_meets_the_targets() -> None:
    lam, handle, patience = 300 / 3600, 200.0, 90.0
    n = fewest_operators(lam, handle, patience, 20, 0.8, max_abandon=0.03)
    meets = erlang_a(n, lam, handle, patience, 20)
    short = erlang_a(n - 1, lam, handle, patience, 20)
    assert meets.service_level >= 0.8 and meets.abandon_rate <= 0.03
    assert short.service_level < 0.8 or short.abandon_rate > 0.03
    # without patience Erlang C decides, and the load itself is a floor
    assert fewest_operators(lam, handle, math.inf, 20, 0.8) > lam * handle
    assert fewest_operators(0.0, handle, patience, 20, 0.8) == 0
