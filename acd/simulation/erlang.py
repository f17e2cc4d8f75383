"""Queueing theory for one skill and FIFO: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M,
Palm), computed from their definitions, as docs/simulation.md states them.

* Erlang B: the share of calls lost when ``n`` lines carry ``load`` erlangs and nobody queues,
  by the recursion B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)).
* Erlang C: Poisson arrivals at ``arrival_rate``, exponential handle times with mean
  ``handle_s`` (mu = 1 / handle_s), ``n`` operators, load A = lambda / mu < n, nobody hangs up.
  P(wait > 0) = C(n, A) = n B / (n - A (1 - B)); P(wait > t) = C exp(-(n - A) mu t).
* Erlang A: as C, plus each waiting caller hangs up after an exponential patience with mean
  ``patience_s`` (theta = 1 / patience_s). The number of callers in the system is a
  birth-death process (birth lambda, death min(k, n) mu + max(k - n, 0) theta); its stationary
  distribution is computed term by term until the rest is negligible. A caller who arrives to
  find k >= n callers in the system has j = k - n ahead; with i ahead the line moves at rate
  n mu + i theta (a service ends or one of those ahead hangs up), so the caller's time to
  reach an operator is V = sum over i = 0..j of Exp(n mu + i theta), and they are answered if
  their own patience outlasts V. With L_j the Laplace transform of V at theta:
  P(answered | j) = L_j = prod r_i / (r_i + theta), E[V; answered | j] = L_j sum 1 / (r_i + theta),
  and P(answered within t | j) = L_j P(sum of Exp(r_i + theta) <= t) (the density of V
  weighted by exp(-theta v) is that of the sum with every rate raised by theta). That last sum
  is computed by uniformisation. Abandon rate = theta E[queue length] / lambda (the
  definition; the per-caller sum gives the same number, which the tests check).

The service level here is answered within the threshold over every caller offered, and the
abandon rate counts every caller who hung up while waiting: the simulator's definitions
(``acd.simulation.statistics``), so the two compare directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_NEGLIGIBLE = 1e-15
_RESCALE = 1e250


@dataclass(frozen=True)
class Outcome:
    """What theory says of a queue in the long run."""
    wait_probability: float  # P(a caller waits at all)
    service_level: float     # answered within the threshold / offered
    abandon_rate: float      # hung up while waiting / offered
    asa_s: float             # mean wait of the answered callers
    occupancy: float         # carried load / operators
    mean_queue: float        # callers waiting, on average


def erlang_b(n: int, load: float) -> float:
    """The share of calls blocked when ``n`` lines carry ``load`` erlangs."""
    _check_n(n)
    blocked = 1.0
    for k in range(1, n + 1):
        blocked = load * blocked / (k + load * blocked)
    return blocked


def erlang_c(n: int, load: float) -> float:
    """P(wait > 0) in M/M/n with ``load`` erlangs (1.0 when ``load`` >= n: the queue grows)."""
    _check_n(n)
    if load >= n:
        return 1.0
    blocked = erlang_b(n, load)
    return n * blocked / (n - load * (1 - blocked))


def erlang_c_outcome(n: int, arrival_rate: float, handle_s: float,
                     threshold_s: float) -> Outcome:
    """Erlang C's answers; ``arrival_rate`` per second. Refuses a load of n or more."""
    load = arrival_rate * handle_s
    if load >= n:
        raise ValueError(f"a load of {load:.2f} erlangs needs more than {n} operators when "
                         "nobody hangs up")
    waits = erlang_c(n, load)
    mu = 1.0 / handle_s
    return Outcome(
        wait_probability=waits,
        service_level=1.0 - waits * math.exp(-(n - load) * mu * threshold_s),
        abandon_rate=0.0,
        asa_s=waits / (n * mu - arrival_rate),
        occupancy=load / n,
        mean_queue=waits * load / (n - load),
    )


