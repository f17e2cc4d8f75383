"""Faults under traffic: Redis restarted with callers waiting. Real SIPp callers and
operators, real Asterisk, Redis and records.

What must hold: every caller reaches an operator and leaves exactly one record, the statistics
survive.
"""

from __future__ import annotations

import time

import pytest

from hotline import processes
from hotline.sipcall import wait_for_records

from .conftest import Hotline
from .test_acd import agent, operators
from .test_acd_routing import in_background, waiting

pytestmark = pytest.mark.e2e
SETTINGS = {"acd_wrap_up_s": 1.0, "acd_ring_timeout_s": 8.0, "acd_max_queue": 400,
            "ivr_lines": 0}  # callers go straight to the queue: the faults are the ACD's
OPERATORS = ["op03", "op05", "op06", "op08", "op10", "op12", "op13", "op18", "op19", "op22"]


def all_free(hotline: Hotline, names: list[str], timeout: float = 60) -> None:
    try:
        hotline.wait_until(lambda: all(agent(hotline, op).get("state") == "available"
                                       for op in names), timeout, "every operator free")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {[agent(hotline, op) for op in names]}") from None


def test_redis_restarted_with_callers_waiting_serves_them_all_and_keeps_the_statistics(
        hotline: Hotline) -> None:
    settings = hotline.settings
    before = processes.controller_request(settings, "acd")["stats"]["skills"].get("general", {})
    with operators(hotline, talk_s=1.0, wait_s=600, **{op: "now" for op in OPERATORS[:4]}):
        for op in OPERATORS[:4]:
            processes.controller_request(settings, f"agent {op} pause")
        call, thread = in_background(hotline, keys="", caller="0909666", vary_caller=True,
                                     count=20)
        hotline.wait_until(lambda: waiting(hotline) == 20, 40, "20 callers waiting")
        processes.stop_redis(settings)
        processes.start_redis(settings)
        restarted = time.monotonic()
        for op in OPERATORS[:4]:
            answer = processes.controller_request(settings, f"agent {op} unpause")
            assert answer.get("state") == "available", answer
        thread.join(240)
        all_free(hotline, OPERATORS[:4])
    records = wait_for_records(settings, [call.call_id(n) for n in range(1, 21)], 60)
    after = processes.controller_request(settings, "acd")["stats"]["skills"]["general"]
    served = [r for r in records if r and r["operator"]]
    print(f"\nRedis restarted with 20 callers waiting: {len(served)} served, the last "
          f"{time.monotonic() - restarted:.0f} s after the restart; offered "
          f"{before.get('offered', 0)} -> {after.get('offered')}, answered "
          f"{before.get('answered', 0)} -> {after.get('answered')}")
    assert len(served) == 20, f"{20 - len(served)} of the waiting callers were not served"
    assert all(hotline.count_records(r["sip_call_id"]) == 1 for r in served)
    assert after["offered"] >= before.get("offered", 0) + 20
    assert after["answered"] >= before.get("answered", 0) + 20
