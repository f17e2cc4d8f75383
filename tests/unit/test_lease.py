"""The ACD's lease against the scripted AMI (replies recorded from Asterisk 16: a global
``Setvar``) and a real Redis: renewed while the controller can route, not renewed while Redis
is dead or hangs or AMI is down, and the ACD told when Redis is back."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from acd.ami.client import AmiClient
from acd.lease import Lease

from .test_ami_client import Harness

NOW = 1796650000.7


@pytest.fixture
async def rig() -> AsyncIterator[Harness]:
    harness = Harness()
    yield harness
    await harness.close()


def setvars(harness: Harness) -> list[tuple[str | None, str | None, str | None]]:
    return [(m.get("Variable"), m.get("Value"), m.get("Channel"))
            for _, m in harness.fake.actions if m.get("Action") == "Setvar"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_controller_that_can_route_renews_a_global_with_the_epoch(
        rig: Harness, redis_server: str) -> None:
    ami = await rig.connected_client()
    redis = Redis.from_url(redis_server)
    try:
        lease = Lease(ami, redis.ping, clock=lambda: NOW)
        assert await lease.renew_once()
        assert await lease.renew_once()
    finally:
        await redis.aclose()
    # no Channel: an Asterisk global the dialplan reads as ${GLOBAL(ACD_LEASE)}
    assert setvars(rig) == [("ACD_LEASE", "1796650000", None)] * 2
    assert (lease.suspended, lease.renewed_at) == (None, NOW)


async def test_a_dead_or_hung_redis_stops_the_renewals_and_its_return_is_announced(
        rig: Harness, redis_server: str) -> None:
    ami = await rig.connected_client()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # a Redis that accepts and answers nothing
        finally:
            writer.close()

    hung_server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    hung_port = hung_server.sockets[0].getsockname()[1]
    clients = {"dead": Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5),
               "hung": Redis(host="127.0.0.1", port=hung_port, socket_timeout=5),
               "up": Redis.from_url(redis_server)}
    current = ["dead"]
    back: list[str] = []
    lease = Lease(ami, lambda: clients[current[0]].ping(),
                  on_redis_back=lambda: back.append(current[0]))
    try:
        assert not await lease.renew_once()
        assert lease.suspended is not None and lease.suspended.startswith("Redis")
        current[0] = "hung"
        started = asyncio.get_running_loop().time()
        assert not await lease.renew_once()
        assert asyncio.get_running_loop().time() - started < 2.0  # its own deadline: 1 s
        assert setvars(rig) == []
        current[0] = "up"
        assert await lease.renew_once()
        assert await lease.renew_once()
    finally:
        for client in clients.values():
            await client.aclose()
        hung_server.close()
        await hung_server.wait_closed()
    assert back == ["up"]  # once, when Redis answered again
    assert len(setvars(rig)) == 2


async def test_without_ami_nothing_is_renewed(redis_server: str) -> None:
    ami = AmiClient("127.0.0.1", closed_port(), "hotline", "secret")  # never started
    redis = Redis.from_url(redis_server)
    try:
        lease = Lease(ami, redis.ping)
        assert not await lease.renew_once()
    finally:
        await redis.aclose()
    assert lease.suspended == "AMI is not connected" and lease.renewed_at is None
