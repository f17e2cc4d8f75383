"""Wrap-ups outlive the controller that started them: the end is stored with the operator's
state in a real Redis, and every controller's tick ends the wrap-ups that are due, one of them
winning each. Originates whose response never comes are forgotten after the ring timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from acd.ami.protocol import Message
from acd.decision import WaitingCall
from acd.live import LiveState
from acd.service_context import AcdContext, AcdSettings
from acd.service_hangups import Hangups
from acd.service_ringing import PendingOffers, Ringing
from acd.states import AgentState, Event


def controller(redis: Redis, now: list[float], routed: list[int]) -> Hangups:
    """The wrap-up part of one controller's ACD (no AMI: ending a wrap-up sends no action)."""
    ami: Any = None
    ctx = AcdContext(LiveState(redis), ami, dict, "", AcdSettings(wrap_up_s=10), Any,
                     lambda: now[0], route_soon=lambda: routed.append(1))
    return Hangups(ctx, Ringing(ctx))


async def in_wrap_up(live: LiveState, agent_id: str, call_id: str, at: float) -> None:
    if (await live.agent(agent_id)).state is AgentState.LOGGED_OUT:
        await live.apply(agent_id, Event("login"), at - 60)
    await live.apply(agent_id, Event("offer", call_id=call_id), at - 50)
    await live.apply(agent_id, Event("answer", call_id=call_id), at - 45)
    await live.apply(agent_id, Event("hangup", call_id=call_id), at, wrap_up_s=10)


async def test_any_controller_ends_a_wrap_up_when_due_and_only_one_acts(redis: Redis) -> None:
    now, routed = [1000.0], []
    live = LiveState(redis)
    await in_wrap_up(live, "op01", "c1", 1000.0)   # ends at 1010
    await in_wrap_up(live, "op02", "c2", 1005.0)   # ends at 1015
    # the controller that saw the hang-ups died: two others tick
    first, second = controller(redis, now, routed), controller(redis, now, routed)
    now[0] = 1009.9
    await asyncio.gather(first.end_due_wrap_ups(), second.end_due_wrap_ups())
    assert (await live.agent("op01")).state is AgentState.WRAP_UP  # not before its end
    now[0] = 1010.0
    await asyncio.gather(first.end_due_wrap_ups(), second.end_due_wrap_ups())
    done = await live.agent("op01")
    assert (done.state, done.idle_since, done.call_id) == (AgentState.AVAILABLE, 1010.0, None)
    assert (await live.agent("op02")).state is AgentState.WRAP_UP
    assert (await live.stats())["agents"]["op01"]["wrap_s"] == 10.0  # counted once
    assert routed == [1]


async def test_a_late_timer_does_not_end_the_next_calls_wrap_up(redis: Redis) -> None:
    now, routed = [1000.0], []
    live = LiveState(redis)
    await in_wrap_up(live, "op01", "c1", 1000.0)
    ended_by_tick = controller(redis, now, routed)
    now[0] = 1010.0
    await ended_by_tick.end_due_wrap_ups()
    await in_wrap_up(live, "op01", "c2", 1070.0)  # the next call, in its wrap-up
    now[0] = 1071.0
    await controller(redis, now, routed).end_wrap_up("op01", "c1")  # the first call's timer
    assert (await live.agent("op01")).state is AgentState.WRAP_UP


def test_an_originate_whose_response_never_comes_is_forgotten() -> None:
    pending = PendingOffers(max_age_s=45)
    pending.add("a1", "op01", "c1", now=100.0)
    pending.add("a2", "op02", "c2", now=130.0)
    assert pending.expire(now=145.0) == []
    assert pending.expire(now=145.5) == [("a1", "op01", "c1")]
    assert len(pending) == 1
    assert pending.pop("a1") is None
    assert pending.pop("a2") == ("op02", "c2")
    assert len(pending) == 0


async def ringing_for_c1(redis: Redis, now: list[float], routed: list[int],
                         offer_key: str) -> tuple[LiveState, Ringing]:
    """op01 logged in and reserved for the waiting call c1, its offer ``offer_key`` pending."""
    live = LiveState(redis)
    ringing = controller(redis, now, routed).ringing
    await live.apply("op01", Event("login"), 900.0)
    await live.add_call(WaitingCall("c1", ("general",), "vi", 0, 990.0))
    assert await live.reserve("op01", "c1", 1000.0)
    ringing.add_offer(offer_key, "op01", "c1")
    return live, ringing


