"""The fault scenario of the records database going away in the middle of traffic, for the
SQLite and the PostgreSQL test modules: callers keep arriving every few seconds, three operators
answer, and the database is unreachable for ``outage_s`` seconds. While it is, callers whose
service needs it hear the apology and reach an operator; no silence on their line comes from a
record write (the answer, the replies after their keys, the hand-off back to the dialplan);
afterwards every call has exactly one record, complete."""

from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hotline.sipcall import CallPlan, place, wait_for_records
from records.demo import DEMO

from .conftest import Hotline, steps
from .linewatch import LineWatch, Silence
from .test_acd import operators

SETTINGS = {"acd_wrap_up_s": 1.0, "acd_ring_timeout_s": 8.0}
OPERATORS = {"op03": "now", "op05": "now", "op06": "now"}
#: the prompts that follow a lookup: the silence before them is the lookup's (1 s deadline)
AFTER_LOOKUP = {"main_menu", "records_unavailable", "request_created", "request_status_is",
                "request_not_found", "customer_not_found"}
LOOKUP_DEADLINE_S = 1.0
WRITE_SILENCE_LIMIT_S = 1.0
# from the answer to the first prompt: Asterisk's own wait for media (up to 0.5 s) and the
# dialplan's steps before the AGI, where no record write can reach (the IVR's part of it is
# the "agi" silence, held to the write limit); on a loaded machine it alone took 3.8 s once,
# for a caller outside the outage. Held to the hotline's promise of no dead air instead.
ANSWER_SILENCE_LIMIT_S = 10.0


def record_writes(hotline: Hotline) -> dict[str, int]:
    """What ``hotline status`` says of the record writes (the controller's answer)."""
    return dict((hotline.status() or {}).get("records") or {})


def status_line(hotline: Hotline) -> str:
    """The records line of ``hotline status`` as a user sees it."""
    cli = Path(sys.executable).with_name("hotline")
    shown = subprocess.run([str(cli), "--runtime", str(hotline.settings.runtime), "status"],
                           check=False, capture_output=True, text=True, timeout=30).stdout
    return next((line for line in shown.splitlines() if line.startswith("records:")), shown)


def figures(silences: list[Silence]) -> str:
    if not silences:
        return "none"
    values = [s.seconds for s in silences]
    return f"max {max(values):.3f} s, median {statistics.median(values):.3f} s (n={len(values)})"


