"""The controller's AMI connection cut again and again during traffic (the fault suite of
issue 9), end to end on Asterisk 16 and 22 with Redis and the database.

The cut is a real one: the kernel destroys the controller's TCP connection to Asterisk's AMI
(``ss -K``, root only), so both ends see it reset at once, as with a network fault or an
Asterisk restart of the manager. Callers keep arriving and asking for an operator; three SIPp
operators answer. What must hold, measured on Asterisk's own events (``timeline.py``, a second
AMI connection that is never cut): every caller reaches an operator (the ACD's, or Asterisk's
own queue when the cut hid them from the ACD too long), no operator's phone ever carries two
calls at once, no caller dials two operators at once, and every call has exactly one record.
10 cuts in ``make test``, 50 in ``make soak``. Each run prints its figures.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import threading
import time
from collections import defaultdict

import pytest

from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline
from .test_acd import agent, operators
from .timeline import AmiTimeline, Event

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    os.geteuid() != 0, reason="cutting a TCP connection (ss -K) needs root")]
# short wrap-ups keep the three operators busy; three missed offers in a row pause one (the
# default): a cut must never count as an operator's miss
SETTINGS = {"acd_ring_timeout_s": 10.0, "acd_wrap_up_s": 1.0}
CUT_EVERY_S = 1.5
WAVE_EVERY_S = 4.0   # three callers at a time


def controller_ami_ports(pid: int, ami_port: int) -> list[int]:
    """The local ports of the controller's connections to the AMI port."""
    shown = subprocess.run(["ss", "-tnpH", "state", "established", "dport", "=",
                            f":{ami_port}"], capture_output=True, text=True, check=True)
    return [int(m[1]) for line in shown.stdout.splitlines()
            if f"pid={pid}," in line and (m := re.search(r"127\.0\.0\.1:(\d+)\s", line))]


def cut(ami_port: int, local_port: int) -> None:
    subprocess.run(["ss", "-K", "dst", "127.0.0.1", "dport", "=", f":{ami_port}", "sport",
                    "=", f":{local_port}"], capture_output=True, check=True)


def overlaps(intervals: list[tuple[float, float]]) -> int:
    """How many of these (start, end) intervals begin before the one before them ended."""
    ordered = sorted(intervals)
    return sum(1 for a, b in itertools.pairwise(ordered) if b[0] < a[1])


def phone_calls(events: list[Event]) -> dict[str, list[tuple[float, float]]]:
    """Each operator phone's channels, (created, hung up), from the timeline."""
    born: dict[str, tuple[str, float]] = {}
    calls: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t, name, headers in events:
        found = re.fullmatch(r"PJSIP/(op\d\d)-[0-9a-f]+", headers.get("Channel", ""))
        if not found:
            continue
        if name == "Newchannel":
            born[headers.get("Uniqueid", "")] = (found[1], t)
        elif name == "Hangup" and headers.get("Uniqueid", "") in born:
            phone, start = born.pop(headers["Uniqueid"])
            calls[phone].append((start, t))
    for phone, start in born.values():  # still up: open-ended
        calls[phone].append((start, float("inf")))
    return calls


def dials(events: list[Event]) -> dict[str, list[tuple[float, float]]]:
    """Each caller channel's dials (DialBegin .. DialEnd), from the timeline."""
    begun: dict[tuple[str, str], float] = {}
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t, name, headers in events:
        key = (headers.get("Uniqueid", ""), headers.get("DestUniqueid", ""))
        if not key[0]:
            continue  # an Originate's dial has no calling channel
        if name == "DialBegin":
            begun[key] = t
        elif name == "DialEnd" and key in begun:
            found[key[0]].append((begun.pop(key), t))
    for (caller, _), start in begun.items():
        found[caller].append((start, float("inf")))
    return found


@pytest.mark.parametrize("cuts", [10, pytest.param(50, marks=pytest.mark.soak)])
def test_the_ami_connection_cut_during_traffic_strands_nobody_and_doubles_nothing(
        hotline: Hotline, cuts: int) -> None:
    settings = hotline.settings
    pid = hotline.controller_pid()
    assert pid
    connected_before = hotline.controller_log().count("AMI connected")
    plans: list[CallPlan] = []
    threads: list[threading.Thread] = []
    failures: list[BaseException] = []

    def wave(n: int) -> None:
        plan = CallPlan(number=settings.hotline_number, keys="0", caller=f"09095{n:03d}00",
                        count=3, vary_caller=True, delay_ms=3000, max_call_s=240)
        plans.append(plan)

        def run() -> None:
            try:
                place(plan, "127.0.0.1", settings.sip_port)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failures.append(exc)
        threads.append(threading.Thread(target=run))
        threads[-1].start()

    with operators(hotline, talk_s=3.0, wait_s=600, op12="now", op13="now", op14="now"), \
            AmiTimeline(settings) as timeline:
        made, started = 0, time.monotonic()
        next_wave = started
        while made < cuts:
            now = time.monotonic()
            if now >= next_wave:
                wave(len(plans))
                next_wave += WAVE_EVERY_S
            ports = controller_ami_ports(pid, settings.ami_port)
            for port in ports:
                cut(settings.ami_port, port)
            made += 1 if ports else 0
            time.sleep(CUT_EVERY_S)  # the pace of the fault, not a wait for anything
        cutting_s = time.monotonic() - started
        for thread in threads:
            thread.join(300)
        assert not failures, failures
        sip_ids = [plan.call_id(n) for plan in plans for n in (1, 2, 3)]
        records = wait_for_records(settings, sip_ids, 120)
        hotline.wait_until(lambda: all(len(calls) and calls[-1][1] != float("inf")
                                       for calls in phone_calls(timeline.events).values()),
                           30, "every operator's phone hung up")
        events = list(timeline.events)
        states = {name: agent(hotline, name).get("state") for name in ("op12", "op13", "op14")}
    reconnects = hotline.controller_log().count("AMI connected") - connected_before
    assert hotline.controller_pid() == pid, "the controller was restarted"
    by_path: dict[str, int] = defaultdict(int)
    unserved = []
    for sip_id, record in zip(sip_ids, records, strict=True):
        assert record is not None, f"no finished record for {sip_id}"
        assert hotline.count_records(sip_id) == 1, sip_id
        fallback = any(name == "UserEvent" and h.get("UserEvent") == "HotlineFallbackQueue"
                       for _, name, h in timeline_of(events, str(record["call_id"])))
        by_path["fallback queue" if fallback else "ACD"] += 1
        if not record["operator"]:
            unserved.append(record)
    double_calls = {phone: overlaps(calls) for phone, calls in phone_calls(events).items()}
    double_dials = sum(overlaps(found) for found in dials(events).values())
    print(f"\nAMI cut {made} times in {cutting_s:.0f} s ({hotline.flavour}); the controller "
          f"reconnected {reconnects} times; {len(sip_ids)} callers: served by {dict(by_path)}, "
          f"{len(unserved)} without an operator; calls per phone "
          f"{ {p: len(c) for p, c in sorted(phone_calls(events).items())} }, "
          f"overlapping calls on one phone {sum(double_calls.values())}, callers dialing two "
          f"operators at once {double_dials}")
    assert not unserved, unserved
    assert set(states.values()) <= {"available", "wrap_up"}, states  # nobody paused
    assert sum(double_calls.values()) == 0, double_calls
    assert double_dials == 0
    assert reconnects >= made


def timeline_of(events: list[Event], uniqueid: str) -> list[Event]:
    return [e for e in events if e[2].get("Uniqueid") == uniqueid]
