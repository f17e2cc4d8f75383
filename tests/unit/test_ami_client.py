"""The asyncio AMI client against a scripted fake AMI on a real loopback socket, which
answers with the bytes recorded from Asterisk 16 (tests/fixtures/ami/)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from acd.ami.client import AmiClient, ClientState
from acd.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiDisconnected,
    AmiNotSent,
    AmiProtocolError,
    AmiStateError,
    AmiTimeout,
)
from acd.ami.protocol import Message, MessageReader

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
USERNAME, SECRET = "recorder", "fixture-secret"  # what record.py logged in with


def recorded_replies(name: str) -> tuple[bytes, dict[str, tuple[str, bytes]], list[bytes]]:
    """(banner, {action: (recorded ActionID, reply bytes)}, unsolicited event bytes).
    A reply is the response plus every later message carrying the same ActionID."""
    sent = MessageReader().feed((FIXTURES / f"{name}.sent.txt").read_bytes())
    action_of = {m.action_id: m.get("Action", "") for m in sent}
    banner, _, rest = (FIXTURES / f"{name}.txt").read_bytes().partition(b"\r\n")
    replies: dict[str, tuple[str, bytes]] = {}
    unsolicited = []
    for block in rest.split(b"\r\n\r\n")[:-1]:
        found = re.search(rb"^ActionID: (\S+)", block, re.MULTILINE)
        action_id = found.group(1).decode() if found else ""
        if action_id in action_of:
            action = action_of[action_id]
            first_id, reply = replies.get(action, (action_id, b""))
            if first_id == action_id:
                replies[action] = (action_id, reply + block + b"\r\n\r\n")
        else:
            unsolicited.append(block + b"\r\n\r\n")
    return banner + b"\r\n", replies, unsolicited


BANNER, LOGIN_OK, AFTER_LOGIN = recorded_replies("login-success")
REPLIES = dict(LOGIN_OK)
for _name in ("core-show-channels", "unknown-action", "user-event", "command", "setvar-global"):
    REPLIES = recorded_replies(_name)[1] | REPLIES
LOGIN_REFUSED = recorded_replies("login-failure")[1]["Login"]
CHALLENGE = MessageReader().feed(REPLIES["Challenge"][1])[0].get("Challenge", "")


class FakeAmi:
    """Scripted AMI server: checks the MD5 login like Asterisk, replays recorded replies
    with the client's ActionIDs, and misbehaves on request."""

    def __init__(self, *, refuse_logins: int = 0, silent: Iterable[str] = (),
                 hang_up_on: Iterable[str] = (), greeting: bytes = BANNER) -> None:
        self.refusals_left = refuse_logins
        self.silent, self.hang_up_on = set(silent), set(hang_up_on)
        self.greeting = greeting
        self.actions: list[tuple[int, Message]] = []  # (connection number, action)
        self.accepted_at: list[float] = []
        self.logins = 0
        self.raw = bytearray()  # every byte the client ever sent
        self.violations: list[str] = []
        self.changed = asyncio.Condition()
        self.handlers: set[asyncio.Task[None]] = set()

    def names(self, connection: int | None = None) -> list[str]:
        return [m.get("Action", "") for c, m in self.actions
                if connection is None or c == connection]

    async def until(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        number = len(self.accepted_at)
        self.accepted_at.append(asyncio.get_running_loop().time())
        writer.write(self.greeting)
        framer = MessageReader()
        try:
            while data := await reader.read(4096):
                self.raw += data
                for action in framer.feed(data):
                    if not await self._answer(number, action, writer):
                        return
        except ConnectionResetError:
            pass  # the client hung up on us, as it does on a peer that is not Asterisk
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()
            await self._notify()

    async def _answer(self, number: int, action: Message, writer: asyncio.StreamWriter) -> bool:
        """Reply to one action; False to hang up."""
        name = action.get("Action", "")
        self.actions.append((number, action))
        if name == "Originate" and self.names().count("Originate") > 1:
            self.violations.append("Originate received twice")
        await self._notify()
        if name in self.hang_up_on:
            return False
        if name == "Login":
            return self._login(action, writer)
        if name in self.silent:
            return True
        if name not in REPLIES:
            name = "NoSuchAction"
        recorded_id, reply = REPLIES[name]
        writer.write(with_action_id(reply, recorded_id, action.action_id))
        return True

    def _login(self, action: Message, writer: asyncio.StreamWriter) -> bool:
        expected = hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
        if action.get("AuthType") != "MD5" or action.get("Secret") is not None:
            self.violations.append("login without the MD5 challenge")
        refused = action.get("Key") != expected or action.get("Username") != USERNAME
        if self.refusals_left > 0:
            self.refusals_left, refused = self.refusals_left - 1, True
        recorded_id, reply = LOGIN_REFUSED if refused else REPLIES["Login"]
        writer.write(with_action_id(reply, recorded_id, action.action_id))
        if refused:
            return False  # Asterisk 16 hangs up after a refused login
        self.logins += 1
        writer.write(b"".join(AFTER_LOGIN))  # FullyBooted, SuccessfulAuth
        return True

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()


def with_action_id(reply: bytes, recorded_id: str, action_id: str | None) -> bytes:
    return reply.replace(f"ActionID: {recorded_id}\r\n".encode(),
                         f"ActionID: {action_id}\r\n".encode())


class Harness:
    """A fake AMI, a client pointed at it, and what the client's callbacks saw."""

    def __init__(self) -> None:
        self.fake = FakeAmi()
        self.server: asyncio.Server | None = None
        self.clients: list[AmiClient] = []
        self.events: list[Message] = []
        self.connected: asyncio.Queue[ClientState] = asyncio.Queue()

    async def serve(self, fake: FakeAmi) -> int:
        self.fake = fake
        self.server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def client(self, port: int, *, secret: str = SECRET, **options: Any) -> AmiClient:
        settings = {"connect_timeout": 1.0, "action_timeout": 1.0, "ping_interval": 30.0,
                    "backoff_min": 0.01, "backoff_max": 0.05, "backoff_jitter": 0.0} | options

        async def on_connected() -> None:
            self.connected.put_nowait(client.state)

        client = AmiClient("127.0.0.1", port, USERNAME, secret, on_event=self.events.append,
                           on_connected=on_connected, **settings)
        self.clients.append(client)
        return client

    async def connected_client(self, fake: FakeAmi | None = None, **options: Any) -> AmiClient:
        client = self.client(await self.serve(fake or FakeAmi()), **options)
        await client.start()
        await client.wait_connected(2)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self.fake.handlers:
            await asyncio.wait_for(asyncio.gather(*self.fake.handlers), 2)
        assert self.fake.violations == []


@pytest.fixture
async def rig() -> AsyncIterator[Harness]:
    harness = Harness()
    yield harness
    await harness.close()


async def next_connection(rig: Harness) -> ClientState:
    return await asyncio.wait_for(rig.connected.get(), 2)


# --- scenarios -----------------------------------------------------------------------------

async def test_login_answers_the_md5_challenge_and_never_shows_the_secret(
        rig: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = await rig.connected_client()
    assert client.state is ClientState.CONNECTED
    assert await next_connection(rig) is ClientState.CONNECTED
    assert rig.fake.names() == ["Challenge", "Login"]
    login = rig.fake.actions[1][1]
    assert login.get("Key") == hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
    assert login.get("Events") == "on"
    assert sorted(m.name for m in rig.events) == ["FullyBooted", "SuccessfulAuth"]
    assert SECRET.encode() not in rig.fake.raw
    assert SECRET not in caplog.text and SECRET not in repr(client)
    assert any(r.name == "acd.ami" and "logged in" in r.getMessage() for r in caplog.records)


async def test_action_round_trips(rig: Harness) -> None:
    client = await rig.connected_client()
    channels = await client.action("CoreShowChannels")
    assert [m.name for m in channels.events][-1] == "CoreShowChannelsComplete"
    assert channels.events[0].get("CallerIDName") == "Nguyễn Văn A"
    version = await client.action("Command", {"Command": "core show version"})
    assert version.response.get("Output", "").startswith("Asterisk 16.28")
    with pytest.raises(AmiActionError, match="Invalid/unknown command") as refused:
        await client.action("NoSuchAction")
    assert refused.value.code == "ami.action"
    await client.action("UserEvent", {"UserEvent": "AcdProbe"})
    await rig.fake.until(lambda: rig.events[-1].name == "UserEvent")
    with pytest.raises(AmiProtocolError, match="control character"):
        await client.action("Originate", {"CallerID": "x\r\nAction: Originate"})
    assert "Originate" not in rig.fake.names()


async def test_originate_pending_when_the_connection_drops_is_never_sent_twice(
        rig: Harness) -> None:
    client = await rig.connected_client(FakeAmi(hang_up_on={"Originate"}))
    await next_connection(rig)
    with pytest.raises(AmiDisconnected, match=r"while Originate \(ActionID .*NOT re-sent") as sent:
        await client.action("Originate", [("Channel", "Local/s@test"), ("Application", "Wait"),
                                          ("Data", "30"), ("Variable", "CUSTOMER_CODE=KH001")])
    assert not isinstance(sent.value, AmiNotSent)  # it may have run: the caller must not guess
    assert await next_connection(rig) is ClientState.CONNECTED  # reconnected, logged in
    await client.action("Ping")  # the new connection has flushed whatever was queued
    assert rig.fake.names(1) == ["Challenge", "Login", "Ping"]
    assert rig.fake.names().count("Originate") == 1


async def test_unanswered_keepalive_drops_the_connection_and_reconnects(
        rig: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await rig.connected_client(FakeAmi(silent={"Ping"}), ping_interval=0.05, ping_timeout=0.1)
    await next_connection(rig)
    assert await next_connection(rig) is ClientState.CONNECTED
    assert rig.fake.names(0)[2] == "Ping"
    assert "keepalive Ping" in caplog.text


async def test_refused_login_surfaces_and_is_retried_with_backoff(rig: Harness) -> None:
    client = rig.client(await rig.serve(FakeAmi()), secret="wrong-secret", backoff_min=0.05)
    await client.start()
    with pytest.raises(AmiAuthError, match="refused login as 'recorder': Authentication failed"):
        await client.wait_connected(2)
    await rig.fake.until(lambda: len(rig.fake.accepted_at) >= 2)
    first, second = rig.fake.accepted_at[:2]
    assert second - first >= 0.05
    assert client.state in (ClientState.RECONNECTING, ClientState.CONNECTING)


async def test_login_refused_once_then_accepted(rig: Harness) -> None:
    client = rig.client(await rig.serve(FakeAmi(refuse_logins=1)))
    await client.start()
    with pytest.raises(AmiAuthError):
        await client.wait_connected(2)
    await client.wait_connected(2)
    assert client.state is ClientState.CONNECTED


async def test_action_without_reply_times_out(rig: Harness) -> None:
    client = await rig.connected_client(FakeAmi(silent={"Ping"}))
    with pytest.raises(AmiTimeout, match="no reply to Ping"):
        await client.action("Ping", timeout=0.05)
    assert (await client.action("CoreShowChannels")).events  # still usable


async def test_close_is_idempotent_and_refuses_later_use(rig: Harness) -> None:
    client = await rig.connected_client(FakeAmi(silent={"Ping"}))
    pending = asyncio.create_task(client.action("Ping"))
    await rig.fake.until(lambda: "Ping" in rig.fake.names())
    await asyncio.gather(client.close(), client.close())
    await client.close()
    assert client.state is ClientState.CLOSED
    with pytest.raises(AmiDisconnected):
        await pending
    with pytest.raises(AmiStateError, match=r"action\('Ping'\) called after close\(\)"):
        await client.action("Ping")
    with pytest.raises(AmiStateError, match="after close"):
        await client.wait_connected(1)
    with pytest.raises(AmiStateError, match="start"):
        await client.start()


async def test_use_before_start_is_refused(rig: Harness) -> None:
    client = rig.client(1)
    with pytest.raises(AmiStateError, match="before start"):
        await client.action("Ping")
    await client.close()
    assert client.state is ClientState.CLOSED


async def test_no_server_means_not_connected_not_crashed(rig: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = rig.client(port)
    await client.start()
    with pytest.raises(AmiTimeout, match="not connected to AMI"):
        await client.wait_connected(0.2)
    with pytest.raises(AmiNotSent, match="Ping was not sent"):  # certainly did not run
        await client.action("Ping")


async def test_a_peer_that_is_not_asterisk_is_a_protocol_error(
        rig: Harness, caplog: pytest.LogCaptureFixture) -> None:
    client = rig.client(await rig.serve(FakeAmi(greeting=b"SSH-2.0-OpenSSH_9.2\r\n")))
    await client.start()
    await rig.fake.until(lambda: len(rig.fake.accepted_at) >= 2)
    assert "not an AMI server" in caplog.text


async def test_a_failing_event_callback_is_logged_and_the_client_goes_on(
        rig: Harness, caplog: pytest.LogCaptureFixture) -> None:
    port = await rig.serve(FakeAmi())

    def broken(message: Message) -> None:
        raise RuntimeError("bug in a consumer")

    client = AmiClient("127.0.0.1", port, USERNAME, SECRET, on_event=broken)
    rig.clients.append(client)
    await client.start()
    await client.wait_connected(2)
    assert (await client.action("Ping")).response.get("Ping") == "Pong"
    assert "on_event callback failed on AMI event FullyBooted" in caplog.text


async def test_on_connected_can_rebuild_state_through_the_client(rig: Harness) -> None:
    port = await rig.serve(FakeAmi())
    seen: list[int] = []

    async def rebuild() -> None:
        seen.append(len((await client.action("CoreShowChannels")).events))

    client = AmiClient("127.0.0.1", port, USERNAME, SECRET, on_connected=rebuild)
    rig.clients.append(client)
    await client.start()
    await client.wait_connected(2)
    assert seen == [3]
