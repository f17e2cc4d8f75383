"""Who gets which caller: skills before idle time, priority before waiting time, the operator
who knows the caller, wrap-up before the next offer, auto-pause after unanswered offers, and
waiting callers surviving a controller killed with -9. SIPp operators, real Asterisk and Redis.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from redis import Redis

from acd.ami.client import AmiClient
from hotline import processes
from hotline.sipcall import CallPlan, place, wait_for_records
from records.demo import DEMO

from .conftest import Hotline
from .test_acd import agent, operators
from .timeline import AmiTimeline

pytestmark = pytest.mark.e2e
# the wrap-up outlasts a controller restart on a loaded machine (about 6 s with both cores busy)
SETTINGS = {"acd_ring_timeout_s": 5.0, "acd_wrap_up_s": 12.0, "acd_max_missed": 2}

HAZARD = {"keys": "3 1", "caller": DEMO.caller_known, "delay_ms": 6000, "gap_ms": 2500}
OPERATOR = {"keys": "0", "caller": DEMO.caller_unknown, "delay_ms": 6000}


def waiting(hotline: Hotline) -> int:
    return len((processes.controller_request(hotline.settings, "acd") or {}).get("waiting", []))


def in_background(hotline: Hotline, **plan: Any) -> tuple[CallPlan, threading.Thread]:
    call = CallPlan(number=hotline.settings.hotline_number, max_call_s=120, **plan)
    thread = threading.Thread(target=place, args=(call, "127.0.0.1", hotline.settings.sip_port))
    thread.start()
    return call, thread


def log_times(hotline: Hotline, pattern: str) -> list[datetime]:
    found = []
    for line in hotline.controller_log().splitlines():
        if re.search(pattern, line):
            found.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"))
    return found


def test_skill_match_beats_idle_time(hotline: Hotline) -> None:
    # op26 (outage 3) waits longest; op22 (outage 5) is the better match for a hazard
    with operators(hotline, op26="now", op22="now"):
        (record,) = hotline.call(**HAZARD, wait_s=40)
        assert record is not None and record["operator"] == "op22"


def test_a_priority_caller_jumps_ahead_and_wrap_up_delays_the_next_offer(
        hotline: Hotline) -> None:
    with operators(hotline, op18="now"):
        processes.controller_request(hotline.settings, "agent op18 pause")
        first, first_thread = in_background(hotline, **OPERATOR)
        hotline.wait_until(lambda: waiting(hotline) == 1, 30, "the first caller waiting")
        urgent, urgent_thread = in_background(hotline, **HAZARD)
        hotline.wait_until(lambda: waiting(hotline) == 2, 40, "the hazard caller waiting")
        processes.controller_request(hotline.settings, "agent op18 unpause")
        first_thread.join()
        urgent_thread.join()
    records = wait_for_records(hotline.settings, [first.call_id(1), urgent.call_id(1)], 40)
    assert all(r is not None and r["operator"] == "op18" for r in records)
    first_id, urgent_id = (r["call_id"] for r in records if r)  # type: ignore[index]
    answered = {m: log_times(hotline, f"op18 answered call {re.escape(m)}")[-1]
                for m in (first_id, urgent_id)}
    assert answered[urgent_id] < answered[first_id]  # priority 10 before the earlier caller
    rang_again = log_times(hotline, f"ringing op18 for call {re.escape(first_id)}")[-1]
    hung_up = answered[urgent_id]
    assert (rang_again - hung_up).total_seconds() >= 3.0 + SETTINGS["acd_wrap_up_s"] - 0.5


def test_the_operator_who_served_a_caller_last_gets_them_again(hotline: Hotline) -> None:
    with operators(hotline, op10="now"):
        (before,) = hotline.call(**OPERATOR, wait_s=40)
        assert before is not None and before["operator"] == "op10"
        hotline.wait_until(lambda: agent(hotline, "op10").get("state") == "available", 40,
                           "op10 after the wrap-up")
        with operators(hotline, op13="now"):  # a better match, idle now
            (again,) = hotline.call(**OPERATOR, wait_s=40)
    assert again is not None and again["operator"] == "op10"


def test_unanswered_offers_pause_the_operator_and_the_next_one_answers(
        hotline: Hotline) -> None:
    fresh = {**OPERATOR}
    with operators(hotline, op29="never", op32="now"):
        # callers no operator has served before (no sticky routing)
        (one,) = hotline.call(**{**fresh, "caller": "0909000222"}, wait_s=40)
        (two,) = hotline.call(**{**fresh, "caller": "0909000333"}, wait_s=40)
        state = agent(hotline, "op29")
    assert one is not None and one["operator"] == "op32"
    assert two is not None and two["operator"] == "op32"
    assert (state["state"], state["pause_reason"]) == ("paused", "no_answer")


def test_a_wrap_up_ends_on_time_after_its_controller_was_killed_with_9(
        hotline: Hotline) -> None:
    """The end of the wrap-up is in Redis with the operator's state: the restarted controller
    neither ends it early nor forgets it."""
    redis = Redis(**hotline.settings.redis_connection())
    try:
        with operators(hotline, op37="now"):
            call, thread = in_background(hotline, **{**OPERATOR, "caller": "0909000555"})
            hotline.wait_until(lambda: agent(hotline, "op37").get("state") == "wrap_up", 60,
                               "op37 in the wrap-up")
            hotline.kill_controller()
            # the hang-up, as stored by the controller that saw it, and the wrap-up time
            until = float(redis.hget("acd:agent:op37", "since") or 0) + SETTINGS["acd_wrap_up_s"]
            hotline.start_controller()
            restarted = time.time()
            assert restarted < until - 0.5, "the restart took longer than the wrap-up"
            available = hotline.wait_until(
                lambda: time.time() if agent(hotline, "op37").get("state") == "available"
                else None, 20, "op37 available after the wrap-up")
            thread.join()
    finally:
        redis.close()
    assert available >= until - 0.2, f"wrap-up ended {until - available:.1f} s early"
    assert available <= until + 4.0, f"wrap-up ended {available - until:.1f} s late"
    (record,) = wait_for_records(hotline.settings, [call.call_id(1)], 40)
    assert record is not None and record["operator"] == "op37"


def test_callers_keep_waiting_through_a_controller_killed_with_9(hotline: Hotline) -> None:
    with operators(hotline, op08="now"):
        processes.controller_request(hotline.settings, "agent op08 pause")
        call, thread = in_background(hotline, **OPERATOR)
        hotline.wait_until(lambda: waiting(hotline) == 1, 30, "the caller waiting")
        hotline.kill_controller()
        time.sleep(6)  # longer than an announcement step: the caller stays on hold music
        hotline.start_controller()
        processes.controller_request(hotline.settings, "agent op08 unpause")
        thread.join()
    (record,) = wait_for_records(hotline.settings, [call.call_id(1)], 40)
    assert record is not None and record["operator"] == "op08"
    assert hotline.count_records(call.call_id(1)) == 1


def originate(hotline: Hotline, channel: str, channel_id: str, seconds: int) -> None:
    """A call the ACD did not make: Asterisk rings ``channel``, which waits ``seconds`` once
    answered (the controller's AMI user, as a site's own tool would)."""
    settings = hotline.settings

    async def send() -> None:
        ami = AmiClient("127.0.0.1", settings.ami_port, settings.ami_username,
                        settings.ami_secret, events="off")
        await ami.start()
        try:
            await ami.wait_connected(15)
            await ami.action("Originate", [("Channel", channel), ("Application", "Wait"),
                                           ("Data", str(seconds)), ("Async", "true"),
                                           ("ChannelId", channel_id)])
        finally:
            await ami.close()

    asyncio.run(send())


def test_an_operator_on_a_call_the_acd_did_not_make_is_rung_only_once_it_ends(
        hotline: Hotline) -> None:
    """op12's phone is on another call (Asterisk's own queue, a call the operator placed): a
    caller waits until it ends and is then offered to op12, whose phone never rings twice at
    once and who misses no offer."""
    # the phone never hangs up first: Asterisk ends the other call after 20 s, the caller
    # (who asks for an operator about 8 s into it) 25 s after pressing 0
    with operators(hotline, talk_s=60.0, op12="now"), AmiTimeline(hotline.settings) as timeline:
        other = f"other-{time.monotonic_ns()}"
        originate(hotline, "PJSIP/op12", other, 20)
        hotline.wait_until(lambda: any(name == "Newstate" and h.get("ChannelStateDesc") == "Up"
                                       for _, name, h in timeline.of(other)), 20,
                           "op12 on the other call")
        (record,) = hotline.call(wait_s=90, hangup_after_s=25.0, **OPERATOR)
        joined = timeline.user_events("AcdJoin", str(record["call_id"])) if record else []
        other_ended = min((t for t, name, _ in timeline.of(other) if name == "Hangup"),
                          default=0.0)
        assert joined and joined[0][0] < other_ended, "the caller came after the other call"
        assert record is not None and record["operator"] == "op12", record
        rung = [t for t, name, h in timeline.of(str(record["call_id"]))
                if name == "DialBegin" and h.get("DestChannel", "").startswith("PJSIP/op12-")]
        print(f"\nop12 rung {len(rung)} time(s) for the caller, first "
              f"{rung[0] - other_ended:+.1f} s after its other call ended")
        assert len(rung) == 1 and rung[0] > other_ended, "op12 rung while on the other call"
        assert agent(hotline, "op12").get("missed_offers", 0) == 0
