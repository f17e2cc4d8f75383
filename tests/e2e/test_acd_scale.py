"""Two ACDs on one Redis and one Asterisk serve 200 simultaneous callers: every caller reaches an
operator exactly once and no operator ever has two calls at a time.

The second ACD runs in this test process (its own AMI connection and Redis client), beside the
hotline's controller: both see every caller join and both route; the Lua reservation decides.
"""

from __future__ import annotations

import asyncio
import collections
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from acd.agents import load_agents
from acd.ami.client import AmiClient
from acd.live import LiveState
from acd.service import AcdService, AcdSettings
from hotline import processes
from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline
from .test_acd import operators

pytestmark = pytest.mark.e2e
# every caller overflows straight to the queue: the test is about the ACD, not about SIPp
# sending 200 keypresses in the same second
SETTINGS = {"acd_wrap_up_s": 1.0, "acd_ring_timeout_s": 8.0, "acd_max_queue": 400,
            "ivr_lines": 0}
OPERATORS = ["op06", "op08", "op10", "op12", "op13", "op14", "op18", "op19", "op22", "op29",
             "op32", "op17"]


async def test_two_acds_never_give_an_operator_two_calls_under_200_callers(
        hotline: Hotline) -> None:
    settings = hotline.settings
    busy: dict[str, int] = collections.Counter()
    worst: dict[str, int] = collections.Counter()

    def watch(message: Any) -> None:  # every operator channel Asterisk creates or ends
        channel = message.get("Channel", "")
        if not channel.startswith("PJSIP/op"):
            return
        name = channel[6:].split("-", 1)[0]
        if message.name == "Newchannel":
            busy[name] += 1
            worst[name] = max(worst[name], busy[name])
        elif message.name == "Hangup":
            busy[name] -= 1

    second: AcdService | None = None

    def on_event(message: Any) -> None:
        watch(message)
        if second is not None:
            second.on_event(message)

    ami = AmiClient("127.0.0.1", settings.ami_port, settings.ami_username, settings.ami_secret,
                    on_event=on_event, events="call,user")
    redis = Redis(**settings.redis_connection())
    agents = load_agents(Path(settings.agents_file))
    by_second: set[str] = set()

    async def connected(call_id: str, agent_id: str, wait_s: float,
                        step: dict[str, Any] | None = None) -> None:
        by_second.add(call_id)

    second = AcdService(LiveState(redis), ami, lambda: agents, str(settings.sounds),
                        settings=AcdSettings(ring_timeout_s=8.0, wrap_up_s=1.0, max_queue=400),
                        on_connected=connected)
    await ami.start()
    await ami.wait_connected(10)
    second.start()
    # 200 different callers (no sticky routing between them), all within about a second
    plan = CallPlan(number=settings.hotline_number, keys="", caller="0909555", count=200,
                    vary_caller=True, max_call_s=300)
    try:
        started = time.monotonic()
        with operators(hotline, talk_s=1.0, wait_s=600, **{name: "now" for name in OPERATORS}):
            await asyncio.to_thread(place, plan, "127.0.0.1", settings.sip_port)
            print(f"200 callers served in {time.monotonic() - started:.1f} s")
    finally:
        await second.stop()
        await ami.close()
        await redis.aclose()
    records = await asyncio.to_thread(wait_for_records, settings,
                                      [plan.call_id(n) for n in range(1, 201)], 60)
    served = [r for r in records if r and r["operator"]]
    assert len(served) == 200, f"{200 - len(served)} callers never reached an operator"
    assert all(hotline.count_records(r["sip_call_id"]) == 1 for r in served)
    # the hotline's controller wrote the wait of each caller it connected (the second ACD here
    # has no records store); every call ended with the operator, none stayed on hold
    unrecorded = [r for r in served if r["queue_wait_s"] is None and r["call_id"] not in by_second]
    assert not unrecorded, f"no queue wait recorded: {unrecorded[:3]}"
    status = collections.Counter(r["queue_status"] for r in served)
    assert status == {"ANSWERED": 200}, status
    longest = max(datetime.fromisoformat(str(r["ended_at"]))
                  - datetime.fromisoformat(str(r["started_at"])) for r in served)
    assert longest.total_seconds() < 90, f"a caller stayed on the line {longest}"
    assert len(by_second) > 10, "the second ACD connected nobody: the race was not run"
    assert max(worst.values()) == 1, f"an operator had two calls at once: {dict(worst)}"
    stats = processes.controller_request(settings, "acd")["stats"]["skills"]["general"]
    assert stats["answered"] >= 200
