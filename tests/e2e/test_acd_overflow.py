"""Routing rules as admins write them in the operators file: requirements relax after the
configured wait; and overflow rules per queue: a caller on hold too long is called back in
their place; a full queue for one skill turns its next caller into a
callback while other queues go on; a skill nobody logged in has gets the announcement at once.
SIPp callers and operators, the carrier a SIPp phone, real Asterisk and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hotline import processes
from hotline.config import free_port
from hotline.sipagent import SippCallee
from hotline.sipcall import wait_for_records
from records.demo import DEMO

from . import amiwatch
from .conftest import Hotline
from .test_acd import operators
from .test_acd_routing import HAZARD, in_background, waiting

pytestmark = pytest.mark.e2e
CALLEE_PORT = free_port(0, "127.0.0.1", 2)
SETTINGS = {"callback_trunk": f"127.0.0.1:{CALLEE_PORT}", "acd_wrap_up_s": 2.0,
            "acd_ring_timeout_s": 8.0, "acd_announce_every_s": 5.0}


@contextlib.contextmanager
def rules(hotline: Hotline, text: str) -> Iterator[None]:
    """The operators file with these routing/queues sections, in force while the block runs."""
    path = Path(hotline.settings.agents_file)
    original = path.read_text(encoding="utf-8")

    def apply(content: str) -> None:
        before = hotline.controller_log().count("operators file reloaded")
        path.write_text(content, encoding="utf-8")
        hotline.wait_until(lambda: hotline.controller_log().count("operators file reloaded")
                           > before, 20, "the operators file reloaded")

    apply(re.sub(r"(?ms)^routing:.*?(?=^agents:)", text, original))
    try:
        yield
    finally:
        apply(original)


@contextlib.contextmanager
def carrier() -> Iterator[SippCallee]:
    callee = SippCallee(CALLEE_PORT, talk_s=None, wait_s=120)
    callee.start()
    try:
        yield callee
    finally:
        callee.stop()


def called_back(hotline: Hotline, sip_call_id: str) -> dict[str, Any]:
    """The record once its callback attempt is written."""
    def attempt() -> dict[str, Any] | None:
        (record,) = hotline.records_where(sip_call_id=sip_call_id)
        events = [step.get("event") for step in record["path"]]
        return record if "callback_attempt" in events else None
    return hotline.wait_until(attempt, 60, "the callback placed and recorded")


async def test_a_waiting_caller_hears_their_position_the_wait_and_the_callback_offer(
        hotline: Hotline) -> None:
    """What the caller's channel plays, as Asterisk reports it (AMI dialplan events)."""
    settings = hotline.settings
    heard: list[str] = []

    def on_event(message: Any) -> None:
        # Playback(<files>) in acd-wait's timeout step
        played = message.get("AppData", "")
        if message.name == "Newexten" and message.get("Application") == "Playback" \
                and "acd_position_is" in played:
            heard.append(played)

    ami = amiwatch.client(settings, on_event, "dialplan")
    await ami.start()
    try:
        await ami.wait_connected(10)
        with operators(hotline, op08="now"):
            processes.controller_request(settings, "agent op08 pause")
            call, thread = in_background(hotline, keys="0", caller="0909777301", delay_ms=6000)
            for _ in range(400):
                if len(heard) >= 2:
                    break
                await asyncio.sleep(0.1)
            processes.controller_request(settings, "agent op08 unpause")
            await asyncio.to_thread(thread.join)
    finally:
        await ami.close()
    assert len(heard) >= 2, "no position announcement played"  # and it repeats
    words = [Path(part).name for part in heard[0].split("&")]
    assert words[0] == "acd_position_is" and "acd_in_queue" in words
    assert "acd_wait_about" in words and words[-1] == "acd_callback_offer"
    assert all(f"{settings.sounds}/vi/" in part for part in heard[0].split("&"))
    (record,) = await asyncio.to_thread(wait_for_records, settings, [call.call_id(1)], 30)
    assert record is not None and record["operator"] == "op08"


