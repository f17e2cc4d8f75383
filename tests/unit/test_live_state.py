"""The ACD's live state in a real Redis: operator transitions are atomic across controllers and
a reservation takes an operator for exactly one call."""

from __future__ import annotations

import asyncio
import random

import pytest
from redis.asyncio import Redis

from acd.decision import Policy, WaitingCall, decide
from acd.live import CALL_TTL_S, LiveState
from acd.states import AgentState, AgentStateError, Event


class Profile:
    def __init__(self, skills: dict[str, int], languages: tuple[str, ...] = ("vi",)) -> None:
        self.skills = skills
        self.languages = languages


async def test_transitions_are_stored_and_illegal_ones_change_nothing(redis: Redis) -> None:
    live = LiveState(redis)
    status = await live.apply("op01", Event("login"), now=100.0)
    assert status.state is AgentState.AVAILABLE and status.idle_since == 100.0
    assert (await live.agent("op01")) == status
    with pytest.raises(AgentStateError):
        await live.apply("op01", Event("unpause"), now=101.0)
    assert (await live.agent("op01")) == status
    await live.apply("op01", Event("pause", reason="meal"), now=102.0)
    paused = await live.agent("op01")
    assert (paused.state, paused.pause_reason) == (AgentState.PAUSED, "meal")


async def test_a_reservation_takes_an_operator_once(redis: Redis) -> None:
    live = LiveState(redis)
    await live.apply("op01", Event("login"), now=1.0)
    for call_id in ("c1", "c2"):
        await live.add_call(WaitingCall(call_id, ("billing",), "vi", 0, 2.0))
    assert await live.reserve("op01", "c1", now=3.0)
    assert not await live.reserve("op01", "c2", now=3.0)   # already reserved
    assert not await live.reserve("op02", "c1", now=3.0)   # unknown operator
    status = await live.agent("op01")
    assert (status.state, status.call_id) == (AgentState.RESERVED, "c1")
    assert (await live.call("c1"))["state"] == "offered"
    assert [c.call_id for c in await live.waiting()] == ["c2"]
    # the state machine goes on from the reservation
    answered = await live.apply("op01", Event("answer", call_id="c1"), now=4.0)
    assert answered.state is AgentState.ON_CALL


async def test_a_call_is_stored_once_and_moves_only_from_the_state_expected(
        redis: Redis) -> None:
    live = LiveState(redis)
    call = WaitingCall("c1", ("outage",), "vi", 0, 2.0)
    assert await live.add_call(call, channel="PJSIP/trunk-1", caller="0909000111",
                               display="outage new caller")
    assert not await live.add_call(call, channel="PJSIP/trunk-1")  # a second controller
    assert (await live.call("c1"))["display"] == "outage new caller"  # the first one's
    assert 0 < await redis.ttl(live._call_key("c1")) <= CALL_TTL_S  # gone in time, not kept
    assert await live.waiting_count() == 1
    await live.decline("c1", "op03")
    await live.decline("c1", "op01")
    await live.decline("c1", "op03")
    (waiting,) = await live.waiting()
    assert waiting.declined == frozenset({"op01", "op03"})
    # an overflow to a callback keeps the place; a second controller's move changes nothing
    assert await live.move_call("c1", "waiting", "callback", leave=False)
    assert not await live.move_call("c1", "waiting", "overflow", leave=True)
    assert [c.call_id for c in await live.waiting()] == ["c1"]
    assert await live.leave("c1") == "callback"
    assert await live.leave("c1") is None  # only one controller counts the leaving caller
    assert await live.waiting_count() == 0
    await live.decline("gone-long-ago", "op01")  # no call: nothing is created
    assert await live.call("gone-long-ago") == {}


