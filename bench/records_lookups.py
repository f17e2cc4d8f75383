"""Lookup latency of the customer-care records against a primary-key fetch, in one run.

    .venv/bin/python -m bench.records_lookups                       # 200k customers, SQLite + PostgreSQL
    .venv/bin/python -m bench.records_lookups --customers 2500000   # the city (generation takes minutes)
    .venv/bin/python -m bench.records_lookups --engines sqlite --iterations 5000 --json

For each engine it measures, interleaved in the same loop, the primary-key fetch of one customer
row (the baseline) and every lookup the IVR and the operators use, on random keys; then prints
p50 and p99 per lookup and their ratios to the baseline (goal: within 3x, p99 under 5 ms in
process). It also measures the same lookup through the RecordsStore's bounded thread pool from
asyncio (what a live call pays), and, when it generates the data, the generation rate and peak
memory. The SQLite file is kept under var/bench and reused; PostgreSQL runs in a private cluster
started for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hotline.config import PROJECT_ROOT
from records import lookups
from records.database import make_engine, make_sessions
from records.models import Customer, CustomerPhone, Request
from records.results import CustomerInfo
from records.store import RecordsStore

GOAL_RATIO = 3.0
GOAL_P99_MS = 5.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample_keys(session: Session, count: int, rng: random.Random) -> dict[str, list[Any]]:
    top = session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 1
    ids = [rng.randint(1, top) for _ in range(count)]
    rows = session.execute(select(Customer.id, Customer.code, Customer.area, Customer.feeder)
                           .where(Customer.id.in_(ids[:2000]))).all()
    phones = list(session.scalars(select(CustomerPhone.phone).where(
        CustomerPhone.customer_id.in_(ids[:2000]))))
    numbers = list(session.scalars(select(Request.number).limit(2000)))
    infos = [CustomerInfo(r.id, r.code, "", "", "", "", r.area, r.feeder) for r in rows]
    return {"ids": [r.id for r in rows], "codes": [r.code for r in rows], "phones": phones,
            "numbers": numbers or ["12345674"], "infos": infos,
            "callers": phones}


def queries(keys: dict[str, list[Any]], rng: random.Random
            ) -> dict[str, Callable[[Session], object]]:
    pick = rng.choice
    by_id = select(Customer.code).where(Customer.id == bindparam("id"))  # built once, as ours
    return {
        "primary key (baseline)": lambda s: s.execute(by_id, {"id": pick(keys["ids"])}).first(),
        "customer by code": lambda s: lookups.customer_by_code(s, pick(keys["codes"])),
        "customers by calling number": lambda s: lookups.customers_by_phone(
            s, pick(keys["phones"])),
        "latest bill + unpaid total": lambda s: lookups.bill_status(s, pick(keys["ids"])),
        "planned outages, 7 days": lambda s: lookups.planned_outages(s, pick(keys["infos"]), 7),
        "request by number": lambda s: lookups.request_by_number(s, pick(keys["numbers"])),
        "screen pop (calls + open requests)": lambda s: lookups.screen_pop(
            s, pick(keys["callers"]), pick(keys["ids"])),
    }


def measure(url: str, iterations: int, seed: int) -> dict[str, dict[str, float]]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    rng = random.Random(seed)
    with sessions() as session:
        keys = sample_keys(session, 5000, rng)
        work = queries(keys, rng)
        samples: dict[str, list[float]] = {name: [] for name in work}
        names = list(work)
        for name in names:  # warm-up
            for _ in range(50):
                work[name](session)
        for i in range(iterations):
            order = names[i % len(names):] + names[: i % len(names)]  # rotate: spread noise
            for name in order:
                started = time.perf_counter_ns()
                work[name](session)
                samples[name].append((time.perf_counter_ns() - started) / 1000)
    pool_base, pool = asyncio.run(_through_the_pool(sessions, keys, iterations // 2, rng))
    engine.dispose()
    result = {}
    for group, base in ((samples, samples["primary key (baseline)"]),
                        ({"primary key, via the store's pool": pool_base,
                          "customer by code, via the store's pool": pool}, pool_base)):
        for name, values in group.items():
            result[name] = {"p50_us": percentile(values, 0.5),
                            "p99_us": percentile(values, 0.99),
                            "p50_ratio": percentile(values, 0.5) / percentile(base, 0.5),
                            "p99_ratio": percentile(values, 0.99) / percentile(base, 0.99)}
    return result


async def _through_the_pool(sessions: Any, keys: dict[str, list[Any]], iterations: int,
                            rng: random.Random) -> tuple[list[float], list[float]]:
    """What a live call pays: the lookup through the bounded pool from the event loop, against
    a primary-key fetch through the same pool (interleaved)."""
    store = RecordsStore(sessions, Path(tempfile.gettempdir()) / "bench-records-spool")  # lookups only
    by_id = select(Customer.code).where(Customer.id == bindparam("id"))
    base, values = [], []
    for _ in range(iterations):
        code, row = rng.choice(keys["codes"]), rng.choice(keys["ids"])
        started = time.perf_counter_ns()
        await store.run(lambda s, row=row: s.execute(by_id, {"id": row}).first(), 5)
        base.append((time.perf_counter_ns() - started) / 1000)
        started = time.perf_counter_ns()
        await store.lookup(lambda s, code=code: lookups.customer_by_code(s, code))
        values.append((time.perf_counter_ns() - started) / 1000)
    await store.shutdown()
    return base, values


def sqlite_url(customers: int, data: Path) -> tuple[str, object | None]:
    from records.datagen import generate

    path = data / f"records-{customers}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url, None
    data.mkdir(parents=True, exist_ok=True)
    partial = data / f"records-{customers}.partial.db"
    partial.unlink(missing_ok=True)
    report = generate(f"sqlite:///{partial}", customers)
    partial.rename(path)
    return url, report


def postgres_url(customers: int) -> tuple[str, object, Callable[[], None]]:
    sys.path.insert(0, str(PROJECT_ROOT))
    from records.datagen import generate
    from tests.databases import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    cluster.execute('CREATE DATABASE "bench"')
    url = cluster.url("bench")
    report = generate(url, customers)
    return url, report, cluster.stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "var" / "bench")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    output: dict[str, Any] = {"customers": args.customers, "engines": {}}
    for engine in args.engines.split(","):
        stop: Callable[[], None] = lambda: None
        if engine == "sqlite":
            url, report = sqlite_url(args.customers, args.data)
        else:
            url, report, stop = postgres_url(args.customers)
        try:
            print(f"[bench] {engine}: measuring {args.iterations} rounds", file=sys.stderr)
            results = measure(url, args.iterations, args.seed)
        finally:
            stop()
        output["engines"][engine] = {
            "lookups": results,
            "generation": None if report is None else {
                "rows_per_s": getattr(report, "rows_per_second", None),
                "seconds": getattr(report, "seconds", None),
                "peak_rss_mb": getattr(report, "peak_rss_mb", None)}}
    if args.json:
        print(json.dumps(output, indent=2))
        return 0
    for engine, data in output["engines"].items():
        print(f"\n{engine}, {args.customers:,} customers, {args.iterations} rounds")
        print(f"{'lookup':<40}{'p50 us':>9}{'p99 us':>9}{'x p50':>8}{'x p99':>8}  verdict")
        for name, r in data["lookups"].items():
            ok = r["p99_ratio"] <= GOAL_RATIO and r["p99_us"] / 1000 < GOAL_P99_MS
            verdict = "baseline" if name.startswith("primary") else ("ok" if ok else "OVER")
            if name.startswith("primary key, via"):
                print("  through the RecordsStore's thread pool, from asyncio:")
            print(f"{name:<40}{r['p50_us']:>9.0f}{r['p99_us']:>9.0f}{r['p50_ratio']:>8.2f}"
                  f"{r['p99_ratio']:>8.2f}  {verdict}")
        if data["generation"]:
            g = data["generation"]
            print(f"generation: {g['rows_per_s']:,.0f} rows/s in {g['seconds']:.0f} s, "
                  f"peak RSS {g['peak_rss_mb']:.0f} MB")
        all_p99 = [r["p99_us"] for n, r in data["lookups"].items()]
        print(f"median of p99 over lookups: {statistics.median(all_p99):.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