async def run_outage(hotline: Hotline, *, name: str, keys: str, outage_s: float,
                     take_down: Callable[[], Any], bring_back: Callable[[Any], None],
                     every_s: float = 2.5, lead_s: float = 8.0, tail_s: float = 6.0) -> None:
    """Calls with ``keys`` every ``every_s`` seconds from ``lead_s`` before the outage to
    ``tail_s`` after it; ``take_down()`` starts the outage (its result goes to
    ``bring_back``)."""
    settings = hotline.settings
    watch = LineWatch(settings)
    await watch.start()
    count = int((lead_s + outage_s + tail_s) / every_s)
    plans = [CallPlan(number=settings.hotline_number, keys=keys, caller=DEMO.caller_known,
                      delay_ms=6000, max_call_s=90) for _ in range(count)]
    seen = {"pending": 0, "spooled": 0}
    shown: list[str] = []

    phones = ThreadPoolExecutor(count, thread_name_prefix="caller")  # one SIPp each

    async def call(n: int) -> None:
        await asyncio.sleep(n * every_s)  # the traffic's pace, not a synchronisation
        await asyncio.get_running_loop().run_in_executor(
            phones, place, plans[n], "127.0.0.1", settings.sip_port)

    drained_s: list[float] = []

    async def outage() -> None:
        await asyncio.sleep(lead_s)  # the scenario's timing: calls before the outage
        down = await asyncio.to_thread(take_down)
        began = time.monotonic()
        try:
            while time.monotonic() - began < outage_s:
                writes = await asyncio.to_thread(record_writes, hotline)
                seen.update({key: max(was, writes.get(key, 0)) for key, was in seen.items()})
                if writes.get("spooled") and not shown:
                    shown.append(await asyncio.to_thread(status_line, hotline))
                await asyncio.sleep(0.5)  # sampling what hotline status shows
        finally:
            await asyncio.to_thread(bring_back, down)
        back = time.monotonic()
        print(f"\n{name}: the database was back after {back - began:.1f} s")
        await asyncio.to_thread(hotline.wait_until, lambda: record_writes(hotline).get(
            "spooled") == 0, 60, "the spool replayed")
        drained_s.append(time.monotonic() - back)

    try:
        with operators(hotline, talk_s=1.5, wait_s=600, **OPERATORS):
            await asyncio.gather(outage(), *(call(n) for n in range(count)))
            await asyncio.to_thread(
                hotline.wait_until, lambda: record_writes(hotline) == {
                    "pending": 0, "spooled": 0, "rejected": 0}, 90, "every record write landed")
    finally:
        phones.shutdown()
        await watch.close()
    sip_ids = [plan.call_id(1) for plan in plans]
    records = await asyncio.to_thread(wait_for_records, settings, sip_ids, 60)
    missing = [sip for sip, record in zip(sip_ids, records) if record is None]
    assert not missing, f"calls without a finished record: {missing}"
    counts = {sip: hotline.count_records(sip) for sip in sip_ids}
    assert all(n == 1 for n in counts.values()), f"records per call: {counts}"
    apologised = [r for r in records if r and "records_unavailable" in steps(r)]
    for record in records:
        assert record is not None
        ivr = steps(record)
        if record in apologised:  # the apology, then an operator; the record has it all
            assert record["outcome"] == "queued" and record["operator"], record
            assert ivr[ivr.index("records_unavailable") + 1:] == ["operator"], ivr
        else:  # served by the menu, with the database there
            assert record["outcome"] == "completed", record
            assert ivr[-1] == "served_goodbye", ivr
    assert len(apologised) >= max(2, int(outage_s / every_s) - 2), \
        f"only {len(apologised)} callers met the outage"
    assert seen["spooled"] > 0, "no record write ever went to the spool"
    assert shown and re.fullmatch(r"records: +\d+ call-record writes pending, [1-9]\d* in the "
                                  r"spool, 0 rejected", shown[0]), shown

    call_ids = {str(r["call_id"]) for r in records if r}
    during = {str(r["call_id"]) for r in apologised}
    silences = watch.silences(call_ids)
    answer = [s for s in silences if s.kind == "answer"]
    agi = [s for s in silences if s.kind == "agi"]
    handoff = [s for s in silences if s.kind == "handoff"]
    replies = [s for s in silences if s.kind == "reply" and s.before not in AFTER_LOOKUP]
    lookups = [s for s in silences if s.kind == "reply" and s.before in AFTER_LOOKUP]
    status = (hotline.status() or {}).get("records")
    print(f"{name}: {len(records)} calls, {len(apologised)} met the {outage_s:g} s outage "
          f"(apology, then an operator); at most {seen['pending']} record writes pending and "
          f"{seen['spooled']} in the spool during it; the spool replayed {drained_s[0]:.1f} s "
          f"after the database was back; one record per call (hotline status: {status})")
    print(f"{name}: silences on the line, all calls: answer to first prompt {figures(answer)}; "
          f"dialplan to IVR's first prompt {figures(agi)}; "
          f"key or prompt to next prompt {figures(replies)}; IVR to dialplan "
          f"{figures(handoff)}; after a lookup {figures(lookups)}")
    print(f"{name}: the same, callers during the outage: answer "
          f"{figures([s for s in answer if s.call_id in during])}; dialplan to IVR's first "
          f"prompt {figures([s for s in agi if s.call_id in during])}; replies "
          f"{figures([s for s in replies if s.call_id in during])}; IVR to dialplan "
          f"{figures([s for s in handoff if s.call_id in during])}; after a lookup "
          f"{figures([s for s in lookups if s.call_id in during])}")
    assert len(answer) == len(agi) == len(records) and len(handoff) >= len(records)
    for silence in agi + replies + handoff:
        assert silence.seconds < WRITE_SILENCE_LIMIT_S, silence
    for silence in answer:
        assert silence.seconds < ANSWER_SILENCE_LIMIT_S, silence
    for silence in lookups:
        assert silence.seconds < LOOKUP_DEADLINE_S + 0.5, silence
