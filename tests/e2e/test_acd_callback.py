"""A waiting caller presses 1 to be called back: they hang up but keep their place; when their
turn comes the operator's leg rings first, then the caller is called back (through the carrier,
here a SIPp phone), and every attempt lands in the call record."""

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
            "acd_ring_timeout_s": 8.0}


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