def erlang_a(n: int, arrival_rate: float, handle_s: float, patience_s: float,
             threshold_s: float) -> Outcome:
    """Erlang A's answers (Palm's M/M/n+M); ``patience_s`` may be ``math.inf`` (Erlang C)."""
    _check_n(n)
    if arrival_rate <= 0:
        return Outcome(0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if math.isinf(patience_s):
        return erlang_c_outcome(n, arrival_rate, handle_s, threshold_s)
    if patience_s <= 0 or handle_s <= 0:
        raise ValueError("handle time and patience are positive")
    lam, mu, theta = arrival_rate, 1.0 / handle_s, 1.0 / patience_s
    states = _stationary(n, lam, mu, theta)
    queueing = states[n:]  # arrivals who find every operator busy, by how many wait ahead
    served_immediately = sum(states[:n])
    mean_queue = sum(j * p for j, p in enumerate(queueing))

    answered = served_immediately
    wait_of_answered = 0.0
    weights: list[float] = []  # P(arrive with j ahead and be answered)
    rates: list[float] = []    # the rates of the tilted sum, r_i + theta
    tilt, inverse_sum = 1.0, 0.0
    for j, p in enumerate(queueing):
        r = n * mu + j * theta
        tilt *= r / (r + theta)
        inverse_sum += 1.0 / (r + theta)
        rates.append(r + theta)
        weights.append(p * tilt)
        answered += p * tilt
        wait_of_answered += p * tilt * inverse_sum
    within = _reached_within(weights, rates, threshold_s)
    return Outcome(
        wait_probability=1.0 - served_immediately,
        service_level=served_immediately + within,
        abandon_rate=theta * mean_queue / lam,
        asa_s=wait_of_answered / answered if answered else 0.0,
        occupancy=lam * answered / mu / n,
        mean_queue=mean_queue,
    )


def abandon_rate_by_caller(n: int, arrival_rate: float, handle_s: float,
                           patience_s: float) -> float:
    """The abandon rate summed caller by caller (P(arrive with j ahead) x P(hang up first)):
    a check on :func:`erlang_a`'s theta E[Q] / lambda."""
    lam, mu, theta = arrival_rate, 1.0 / handle_s, 1.0 / patience_s
    states = _stationary(n, lam, mu, theta)
    total, tilt = 0.0, 1.0
    for j, p in enumerate(states[n:]):
        r = n * mu + j * theta
        tilt *= r / (r + theta)
        total += p * (1.0 - tilt)
    return total


def fewest_operators(arrival_rate: float, handle_s: float, patience_s: float,
                     threshold_s: float, service_level: float, max_abandon: float = 1.0,
                     limit: int = 10_000) -> int:
    """The fewest operators for which Erlang A meets the service level and the abandon rate
    (binary search: both improve with every operator added)."""
    def meets(n: int) -> bool:
        if math.isinf(patience_s) and arrival_rate * handle_s >= n:
            return False
        outcome = erlang_a(n, arrival_rate, handle_s, patience_s, threshold_s)
        return outcome.service_level >= service_level and outcome.abandon_rate <= max_abandon

    if arrival_rate <= 0:
        return 0
    low, high = 1, max(1, math.ceil(arrival_rate * handle_s))
    while not meets(high):
        low, high = high + 1, high * 2
        if high > limit:
            raise ValueError(f"more than {limit} operators would be needed")
    while low < high:
        middle = (low + high) // 2
        if meets(middle):
            high = middle
        else:
            low = middle + 1
    return high


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"operators must be 1 or more, not {n}")


def _stationary(n: int, lam: float, mu: float, theta: float) -> list[float]:
    """The stationary distribution of the number in the system, cut where the rest of the
    tail is below 1e-15 (the terms fall faster than geometrically past the queue's mode)."""
    terms = [1.0]
    total = 1.0
    k = 0
    while True:
        k += 1
        term = terms[-1] * lam / (min(k, n) * mu + max(k - n, 0) * theta)
        terms.append(term)
        total += term
        if total > _RESCALE:
            terms = [t / _RESCALE for t in terms]
            total /= _RESCALE
        # past the operators and the mode, the ratio of terms is below 1 and falling: the
        # rest of the tail is at most term * ratio / (1 - ratio)
        ratio = lam / (min(k + 1, n) * mu + max(k + 1 - n, 0) * theta)
        if k > n and ratio < 1 and term * ratio / (1 - ratio) < _NEGLIGIBLE * total:
            break
    return [t / total for t in terms]


def _reached_within(weights: list[float], rates: list[float], threshold_s: float) -> float:
    """sum_j weights[j] P(Exp(rates[0]) + ... + Exp(rates[j]) <= threshold_s), by
    uniformisation: a chain that steps from j down to j - 1 (and from 0 to done) with
    probability rates[j] / fastest at every tick of a Poisson clock of the fastest rate."""
    if not weights or threshold_s <= 0:
        return 0.0
    fastest = max(rates)
    mean_ticks = fastest * threshold_s
    ticks = int(mean_ticks + 12 * math.sqrt(mean_ticks) + 30)
    step = [rate / fastest for rate in rates]
    mass = list(weights)  # mass[j]: still waiting with j ahead
    done = 0.0
    reached = 0.0
    log_mean = math.log(mean_ticks)
    for tick in range(ticks + 1):
        poisson = math.exp(-mean_ticks + tick * log_mean - math.lgamma(tick + 1))
        reached += poisson * done
        # one tick: a share of each level moves down one
        done += mass[0] * step[0]
        for j in range(len(mass)):
            moving = mass[j] * step[j]
            mass[j] -= moving
            if j:
                mass[j - 1] += moving
    return reached  # the ticks left out (beyond mean + 12 sd) weigh nothing measurable
