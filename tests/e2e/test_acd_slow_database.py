"""A slow database never slows routing: with the call records locked by another session of
PostgreSQL (every screen-pop lookup runs into its deadline), a burst of callers is taken in by
the ACD and each caller's operator rings while screen-pop lookups are still running (shown by
order, not by a stopwatch); the screen pop follows when the records answer.

Callers go straight to the queue (no IVR lines), so the burst reaches the ACD within a second.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis

from acd.ami.client import AmiClient
from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline
from .test_acd import operators

pytestmark = pytest.mark.e2e
DATABASE = "postgresql"
SETTINGS = {"acd_wrap_up_s": 1.0, "acd_ring_timeout_s": 10.0, "acd_max_queue": 100,
            "ivr_lines": 0}
OPERATORS = ["op06", "op08", "op10", "op12", "op13", "op14", "op18", "op19", "op22", "op29"]
CALLERS = len(OPERATORS)


def lock_the_calls(url: str) -> psycopg.Connection[Any]:
    """Another session holding the call records exclusively: nobody reads or writes them."""
    locker = psycopg.connect(url.replace("+psycopg", ""))
    locker.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
    return locker


def release(locker: psycopg.Connection[Any]) -> None:
    locker.rollback()
    locker.close()


def rung_at(hotline: Hotline) -> dict[str, float]:
    """When the ACD rang an operator for each call (the first time), from the controller log."""
    found: dict[str, float] = {}
    for line in hotline.controller_log().splitlines():
        match = re.search(r"ACD: ringing op\d+ for call (\S+)", line)
        if match:
            at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            found.setdefault(match[1], at)
    return found


async def lookups_not_ended(settings: Any, calls: list[str]) -> list[str]:
    """The calls whose screen-pop lookup has not ended yet (it clears ``pop_until``)."""
    redis = Redis(**settings.redis_connection())
    try:
        until_of = [await redis.hget(f"acd:call:{call}", "pop_until") for call in calls]
    finally:
        await redis.aclose()
    return [call for call, pop in zip(calls, until_of, strict=True)
            if pop is not None and float(pop) > 0]


async def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


async def test_a_burst_is_routed_at_once_while_the_records_are_locked(hotline: Hotline) -> None:
    settings = hotline.settings
    joined: dict[str, float] = {}
    fallbacks: list[str] = []

    def watch(message: Any) -> None:
        if message.name != "UserEvent":
            return
        if message.get("UserEvent") == "AcdJoin":
            joined.setdefault(message.get("Uniqueid", ""), time.time())
        elif message.get("UserEvent") == "HotlineFallbackQueue":
            fallbacks.append(message.get("Reason", ""))

    ami = AmiClient("127.0.0.1", settings.ami_port, settings.ami_username, settings.ami_secret,
                    on_event=watch, events="user")
    await ami.start()
    await ami.wait_connected(10)
    plan = CallPlan(number=settings.hotline_number, keys="", caller="0909666000",
                    count=CALLERS, vary_caller=True, max_call_s=120)
    try:
        with operators(hotline, talk_s=2.0, wait_s=300, **{name: "now" for name in OPERATORS}):
            locker = lock_the_calls(settings.database_url)
            try:
                callers = asyncio.ensure_future(asyncio.to_thread(
                    place, plan, "127.0.0.1", settings.sip_port))
                await until(lambda: len(joined) == CALLERS and set(joined) <= set(
                    rung_at(hotline)), 60, "every caller joined and rung for")
                # the proof is in the order: callers were rung while their screen-pop lookups
                # (four at a time, each up to its 1 s deadline against the lock) had not all
                # ended, so no ring waited for the records
                looking_up = await lookups_not_ended(settings, list(joined))
            finally:
                release(locker)
            await callers
    finally:
        await ami.close()
    rung = rung_at(hotline)
    delays = sorted(rung[call] - joined[call] for call in joined)
    print(f"join to ring with the records locked: median {delays[len(delays) // 2]:.2f} s, "
          f"longest {delays[-1]:.2f} s ({CALLERS} callers at once)")
    assert not fallbacks, f"callers fell back to app_queue: {fallbacks}"
    assert looking_up, "every lookup had ended before the last caller was rung"
    print(f"lookups not ended when every caller had been rung: {len(looking_up)} of {CALLERS}")
    records = await asyncio.to_thread(wait_for_records, settings,
                                      [plan.call_id(n) for n in range(1, CALLERS + 1)], 60)
    assert all(r is not None and r["operator"] in OPERATORS for r in records), records