async def test_two_controllers_never_reserve_an_operator_twice_under_200_calls(
        redis: Redis, redis_server: str) -> None:
    profiles = {f"op{n:02d}": Profile({"general": 1 + n % 5, "billing": 1 + n % 3})
                for n in range(1, 51)}
    setup = LiveState(redis)
    for agent_id in profiles:
        await setup.apply(agent_id, Event("login"), now=0.0)
    rng = random.Random(3)
    for n in range(200):
        await setup.add_call(WaitingCall(f"call{n:03d}", (rng.choice(["general", "billing"]),),
                                         "vi", rng.randint(0, 3), float(n)))
    won: list[tuple[str, str]] = []

    async def controller(seed: int) -> None:
        client = Redis.from_url(redis_server)
        live = LiveState(client)
        local = random.Random(seed)
        for _round in range(30):
            calls = await live.waiting()
            free, busy = await live.free_agents(profiles)
            if not calls or not free:
                break
            local.shuffle(free)
            for assignment in decide(calls, free, Policy(), now=500.0, busy_agents=busy):
                if await live.reserve(assignment.agent_id, assignment.call_id, now=500.0):
                    won.append((assignment.agent_id, assignment.call_id))
            await asyncio.sleep(0)
        await client.aclose()

    await asyncio.gather(controller(1), controller(2))
    agents = [agent for agent, _ in won]
    calls = [call for _, call in won]
    assert len(agents) == len(set(agents)) == 50   # every operator once, none twice
    assert len(calls) == len(set(calls))           # no call offered twice
    for agent_id, call_id in won:
        status = await setup.agent(agent_id)
        assert (status.state, status.call_id) == (AgentState.RESERVED, call_id)


async def test_a_call_waits_for_its_screen_pop_until_it_comes_or_its_time_is_up(
        redis: Redis) -> None:
    live = LiveState(redis)
    await live.add_call(WaitingCall("c1", ("billing",), "vi", 0, 10.0), display="billing",
                        pop_until=10.2)
    await live.add_call(WaitingCall("c2", ("billing",), "vi", 0, 10.0), display="billing",
                        pop_until=10.2)
    assert [c.call_id for c in await live.waiting()] == ["c1", "c2"]  # both wait
    assert await live.waiting(ready_at=10.1) == []                  # neither is offered yet
    assert await live.set_facts("c1", "op07", "billing PE01 1 open")
    ready = await live.waiting(ready_at=10.1)
    assert [(c.call_id, c.sticky_agent) for c in ready] == [("c1", "op07")]
    assert (await live.call("c1"))["display"] == "billing PE01 1 open"
    assert [c.call_id for c in await live.waiting(ready_at=10.2)] == ["c1", "c2"]
    # a lookup that answers after the call is gone leaves nothing behind
    assert not await live.set_facts("c9", "op07", "x")
    assert not await redis.exists("acd:call:c9")


async def test_every_change_of_an_operator_is_published_with_it(redis: Redis) -> None:
    import json

    live = LiveState(redis)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(live.events_channel)
    await live.apply("op01", Event("login"), now=1.0)
    await live.add_call(WaitingCall("c1", ("general",), "vi", 0, 2.0))
    assert await live.reserve("op01", "c1", now=3.0)
    seen: list[dict[str, object]] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(seen) < 2 and asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(timeout=1.0)  # None: nothing yet, or a subscribe
        if message is not None:
            seen.append(json.loads(message["data"]))
    assert [(e["agent"], e["state"], e["call_id"]) for e in seen] == [
        ("op01", "available", None), ("op01", "reserved", "c1")]
    await pubsub.aclose()


async def test_a_transferred_call_goes_back_to_the_queue_once(redis: Redis) -> None:
    live = LiveState(redis)
    await live.add_call(WaitingCall("c1", ("general",), "vi", 3, 2.0), channel="PJSIP/x-1")
    import time

    now = time.time()
    settled = now + 60
    assert not await live.requeue("c1", "op01", ("billing",), now, settled)  # not connected
    await live.set_call_state("c1", "connected", agent="op01")
    assert not await live.requeue("c1", "op02", ("billing",), now, settled)  # not op02's
    assert await live.requeue("c1", "op01", ("billing",), now, settled)
    assert not await live.requeue("c1", "op01", ("billing",), now, settled)  # once
    assert await live.waiting() == []  # nobody is offered it before it settles
    call = await live.call("c1")
    assert (call["state"], call["skills"], call["agent"], call["declined"]) == (
        "waiting", "billing", "", "op01")
    assert call["priority"] == "3" and call["channel"] == "PJSIP/x-1"
