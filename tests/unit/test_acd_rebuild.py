"""After an AMI reconnect the ACD makes Redis agree with Asterisk (acd/service_rebuild.py): a
caller on hold whose ``AcdJoin`` no controller saw (sent while the connection was down) is
taken in with the time it joined; a caller the ACD knows, one not yet as far as its join, one
leaving, are left alone; operators' phones in use come from Asterisk's device list.

The ACD is the real service on a real Redis; Asterisk is a script answering the AMI actions the
rebuild sends with what Asterisk 16 answers them (the list actions' events, Getvar's Value),
keeping every action it was sent."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from acd.agents import Agent
from acd.ami.client import ClientState
from acd.ami.errors import AmiActionError, AmiNotSent
from acd.ami.protocol import ActionComplete, Message
from acd.decision import WaitingCall
from acd.live import LiveState
from acd.service import AcdService
from acd.states import AgentState, Event

NOW = 2_000_000_000.0


class ScriptedAsterisk:
    """What the rebuild's AMI actions get back: channels (CoreShowChannel events), devices
    (DeviceStateChange events of DeviceStateList), channel variables (Getvar)."""

    def __init__(self, channels: list[dict[str, str]], devices: dict[str, str],
                 variables: dict[tuple[str, str], str]) -> None:
        self.channels, self.devices, self.variables = channels, devices, variables
        self.hung_up: set[str] = set()  # listed, but gone by the time a Getvar asks
        self.sent: list[tuple[str, list[tuple[str, str]]]] = []
        self.state = ClientState.CONNECTED

    async def action(self, name: str, headers: list[tuple[str, str]] | None = None,
                     timeout: float | None = None) -> ActionComplete:
        headers = headers or []
        self.sent.append((name, headers))
        given = dict(headers)
        ok = Message((("Response", "Success"),))
        if name == "CoreShowChannels":
            events = [Message((("Event", "CoreShowChannel"), *c.items()))
                      for c in self.channels]
            return ActionComplete("1", ok, (*events, Message((
                ("Event", "CoreShowChannelsComplete"), ("EventList", "Complete")))))
        if name == "DeviceStateList":
            return ActionComplete("2", ok, tuple(Message((
                ("Event", "DeviceStateChange"), ("Device", d), ("State", s)))
                for d, s in self.devices.items()))
        if name == "Getvar":
            key = (given.get("Channel", ""), given["Variable"])
            if key[0] in self.hung_up:
                raise AmiActionError("Getvar", "No such channel")
            return ActionComplete("3", Message((("Response", "Success"),
                                                ("Variable", key[1]),
                                                ("Value", self.variables.get(key, "")))))
        return ActionComplete("4", ok)


def waiting_channel(uniqueid: str, name: str, application: str = "WaitExten",
                    context: str = "acd-wait") -> dict[str, str]:
    return {"Channel": name, "Uniqueid": uniqueid, "Context": context, "Exten": "s",
            "Application": application}


def join_variables(name: str, joined: int, skills: str = "billing", leave: str = ""
                   ) -> dict[tuple[str, str], str]:
    return {(name, "ACD_JOINED"): str(joined), (name, "HOTLINE_SKILLS"): skills,
            (name, "HOTLINE_LANGUAGE"): "vi", (name, "HOTLINE_PRIORITY"): "0",
            (name, "HOTLINE_CALLER"): "0909123456", (name, "ACD_LEAVE"): leave}


def service(redis: Redis, asterisk: ScriptedAsterisk) -> AcdService:
    ami: Any = asterisk
    profiles = {n: Agent(n, n, {"billing": 3}, ("vi",)) for n in ("op01", "op02")}
    return AcdService(LiveState(redis), ami, lambda: profiles, "", clock=lambda: NOW)


def setvars(asterisk: ScriptedAsterisk) -> list[tuple[str, str, str]]:
    return [(dict(h)["Channel"], dict(h)["Variable"], dict(h)["Value"])
            for name, h in asterisk.sent if name == "Setvar"]


async def test_a_caller_whose_join_was_lost_is_taken_in_with_the_time_it_joined(
        redis: Redis) -> None:
    lost, known = "PJSIP/trunk-0001", "PJSIP/trunk-0002"
    asterisk = ScriptedAsterisk(
        [waiting_channel("c-lost", lost), waiting_channel("c-known", known)], {},
        join_variables(lost, int(NOW) - 3, skills="outage billing") | join_variables(known, 0))
    acd = service(redis, asterisk)
    await acd.live.apply("op01", Event("login"), NOW - 60)  # on a break: the callers wait
    await acd.live.apply("op01", Event("pause", reason="meal"), NOW - 50)
    await acd.live.add_call(WaitingCall("c-known", ("billing",), "vi", 0, NOW - 30),
                            channel=known)
    await acd.rebuild()
    taken = await acd.live.call("c-lost")
    assert taken["state"] == "waiting" and taken["skills"] == "outage,billing"
    assert float(taken["joined_at"]) == NOW - 3   # its place: when it joined, not now
    assert (lost, "ACD_ACCEPTED", "1") in setvars(asterisk)
    assert all(channel != known for channel, _, _ in setvars(asterisk))  # known: left alone
    assert [c.call_id for c in await acd.live.waiting()] == ["c-known", "c-lost"]


async def test_callers_not_yet_joined_leaving_or_elsewhere_are_not_taken_in(
        redis: Redis) -> None:
    early, leaving, announced, ivr = (f"PJSIP/trunk-000{n}" for n in range(1, 5))
    asterisk = ScriptedAsterisk(
        [waiting_channel("c-early", early), waiting_channel("c-leaving", leaving),
         waiting_channel("c-announced", announced, application="Playback"),
         waiting_channel("c-ivr", ivr, application="AGI", context="hotline")], {},
        {(early, "ACD_JOINED"): ""} | join_variables(leaving, int(NOW) - 9, leave="max_wait")
        | join_variables(announced, int(NOW) - 9) | join_variables(ivr, int(NOW) - 9))
    acd = service(redis, asterisk)
    await acd.rebuild()
    for call_id in ("c-early", "c-leaving", "c-announced", "c-ivr"):
        assert await acd.live.call(call_id) == {}, call_id
    assert setvars(asterisk) == []


async def test_a_caller_gone_before_its_variables_were_read_is_not_taken_in(
        redis: Redis) -> None:
    name = "PJSIP/trunk-0009"
    asterisk = ScriptedAsterisk([waiting_channel("c-gone", name)], {},
                                join_variables(name, int(NOW) - 3))
    asterisk.hung_up.add(name)
    acd = service(redis, asterisk)
    await acd.rebuild()
    assert await acd.live.call("c-gone") == {}
    assert setvars(asterisk) == []


async def test_phones_in_use_come_from_the_device_list(redis: Redis) -> None:
    asterisk = ScriptedAsterisk([], {"PJSIP/op01": "INUSE", "PJSIP/op02": "NOT_INUSE",
                                     "PJSIP/trunk": "INUSE", "Queue:operators": "INUSE"}, {})
    acd = service(redis, asterisk)
    await acd.live.phone_in_use("op02", True)  # a change no controller saw: it is free now
    for name in ("op01", "op02"):
        await acd.live.apply(name, Event("login"), NOW - 60)
    await acd.rebuild()
    assert await acd.live.phones_in_use() == {"op01"}
    free, _busy = await acd.live.free_agents(acd.agents())
    assert [a.agent_id for a in free] == ["op02"]
    assert (await acd.live.agent("op01")).state is AgentState.AVAILABLE


async def test_an_ami_connection_down_rings_nobody_and_counts_no_miss(redis: Redis) -> None:
    channel = "PJSIP/trunk-0001"
    asterisk = ScriptedAsterisk([waiting_channel("c1", channel)], {}, {})
    acd = service(redis, asterisk)
    await acd.live.apply("op01", Event("login"), NOW - 60)
    await acd.live.add_call(WaitingCall("c1", ("billing",), "vi", 0, NOW - 30), channel=channel)
    asterisk.state = ClientState.RECONNECTING
    await acd.route()
    assert (await acd.live.agent("op01")).state is AgentState.AVAILABLE  # nobody reserved
    asterisk.state = ClientState.CONNECTED
    original = asterisk.action

    async def cut_now(name: str, headers: Any = None, timeout: Any = None) -> ActionComplete:
        if name in ("Setvar", "Redirect"):  # the connection dropped just before the ring
            raise AmiNotSent(f"not connected: {name} was not sent")
        return await original(name, headers, timeout)

    asterisk.action = cut_now  # type: ignore[method-assign]
    for _ in range(5):  # never a miss, however often: max_missed (3) would pause op01
        await acd.route()
    status = await acd.live.agent("op01")
    assert (status.state, status.missed_offers) == (AgentState.AVAILABLE, 0)
    assert [c.call_id for c in await acd.live.waiting()] == ["c1"]
