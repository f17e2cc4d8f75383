"""An operator's shift on the phone's feature codes: the phone hears the real result of each code
(done, refused, or the service unavailable), and the states, the pause reason, the call record
and the statistics show every step. The phone is a SIPp softphone registered as op07; each code
is a real call from the op07 account (digest auth) into the ``operators`` context.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from acd.ami.client import AmiClient
from hotline import processes
from hotline.sipagent import SippOperator
from hotline.sipcall import CallPlan, place

from .conftest import Hotline
from .test_acd import log_out

pytestmark = pytest.mark.e2e
SETTINGS = {"acd_wrap_up_s": 120.0}  # the wrap-up lasts until the operator gives a code
OPERATOR = "op07"


class Phone:
    """op07's softphone, and what Asterisk says each feature code did (UserEvent)."""

    def __init__(self, hotline: Hotline, ami: AmiClient, results: list[dict[str, str]]) -> None:
        self.hotline = hotline
        self.ami = ami
        self.results = results

    async def dial(self, code: str) -> str:
        settings = self.hotline.settings
        before = len(self.results)
        plan = CallPlan(number=code, account=(OPERATOR, settings.operator_passwords[OPERATOR]),
                        max_call_s=30)
        await asyncio.to_thread(place, plan, "127.0.0.1", settings.sip_port)
        deadline = time.monotonic() + 30  # the AMI event may trail the call's end under load
        while time.monotonic() < deadline:
            if len(self.results) > before:
                result = self.results[before]
                assert result["agent"] == OPERATOR, result
                return result["result"]
            await asyncio.sleep(0.1)
        raise AssertionError(f"{code}: the dialplan reported no result within 30 s")

    def state(self) -> tuple[Any, Any]:
        """The operator's state and pause reason, as the controller says (asked again while it
        does not answer within its 5 s, as on a loaded machine)."""
        rows = self.hotline.wait_until(
            lambda: processes.controller_request(self.hotline.settings, "agents"), 30,
            "the controller's answer")
        row = next((r for r in rows if r["agent"] == OPERATOR), {})
        return row.get("state"), row.get("pause_reason")


@pytest.fixture
async def phone(hotline: Hotline) -> AsyncIterator[Phone]:
    settings = hotline.settings
    results: list[dict[str, str]] = []

    def on_event(message: Any) -> None:
        if message.name == "UserEvent" and message.get("UserEvent") == "AcdFeatureCode":
            results.append({"agent": message.get("AcdAgent", ""),
                            "action": message.get("AcdAction", ""),
                            "result": message.get("AcdResult", "")})

    ami = AmiClient("127.0.0.1", settings.ami_port, settings.ami_username, settings.ami_secret,
                    on_event=on_event, events="user")
    softphone = SippOperator(OPERATOR, settings.operator_passwords[OPERATOR], "127.0.0.1",
                             settings.sip_port, answer="now", talk_s=2.0, wait_s=600)
    await asyncio.to_thread(log_out, hotline, OPERATOR)  # each test starts logged out
    await ami.start()
    await ami.wait_connected(10)
    softphone.start()
    try:
        yield Phone(hotline, ami, results)
    finally:
        try:
            await asyncio.to_thread(log_out, hotline, OPERATOR)  # after a call it is still on
        finally:
            softphone.stop()
            await ami.close()


async def test_an_operator_works_a_shift_on_feature_codes(hotline: Hotline, phone: Phone
                                                          ) -> None:
    settings = hotline.settings
    assert await phone.dial("*21") == "ok"
    assert phone.state() == ("available", None)

    (record,) = await asyncio.to_thread(hotline.call, "0", caller="0909000707", delay_ms=6000,
                                        wait_s=60)
    assert record is not None and record["operator"] == OPERATOR
    # the record can be in before the ACD has handled the operator's hang-up
    await asyncio.to_thread(hotline.wait_until, lambda: phone.state()[0] == "wrap_up", 20,
                            f"{OPERATOR} in the wrap-up")

    assert await phone.dial("*257") == "ok"  # the code ends the wrap-up
    assert phone.state() == ("available", None)
    coded = await asyncio.to_thread(
        hotline.wait_until, lambda: [r for r in hotline.records_where(call_id=record["call_id"])
                                     if r["wrap_up_code"] == "7"], 20, "the code in the record")
    assert len(coded) == 1
    stats = processes.controller_request(settings, "acd")["stats"]
    assert stats["agents"][OPERATOR]["wrap_up:7"] == 1
    assert stats["wrap_up_codes"]["calls"]["7"] >= 1

    assert await phone.dial("*232") == "ok"
    assert phone.state() == ("paused", "meal")
    assert await phone.dial("*21") == "refused"  # paused: log in makes no sense
    assert phone.state() == ("paused", "meal")
    assert await phone.dial("*24") == "ok"
    assert phone.state() == ("available", None)
    assert await phone.dial("*22") == "ok"
    assert phone.state() == ("logged_out", None)
    assert await phone.dial("*258") == "refused"  # logged out: no call to give a code to
    stats = processes.controller_request(settings, "acd")["stats"]["agents"][OPERATOR]
    assert stats["handled"] == 1 and stats["pause_s:meal"] > 0, stats


async def test_a_feature_code_with_the_controller_down_says_the_service_is_unavailable(
        hotline: Hotline, phone: Phone) -> None:
    hotline.stop_controller()
    try:
        assert await phone.dial("*21") == "unavailable"
    finally:
        hotline.start_controller()
    assert phone.state() == ("logged_out", None)
    assert await phone.dial("*21") == "ok"
