"""A waiting caller presses 1 to be called back: they hang up but keep their place; when their
turn comes the operator's leg rings first, then the caller is called back (through the carrier,
here a SIPp phone), and every attempt lands in the call record. No toll fraud: only numbers of
the national plan are offered a callback, each at most ``callbacks_per_hour`` times an hour,
and a refused number is never dialled."""

from __future__ import annotations

import re

import pytest

from hotline import processes
from hotline.config import free_port
from hotline.sipagent import SippCallee
from hotline.sipcall import wait_for_records

from .conftest import Hotline
from .test_acd import operators
from .test_acd_routing import in_background, log_times, waiting

pytestmark = pytest.mark.e2e
CALLEE_PORT = free_port(0, "127.0.0.1", 2)
SETTINGS = {"callback_trunk": f"127.0.0.1:{CALLEE_PORT}", "acd_wrap_up_s": 3.0,
            "acd_ring_timeout_s": 8.0, "callbacks_per_hour": 1}


def test_a_callback_keeps_the_callers_place(hotline: Hotline) -> None:
    callee = SippCallee(CALLEE_PORT, talk_s=None, wait_s=120)
    callee.start()
    try:
        with operators(hotline, op08="now"):
            processes.controller_request(hotline.settings, "agent op08 pause")
            # A asks for a callback (1 while on hold) and hangs up; B waits on hold after A
            first, first_thread = in_background(hotline, keys="0 1", caller="0909777001",
                                                delay_ms=6000, gap_ms=6000)
            first_thread.join()
            second, second_thread = in_background(hotline, keys="0", caller="0909777002",
                                                  delay_ms=6000)
            hotline.wait_until(lambda: waiting(hotline) == 2, 40, "both callers in the queue")
            processes.controller_request(hotline.settings, "agent op08 unpause")
            second_thread.join()
    finally:
        callee.stop()
    called_back, on_hold = wait_for_records(hotline.settings,
                                            [first.call_id(1), second.call_id(1)], 40)
    assert called_back is not None and on_hold is not None
    assert called_back["queue_status"] == "CALLBACK"
    assert called_back["path"][-2:] == [
        {"event": "callback_requested"},
        {"event": "callback_attempt", "attempt": 1, "operator": "op08", "status": "ANSWER"}]
    assert called_back["operator"] == "op08" and on_hold["operator"] == "op08"
    first_id, second_id = called_back["call_id"], on_hold["call_id"]
    back = log_times(hotline, f"called back by op08.*|calling back the caller of call "
                              f"{re.escape(first_id)}")[0]
    answered = log_times(hotline, f"op08 answered call {re.escape(second_id)}")[-1]
    assert back < answered  # the caller who hung up was served first: the place was kept


def test_only_national_numbers_are_called_back_each_within_its_limit(hotline: Hotline) -> None:
    settings = hotline.settings
    callee = SippCallee(CALLEE_PORT, talk_s=None, wait_s=120)
    callee.start()
    try:
        with operators(hotline, op08="now"):
            processes.controller_request(settings, "agent op08 pause")
            # the +84 form of a mobile: offered, and it asks for the callback
            allowed, allowed_thread = in_background(hotline, keys="0 1", caller="+84909777003",
                                                    delay_ms=6000, gap_ms=8000)
            hotline.wait_until(lambda: waiting(hotline) == 1, 40, "the first caller waiting")
            # an international number, a premium-rate one, and the same mobile again while it
            # holds its one callback this hour: none is offered one; each presses 1 anyway
            refused = {caller: in_background(hotline, keys="0 1", caller=caller, delay_ms=6000,
                                             gap_ms=8000, hangup_after_s=4.0)
                       for caller in ("+442071234567", "19006789", "0909777003")}
            for _, thread in refused.values():
                thread.join()
            allowed_thread.join()
            hotline.wait_until(lambda: waiting(hotline) == 1, 20, "only the callback waiting")
            processes.controller_request(settings, "agent op08 unpause")
            (called_back,) = wait_for_records(settings, [allowed.call_id(1)], 10)
            assert called_back is not None

            def answered() -> bool:
                records = hotline.records_where(sip_call_id=allowed.call_id(1))
                return any(e.get("event") == "callback_attempt" for r in records
                           for e in r["path"])

            hotline.wait_until(answered, 60, "the callback placed")
            # the carrier was asked for one number only: the national form of +84909777003
            assert callee.dialled() == ["0909777003"]
    finally:
        callee.stop()
    records = wait_for_records(settings, [plan.call_id(1) for plan, _ in refused.values()], 30)
    reasons = {}
    for caller, record in zip(refused, records):
        assert record is not None
        assert record["queue_status"] != "CALLBACK", caller  # the 1 key did nothing
        assert {"event": "callback_requested"} not in record["path"], caller
        reasons[caller] = [e["reason"] for e in record["path"]
                           if e.get("event") == "callback_refused"]
    assert reasons == {"+442071234567": ["not_national"], "19006789": ["not_national"],
                       "0909777003": ["limit"]}
    stats = processes.controller_request(settings, "acd")["stats"]["skills"]["general"]
    assert stats["callback_refused_not_national"] >= 2 and stats["callback_refused_limit"] >= 1
    log = hotline.controller_log()
    assert "no callback to '+442071234567' (not a number of the national plan)" in log
    assert "no callback to '0909777003' (its limit of 1 an hour is reached)" in log
