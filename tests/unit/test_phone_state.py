"""Operators' phones as Asterisk sees them (device state): an operator whose phone is in use by
a call the ACD did not make (Asterisk's own fallback queue, a call they placed) is offered
nothing until it is free again, and a ring that found the phone taken is no missed offer."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from acd.agents import Agent
from acd.ami.protocol import Message
from acd.decision import WaitingCall
from acd.live import LiveState
from acd.service_context import AcdContext, AcdSettings
from acd.service_ringing import Ringing
from acd.states import AgentState, Event


def ringing(redis: Redis, routed: list[int]) -> Ringing:
    """The device-state part of one controller's ACD (no AMI: nothing here sends an action)."""
    ami: Any = None
    profiles = {name: Agent(name, name, {"billing": 3}, ("vi",)) for name in ("op01", "op02")}
    ctx = AcdContext(LiveState(redis), ami, lambda: profiles, "", AcdSettings(max_missed=1),
                     Any, lambda: 1000.0, route_soon=lambda: routed.append(1))
    return Ringing(ctx)


def device(name: str, state: str) -> Message:
    return Message((("Event", "DeviceStateChange"), ("Device", name), ("State", state)))


async def free_names(ringer: Ringing) -> list[str]:
    free, _busy = await ringer.ctx.live.free_agents(ringer.ctx.agents())
    return sorted(a.agent_id for a in free)


async def test_an_operator_whose_phone_is_in_use_is_offered_nothing_until_it_is_free(
        redis: Redis) -> None:
    routed: list[int] = []
    ringer = ringing(redis, routed)
    for name in ("op01", "op02"):
        await ringer.ctx.live.apply(name, Event("login"), 900.0)
    assert await free_names(ringer) == ["op01", "op02"]
    await ringer.phone_state(device("PJSIP/op01", "INUSE"))
    _free, busy = await ringer.ctx.live.free_agents(ringer.ctx.agents())
    assert await free_names(ringer) == ["op02"] and "op01" in busy
    assert (await ringer.ctx.live.agent("op01")).state is AgentState.AVAILABLE  # its state kept
    for state in ("RINGING", "ONHOLD", "RINGINUSE"):
        await ringer.phone_state(device("PJSIP/op01", state))
        assert await free_names(ringer) == ["op02"], state
    assert routed == []
    await ringer.phone_state(device("PJSIP/op01", "NOT_INUSE"))
    assert await free_names(ringer) == ["op01", "op02"]
    assert routed == [1]  # routed again: it may take a waiting caller now


async def test_devices_that_are_not_operators_phones_change_nothing(redis: Redis) -> None:
    ringer = ringing(redis, [])
    await ringer.ctx.live.apply("op01", Event("login"), 900.0)
    for name in ("PJSIP/trunk", "Queue:operators", "Local/op01@x", "op01", "PJSIP/op99"):
        await ringer.phone_state(device(name, "INUSE"))
    assert await free_names(ringer) == ["op01"]
    assert await ringer.ctx.live.phones_in_use() == set()


async def test_the_whole_list_replaces_what_was_known(redis: Redis) -> None:
    live = LiveState(redis)
    await live.phone_in_use("op01", True)
    await live.replace_phones_in_use({"op02"})
    assert await live.phones_in_use() == {"op02"}
    await live.replace_phones_in_use(set())
    assert await live.phones_in_use() == set()


async def test_a_ring_that_found_the_phone_taken_is_no_miss(redis: Redis) -> None:
    ringer = ringing(redis, [])
    live = ringer.ctx.live
    await live.apply("op01", Event("login"), 900.0)
    await live.add_call(WaitingCall("c1", ("billing",), "vi", 0, 950.0), channel="PJSIP/t-1")
    assert await live.reserve("op01", "c1", 999.0)
    await ringer.not_taken("op01", "c1", missed=False)
    status = await live.agent("op01")
    # max_missed is 1: a miss would have paused op01
    assert (status.state, status.missed_offers) == (AgentState.AVAILABLE, 0)
    assert [c.call_id for c in await live.waiting()] == ["c1"]  # the caller waits on
    assert await live.reserve("op01", "c1", 1000.0)
    await ringer.not_taken("op01", "c1")  # rang out: a miss
    assert (await live.agent("op01")).state is AgentState.PAUSED