async def test_an_offer_whose_originate_response_never_comes_puts_the_caller_back(
        redis: Redis) -> None:
    """Lost with an AMI connection (or never sent): after the ring timeout and its grace the
    offer is over; the operator is free again and the caller waits for the next one, instead of
    staying ``offered`` to a phone that stopped ringing (the stranded caller of a scale run)."""
    now, routed = [1000.0], []
    live, ringing = await ringing_for_c1(redis, now, routed, "action-1")
    now[0] = 1000.0 + ringing.ctx.settings.ring_timeout_s + 29.0
    await ringing.forget_stale_offers()
    assert (await live.call("c1"))["state"] == "offered"  # still within the grace
    now[0] = 1000.0 + ringing.ctx.settings.ring_timeout_s + 31.0
    await ringing.forget_stale_offers()
    call = await live.call("c1")
    assert (call["state"], call["agent"]) == ("waiting", "")
    assert "op01" in call["declined"]
    assert (await live.agent("op01")).state is AgentState.AVAILABLE
    assert [c.call_id for c in await live.waiting()] == ["c1"]
    assert routed == [1]
    await ringing.forget_stale_offers()  # forgotten once: no second missed offer
    assert routed == [1]


def event(**headers: str) -> Message:
    return Message(tuple(headers.items()))


async def test_a_ring_the_operator_let_pass_puts_the_caller_back_in_their_place(
        redis: Redis) -> None:
    """The caller's own channel dialled the operator (acd-ring) and the ring ended unanswered:
    the dialplan's AcdRingResult frees the operator (a missed offer) and the caller waits on,
    offered to someone else first."""
    now, routed = [1000.0], []
    live, ringing = await ringing_for_c1(redis, now, routed, "ring-c1")
    await ringing.ring_result(event(Event="UserEvent", UserEvent="AcdRingResult",
                                    AcdCall="c1", AcdAgent="op01", AcdStatus="NOANSWER"))
    call = await live.call("c1")
    assert (call["state"], call["agent"], call["declined"]) == ("waiting", "", "op01")
    assert (await live.agent("op01")).state is AgentState.AVAILABLE
    assert routed == [1]
    now[0] += 1000.0  # its pending offer went with the result: nothing expires later
    assert await ringing.forget_stale_offers() is False
    assert routed == [1]


async def test_a_connected_callers_hang_up_ends_the_operators_call(redis: Redis) -> None:
    """The caller's channel holds the call (it dialled the operator): its end is the end of
    the operator's call, and the wrap-up starts then."""
    now, routed = [1000.0], []
    live = LiveState(redis)
    hangups = controller(redis, now, routed)
    await live.apply("op01", Event("login"), 900.0)
    await live.add_call(WaitingCall("c1", ("general",), "vi", 0, 990.0))
    assert await live.reserve("op01", "c1", 995.0)
    await live.apply("op01", Event("answer", call_id="c1"), 1000.0)
    await live.set_call_state("c1", "connected")
    now[0] = 1060.0
    await hangups.hangup(event(Event="Hangup", Uniqueid="c1", Channel="PJSIP/trunk-00000001"))
    status = await live.agent("op01")
    assert (status.state, status.call_id, status.wrap_up_until) == (
        AgentState.WRAP_UP, "c1", 1070.0)
    assert (await live.call("c1"))["state"] == "done"
    assert (await live.stats())["agents"]["op01"]["talk_s"] == 60.0
    await hangups.hangup(event(Event="Hangup", Uniqueid="c1"))  # seen twice: counted once
    assert (await live.stats())["agents"]["op01"]["handled"] == 1.0


async def test_a_callback_leg_not_answered_is_a_missed_offer_and_others_responses_are_ignored(
        redis: Redis) -> None:
    now, routed = [1000.0], []
    ringing = controller(redis, now, routed).ringing
    live = ringing.ctx.live
    await live.apply("op01", Event("login"), 900.0)
    await live.add_call(WaitingCall("c1", ("billing",), "vi", 0, 950.0), channel="PJSIP/t-1")
    assert await live.reserve("op01", "c1", 999.0)
    ringing.add_offer("42", "op01", "c1")

    def response(action_id: str, result: str) -> Message:
        return Message((("Event", "OriginateResponse"), ("ActionID", action_id),
                        ("Response", result), ("Reason", "3")))

    await ringing.originate_result(response("17", "Failure"))  # someone else's Originate
    assert (await live.agent("op01")).state is AgentState.RESERVED
    await ringing.originate_result(response("42", "Failure"))
    status = await live.agent("op01")
    assert (status.state, status.missed_offers) == (AgentState.AVAILABLE, 1)
    assert [c.call_id for c in await live.waiting()] == ["c1"]
    assert routed == [1]