def test_requirements_relax_after_the_configured_wait(hotline: Hotline) -> None:
    # at first a caller needs proficiency 4; after 8 s, 1 will do: op39 (general 2) takes it
    with rules(hotline, "routing:\n  min_proficiency: 4\n  relax: [{after: 8, "
                        "min_proficiency: 1}]\n"), operators(hotline, op39="now"):
        (record,) = hotline.call("0", caller="0909000666", delay_ms=6000, wait_s=60)
    assert record is not None and record["operator"] == "op39"
    assert record["queue_wait_s"] is not None and 7.5 <= record["queue_wait_s"] < 20


def test_a_caller_on_hold_too_long_is_called_back_in_their_place(hotline: Hotline) -> None:
    with rules(hotline, "queues:\n  general: {max_wait: 6, on_max_wait: callback}\n"), \
            carrier(), operators(hotline, op08="now"):
        processes.controller_request(hotline.settings, "agent op08 pause")
        (left,) = hotline.call("0", caller="0909777201", delay_ms=6000, wait_s=60)
        assert left is not None and left["queue_status"] == "CALLBACK"
        assert {"event": "callback_offered", "reason": "max_wait"} in left["path"]
        assert left["operator"] is None and waiting(hotline) == 1  # still in the queue
        processes.controller_request(hotline.settings, "agent op08 unpause")
        record = called_back(hotline, left["sip_call_id"])
    assert record["operator"] == "op08"
    assert record["path"][-1] == {"event": "callback_attempt", "attempt": 1,
                                  "operator": "op08", "status": "ANSWER"}
    on_hold = datetime.fromisoformat(str(left["ended_at"])) - datetime.fromisoformat(
        str(left["started_at"]))
    assert on_hold.total_seconds() < 40  # 6 s in the queue, the menu and the message


def test_a_full_queue_for_one_skill_turns_its_next_caller_into_a_callback(
        hotline: Hotline) -> None:
    with rules(hotline, "queues:\n  outage: {max_queue: 0, on_queue_full: callback}\n"), \
            carrier(), operators(hotline, op22="now"):
        processes.controller_request(hotline.settings, "agent op22 pause")
        general, thread = in_background(hotline, keys="0", caller=DEMO.caller_unknown,
                                        delay_ms=6000)
        hotline.wait_until(lambda: waiting(hotline) == 1, 30, "a general caller waiting")
        (hazard,) = hotline.call(**HAZARD, wait_s=40)
        assert hazard is not None and hazard["queue_status"] == "CALLBACK"
        assert {"event": "callback_offered", "reason": "queue_full"} in hazard["path"]
        assert waiting(hotline) == 2  # the general caller holds on; the hazard keeps its place
        processes.controller_request(hotline.settings, "agent op22 unpause")
        thread.join()
        assert called_back(hotline, hazard["sip_call_id"])["operator"] == "op22"
    (on_hold,) = wait_for_records(hotline.settings, [general.call_id(1)], 30)
    assert on_hold is not None and on_hold["operator"] == "op22"
    assert on_hold["queue_status"] == "ANSWERED"


def test_a_skill_nobody_logged_in_has_gets_the_announcement_at_once(hotline: Hotline) -> None:
    # requirements never relax to "any operator": op08 (no outage skill) can never take a hazard
    with rules(hotline, "routing:\n  relax: [{after: 30, min_proficiency: 1}]\n"
                        "queues:\n  default: {on_no_operator: announce}\n"), \
            operators(hotline, op08="now"):
        (hazard,) = hotline.call(**HAZARD, wait_s=40)
        (general,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000, wait_s=40)
    assert hazard is not None and hazard["queue_status"] == "NO_OPERATOR"
    assert hazard["operator"] is None
    assert general is not None and general["operator"] == "op08"
