"""Our FastAGI server and AGI channel against the real Asterisk: escaping survives Asterisk's own
parser, unknown commands and bad usage come back as typed errors, and whatever the session does
wrong, the caller ends in the dialplan fallback (never dead air)."""

from __future__ import annotations

import asyncio

import pytest

from hotline.sipcall import CallPlan, place, wait_for_records
from ivr.agi.channel import AgiChannel
from ivr.agi.errors import AgiCommandError
from ivr.agi.server import FastAgiServer

from .conftest import Hotline

pytestmark = pytest.mark.e2e

AWKWARD = [
    'say "hi"', "back\\slash", "trailing\\", '\\"', "", "two  spaces", "Tiền điện: 1.250.000 đồng",
    "a,b|c;d", "${EXTEN}", "$[1+1]", "100%", "'single'", "x" * 900,
]


async def test_awkward_values_survive_a_round_trip_through_asterisk(hotline: Hotline) -> None:
    seen: dict[str, object] = {}

    async def script(channel: AgiChannel, args: tuple[str, ...]) -> None:
        seen["args"] = args
        echoed = []
        for value in AWKWARD:
            await channel.set_variable("HL_TEST", value)
            echoed.append(await channel.get_variable("HL_TEST"))
        seen["echoed"] = echoed
        for command in (("FROBNICATE",), ("STREAM FILE",)):
            try:
                await channel.command(*command)
            except AgiCommandError as exc:
                seen[command[0]] = exc.status
        try:
            await channel.stream_file("/nonexistent/prompt")
        except AgiCommandError as exc:
            seen["missing_file"] = str(exc)
        # ends without HOTLINE_NEXT: the dialplan must take over

    hotline.stop_controller()
    server = FastAgiServer({"ivr": script}, token=hotline.settings.agi_token,
                           port=hotline.settings.agi_port)
    await server.start()
    try:
        plan = CallPlan(number=hotline.settings.hotline_number, caller="0912345678",
                        max_call_s=60)
        await asyncio.to_thread(place, plan, "127.0.0.1", hotline.settings.sip_port)
    finally:
        await server.stop(drain_timeout=5)
        hotline.start_controller()
    assert seen["args"] == ("0912345678", plan.call_id(1))
    assert seen["echoed"] == AWKWARD
    assert seen["FROBNICATE"] == 510
    assert seen["STREAM FILE"] == 520
    assert "could not play /nonexistent/prompt" in str(seen["missing_file"])
    (record,) = await asyncio.to_thread(wait_for_records, hotline.settings, [plan.call_id(1)], 40)
    assert record is not None and record["outcome"] == "fallback"


MISBEHAVIOURS = {
    "0900000001": "closes right after the environment",
    "0900000002": "answers nothing Asterisk understands, then closes",
    "0900000003": "sends nothing for a second, then closes",
}


async def test_misbehaving_fastagi_peers_still_end_in_the_fallback(hotline: Hotline) -> None:
    """Three callers at once, each meeting a differently broken peer in place of the
    controller (chosen by the caller number Asterisk passes as the second AGI argument)."""

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        environment = (await reader.readuntil(b"\n\n")).decode()
        caller = next(line.split(": ", 1)[1] for line in environment.splitlines()
                      if line.startswith("agi_arg_2: "))
        if caller == "0900000002":
            writer.write(b"THIS IS NOT AGI\n")
            await writer.drain()
            await reader.readline()
        elif caller == "0900000003":
            await asyncio.sleep(1.0)
        writer.close()

    hotline.stop_controller()
    server = await asyncio.start_server(peer, "127.0.0.1", hotline.settings.agi_port)
    plans = [CallPlan(number=hotline.settings.hotline_number, caller=caller, max_call_s=60)
             for caller in MISBEHAVIOURS]
    try:
        await asyncio.gather(*(asyncio.to_thread(place, plan, "127.0.0.1",
                                                 hotline.settings.sip_port) for plan in plans))
    finally:
        server.close()
        await server.wait_closed()
        hotline.start_controller()
    records = await asyncio.to_thread(wait_for_records, hotline.settings,
                                      [plan.call_id(1) for plan in plans], 40)
    for plan, record in zip(plans, records):
        assert record is not None, MISBEHAVIOURS[plan.caller]
        assert record["outcome"] == "fallback", MISBEHAVIOURS[plan.caller]
        assert record["caller_number"] == plan.caller
