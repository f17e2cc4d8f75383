"""No toll fraud through callbacks: only numbers of the national plan are called back, in their
national form, and each number at most N times in any hour, counted in a real Redis so that
several controllers share the count; a refusal is logged, counted and noted once per call."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.asyncio import Redis

from acd.callback_policy import WINDOW_S, callback_number
from acd.decision import WaitingCall
from acd.live import LiveState
from acd.service_context import AcdContext, AcdSettings


@pytest.mark.parametrize(("caller", "dialled"), [
    ("0909123456", "0909123456"),        # mobile: 0 + 9 digits
    ("0388123456", "0388123456"),
    ("0701234567", "0701234567"),
    ("0812345678", "0812345678"),
    ("0561234567", "0561234567"),
    ("02838221234", "02838221234"),      # landline: 02 + 9 digits
    ("+84909123456", "0909123456"),      # the country code is the leading 0, not stripped
    ("84909123456", "0909123456"),
    ("+842838221234", "02838221234"),
    ("842838221234", "02838221234"),
])
def test_national_numbers_are_called_back_in_their_national_form(caller: str,
                                                                 dialled: str) -> None:
    assert callback_number(caller) == dialled


@pytest.mark.parametrize("caller", [
    "",
    "19001122",            # premium rate (the hotline itself)
    "19006789",
    "1900123456",
    "18001090",            # toll-free / short numbers
    "113", "116",          # emergency
    "+442071234567",       # another country
    "00442071234567",      # international access code
    "0084909123456",       # our own country code behind the international prefix
    "+1900123456",
    "+8419001122",         # +84 then a premium number
    "841900123456",
    "909123456",           # a mobile without its 0
    "09091234567",         # a digit too many
    "090912345",           # a digit too few
    "0209123456",          # a landline a digit short
    "0109123456",          # no such mobile prefix
    "0009123456",
    "+84+909123456",
    "0909 123 456#",       # whatever a forged caller ID can carry
    "sip:0909123456@evil",
])
def test_other_numbers_are_refused(caller: str) -> None:
    assert callback_number(caller) is None


async def _waiting(live: LiveState, call_id: str, caller: str, at: float) -> None:
    await live.add_call(WaitingCall(call_id, ("general",), "vi", 0, at), caller=caller)


async def test_a_number_holds_at_most_its_limit_of_callbacks_in_any_hour(redis: Redis) -> None:
    live, other = LiveState(redis), LiveState(redis)  # two controllers on one Redis
    number = "0909123456"
    for n in range(1, 4):
        await _waiting(live, f"c{n}", number, 100.0)
    assert await live.hold_callback(number, "c1", 100.0, window_s=WINDOW_S, limit=2)
    assert await other.hold_callback(number, "c2", 101.0, window_s=WINDOW_S, limit=2)
    assert await live.hold_callback(number, "c2", 102.0, window_s=WINDOW_S, limit=2)  # again
    assert await other.hold_callback(number, "c3", 103.0, window_s=WINDOW_S, limit=2) is False
    assert (await live.call("c1"))["callback_number"] == number
    assert "callback_number" not in await live.call("c3")
    # another number has its own count; a call that is gone holds nothing
    await _waiting(live, "d1", "0909000001", 103.0)
    assert await live.hold_callback("0909000001", "d1", 103.0, window_s=WINDOW_S, limit=2)
    assert await live.hold_callback(number, "gone", 103.0, window_s=WINDOW_S, limit=2) is None


async def test_an_offer_not_taken_is_given_back_and_a_granted_one_is_kept(redis: Redis) -> None:
    live = LiveState(redis)
    number = "02838221234"
    for n in range(1, 5):
        await _waiting(live, f"c{n}", number, 100.0)
    assert await live.hold_callback(number, "c1", 100.0, window_s=WINDOW_S, limit=2)
    assert await live.hold_callback(number, "c2", 100.0, window_s=WINDOW_S, limit=2)
    # c1 becomes a callback (kept for the hour); c2 was served by an operator (given back)
    await live.grant_callback("c1")
    await live.set_call_state("c1", "callback")
    await live.set_call_state("c2", "connected")
    assert await live.hold_callback(number, "c3", 200.0, window_s=WINDOW_S, limit=2)
    assert await live.hold_callback(number, "c4", 200.0, window_s=WINDOW_S, limit=2) is False
    # c1's callback was placed and answered: it still counts until its hour is over
    await live.set_call_state("c1", "done")
    assert await live.hold_callback(number, "c4", 100.0 + WINDOW_S - 1, window_s=WINDOW_S,
                                    limit=2) is False
    assert await live.hold_callback(number, "c4", 100.0 + WINDOW_S + 1, window_s=WINDOW_S,
                                    limit=2)


async def test_refusals_are_logged_counted_and_noted_once_per_call(
        redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    live = LiveState(redis)
    noted: list[tuple[str, dict[str, Any]]] = []

    async def on_attempt(call_id: str, entry: dict[str, Any]) -> None:
        noted.append((call_id, entry))

    ami: Any = None
    ctx = AcdContext(live, ami, dict, "", AcdSettings(callback=True, callbacks_per_hour=1),
                     Any, lambda: 500.0, route_soon=lambda: None, on_attempt=on_attempt)
    for call_id, caller in (("a", "+84909777001"), ("b", "0909777001"), ("c", "+442071234567")):
        await _waiting(live, call_id, caller, 500.0)
    caplog.set_level(logging.INFO, "acd")
    assert await ctx.hold_callback("a", "+84909777001", "general") == "0909777001"
    assert await ctx.hold_callback("b", "0909777001", "general") is None  # the same number
    assert await ctx.hold_callback("b", "0909777001", "general") is None
    assert await ctx.hold_callback("c", "+442071234567", "billing") is None
    assert await ctx.hold_callback("c", "+442071234567", "billing") is None
    assert noted == [("b", {"event": "callback_refused", "reason": "limit"}),
                     ("c", {"event": "callback_refused", "reason": "not_national"})]
    stats = await live.stats()
    assert stats["skills"]["general"] == {"callback_refused_limit": 1.0}
    assert stats["skills"]["billing"] == {"callback_refused_not_national": 1.0}
    refusals = [r.getMessage() for r in caplog.records if "no callback to" in r.getMessage()]
    assert refusals == [
        "ACD: call b: no callback to '0909777001' (its limit of 1 an hour is reached)",
        "ACD: call c: no callback to '+442071234567' (not a number of the national plan)"]
    # without an outbound trunk nobody is offered one, and nothing is counted as refused
    ctx.settings = AcdSettings(callback=False)
    assert await ctx.hold_callback("a", "0909777001", "general") is None
