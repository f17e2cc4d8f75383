"""Time of one ACD routing decision (``acd.decision.decide``) against a sort of the queue, in one run.

    .venv/bin/python -m bench.acd_decision                    # 50 operators, 20 skills, 1,000 calls
    .venv/bin/python -m bench.acd_decision --agents yaml      # the operators of dialplans/agents.yaml
    .venv/bin/python -m bench.acd_decision --calls 5000 --iterations 500 --json

Each snapshot is what the controller hands the core when an operator becomes free: 1,000 waiting
calls with mixed priorities, languages, required skills, wait times (so every relaxation step
occurs) and sticky operators; the free operators with their idle times; the busy ones. Four
loads: 1 operator free (the steady state of a full queue), 5 free, all 50 free (a shift starting:
the most assignments), and 1 free operator who can serve nobody in the queue (speaks only a
language no caller uses: the whole queue is scanned for nothing).

The baseline sorts the calls by priority (highest first) then arrival, the least any router has
to do with a queue of that size, in the fastest plain Python: two stable sorts on
``operator.attrgetter`` keys (a ``lambda`` tuple key is about twice as slow). Baseline and core
run back to back on the same snapshot, alternating which goes first, so a burst of load from a
neighbour hits a pair. The table gives p50 and p99 of each, the ratio core/baseline, and the
verdict against the goal: core p99 under 1 ms.

The calls of a snapshot are created, then shuffled: the list visits them in random memory order,
as in a controller that has run for hours. A list in allocation order runs about 3x faster, for
the sort and the core alike, so these are the pessimistic numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from acd.agents import load_agents
from acd.decision import FreeAgent, Policy, WaitingCall, decide
from hotline.config import PROJECT_ROOT

GOAL_P99_US = 1000.0
SKILLS = ("general", "billing", "outage", "new_connection", "advice", "meter_reading", "prepaid",
          "solar", "ev_charging", "business", "hazards", "payment_plan", "relocation",
          "disconnection", "reconnection", "tariff", "invoice_copy", "smart_meter", "industrial",
          "complaints")
#: (label, free operators, can the free operators serve anyone)
LOADS = (("1 free, 49 busy", 1, True), ("5 free, 45 busy", 5, True), ("50 free", 50, True),
         ("1 free, serves none", 1, False))
_JOINED_AT = attrgetter("joined_at")
_PRIORITY = attrgetter("priority")


@dataclass(frozen=True)
class Operator:
    agent_id: str
    skills: dict[str, int]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    calls: list[WaitingCall]
    free: list[FreeAgent]
    busy: frozenset[str]
    now: float


def random_operators(rng: random.Random, count: int = 50) -> list[Operator]:
    """Everyone speaks Vietnamese and has 'general'; 2-6 other skills; a third speak English,
    two speak French."""
    operators = []
    for number in range(1, count + 1):
        skills = {"general": rng.randint(1, 5)}
        for skill in rng.sample(SKILLS[1:], rng.randint(2, 6)):
            skills[skill] = rng.choice((1, 2, 2, 3, 3, 4, 4, 5))
        languages: tuple[str, ...] = ("vi", "en") if rng.random() < 0.33 else ("vi",)
        if number in (7, 31):
            languages += ("fr",)
        operators.append(Operator(f"op{number:02d}", skills, languages))
    return operators


def yaml_operators() -> list[Operator]:
    agents = load_agents(PROJECT_ROOT / "dialplans" / "agents.yaml")
    return [Operator(a.id, dict(a.skills), a.languages) for a in agents.values()]


def random_calls(rng: random.Random, count: int, skills: list[str], operators: list[Operator],
                 now: float) -> list[WaitingCall]:
    calls = []
    others = [s for s in skills if s != "general"]
    for number in range(count):
        if rng.random() < 0.3 or not others:
            needed: tuple[str, ...] = ("general",)
        elif rng.random() < 0.7:
            needed = (rng.choice(others),)
        else:
            needed = tuple(rng.sample(skills, 2))
        language = rng.choices(("vi", "en", "fr", "zh"), (88, 9, 2, 1))[0]
        priority = rng.choices((0, 1, 2), (80, 15, 5))[0]
        waited = min(900.0, rng.expovariate(1 / 120))
        sticky = rng.choice(operators).agent_id if rng.random() < 0.1 else None
        calls.append(WaitingCall(f"c{number:05d}", needed, language, priority,
                                 round(now - waited, 3), sticky))
    rng.shuffle(calls)
    return calls


def snapshot(rng: random.Random, operators: list[Operator], calls: int, free: int,
             now: float, servable: bool = True) -> Snapshot:
    skills = sorted({s for o in operators for s in o.skills})
    chosen = rng.sample(operators, free)
    free_agents = [FreeAgent(o.agent_id, o.skills, o.languages if servable else ("th",),
                             round(now - rng.uniform(0, 300), 3)) for o in chosen]
    busy = frozenset(o.agent_id for o in operators) - {o.agent_id for o in chosen}
    return Snapshot(random_calls(rng, calls, skills, operators, now), free_agents, busy, now)


def baseline(shot: Snapshot, policy: Policy) -> object:
    ordered = sorted(shot.calls, key=_JOINED_AT)
    ordered.sort(key=_PRIORITY, reverse=True)
    return ordered


def core(shot: Snapshot, policy: Policy) -> object:
    return decide(shot.calls, shot.free, policy, shot.now, shot.busy)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(shots: list[Snapshot], policy: Policy, iterations: int) -> dict[str, Any]:
    sides = {"baseline": baseline, "core": core}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    assigned = 0
    for shot in shots[:20]:  # warm-up
        for run in sides.values():
            run(shot, policy)
    gc.collect()
    for i in range(iterations):
        shot = shots[i % len(shots)]
        order = ("baseline", "core") if i % 2 == 0 else ("core", "baseline")
        for name in order:
            started = time.perf_counter_ns()
            result = sides[name](shot, policy)
            samples[name].append((time.perf_counter_ns() - started) / 1000)
            if name == "core":
                assigned += len(result)  # type: ignore[arg-type]
    base, ours = samples["baseline"], samples["core"]
    return {
        "baseline": {"p50_us": percentile(base, 0.5), "p99_us": percentile(base, 0.99)},
        "core": {"p50_us": percentile(ours, 0.5), "p99_us": percentile(ours, 0.99)},
        "p50_ratio": percentile(ours, 0.5) / percentile(base, 0.5),
        "p99_ratio": percentile(ours, 0.99) / percentile(base, 0.99),
        "assignments_per_decision": assigned / iterations,
        "goal_met": percentile(ours, 0.99) < GOAL_P99_US,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", choices=("random", "yaml"), default="random",
                        help="random: 50 operators over 20 skills (default); yaml: "
                             "dialplans/agents.yaml (5 skills)")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--snapshots", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    operators = random_operators(rng) if args.agents == "random" else yaml_operators()
    skills = sorted({s for o in operators for s in o.skills})
    policy = Policy()
    now = 1_750_000_000.0
    output: dict[str, Any] = {"agents": args.agents, "operators": len(operators),
                              "skills": len(skills), "calls": args.calls,
                              "iterations": args.iterations, "goal_p99_us": GOAL_P99_US,
                              "loads": {}}
    for label, free, servable in LOADS:
        free = min(free, len(operators))
        print(f"[bench] {label}: {args.iterations} decisions", file=sys.stderr)
        shots = [snapshot(rng, operators, args.calls, free, now, servable)
                 for _ in range(args.snapshots)]
        output["loads"][label] = measure(shots, policy, args.iterations)
    if args.json:
        print(json.dumps(output, indent=2))
        return 0
    print(f"\nACD decision: {output['operators']} operators ({args.agents}), "
          f"{output['skills']} skills, {args.calls:,} waiting calls, "
          f"{args.iterations} decisions per load")
    print(f"{'load':<18}{'sort p50':>10}{'sort p99':>10}{'core p50':>10}{'core p99':>10}"
          f"{'x p50':>8}{'x p99':>8}{'assigned':>10}  verdict (core p99 < 1 ms)")
    for label, r in output["loads"].items():
        print(f"{label:<18}{r['baseline']['p50_us']:>10.0f}{r['baseline']['p99_us']:>10.0f}"
              f"{r['core']['p50_us']:>10.0f}{r['core']['p99_us']:>10.0f}"
              f"{r['p50_ratio']:>8.2f}{r['p99_ratio']:>8.2f}"
              f"{r['assignments_per_decision']:>10.1f}  {'ok' if r['goal_met'] else 'OVER'}")
    print("times in microseconds; sort (the baseline) = the calls sorted by priority, then "
          "arrival;\ncore = acd.decision.decide; x = core / sort")
    return 0


if __name__ == "__main__":
    sys.exit(main())
