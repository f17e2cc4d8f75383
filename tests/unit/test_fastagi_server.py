"""The FastAGI server over a real loopback socket, driven by a scripted fake Asterisk that opens
each call with the environment recorded from Asterisk 16 (tests/fixtures/agi/) and answers every
command with the reply lines Asterisk sends.

Each scenario installs an IVR route written for it; the route records what the AgiChannel gave
it (values or the exception) so the test can check it, and the fake records every byte the
server wrote so the test can check the wire too.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from ivr.agi.channel import AgiChannel
from ivr.agi.errors import (
    AgiArgumentError,
    AgiCommandError,
    AgiConnectionLost,
    AgiHangup,
)
from ivr.agi.protocol import State
from ivr.agi.server import FastAgiServer, Handler, ServerState

FIXTURES = Path(__file__).parent.parent / "fixtures" / "agi"
ENVIRONMENT = (FIXTURES / "environment-asterisk16.txt").read_bytes()
TOKEN = "not-the-real-token"  # agi_arg_1 of the recorded environment
UNIQUEID = "1795650578.11"
CALLER, SIP_CALL_ID = "0909123456", "hcc7dc7cb08f8fx1@127.0.0.1"
WAIT = 2.0  # the longest any single expected effect may take
DEAD_CHANNEL = b"511 Command Not Permitted on a dead channel or intercept routine\n"
USAGE_STREAM_FILE = (
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b" Usage: STREAM FILE <filename> <escape_digits> [<sample offset>]\n"
    b"\tSend the given file, allowing playback to be interrupted by the given digits, if any.\n"
    b"520 End of proper usage.\n"
)


def environment(**changes: str | None) -> bytes:
    """The recorded environment with some variables changed (None removes the line)."""
    lines = ENVIRONMENT.decode().split("\n")
    out = []
    for line in lines:
        name = line.partition(":")[0]
        if name in changes:
            if changes[name] is not None:
                out.append(f"{name}: {changes[name]}")
            continue
        out.append(line)
    return "\n".join(out).encode()


Body = Callable[[AgiChannel], Awaitable[Any]]


class Route:
    """An IVR route written for one scenario: runs ``body`` per call and keeps what each call
    ended with (the body's return value, or the exception it raised, which is re-raised so the
    server sees it exactly as it would from the real IVR)."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self.calls: list[tuple[str, tuple[str, ...]]] = []  # (uniqueid, args)
        self.outcomes: asyncio.Queue[Any] = asyncio.Queue()

    async def __call__(self, channel: AgiChannel, args: tuple[str, ...]) -> None:
        self.calls.append((channel.environment.uniqueid, args))
        try:
            result = await self.body(channel)
        except BaseException as exc:
            self.outcomes.put_nowait(exc)
            raise
        self.outcomes.put_nowait(result)

    async def outcome(self) -> Any:
        return await asyncio.wait_for(self.outcomes.get(), WAIT)


class FakeAsterisk:
    """The Asterisk side of one FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = bytearray()  # every byte the server sent us

    @classmethod
    async def dial(cls, port: int) -> FakeAsterisk:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def command(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), WAIT)
        assert line.endswith(b"\n"), f"server closed instead of sending a command: {line!r}"
        self.received += line
        return line

    async def answer(self, expected: bytes, reply: bytes) -> None:
        """Read one command, check it byte for byte, send Asterisk's reply."""
        assert await self.command() == expected
        await self.send(reply)

    async def closed_by_server(self) -> bytes:
        """Wait for the server to close the connection; what it sent before closing."""
        rest = await asyncio.wait_for(self.reader.read(), WAIT)
        self.received += rest
        return rest

    async def hang_up(self) -> None:
        self.writer.close()
        with suppress(OSError):
            await self.writer.wait_closed()


class Rig:
    def __init__(self) -> None:
        self.servers: list[FastAgiServer] = []
        self.fakes: list[FakeAsterisk] = []

    async def serve(self, routes: dict[str, Handler], **options: Any) -> FastAgiServer:
        server = FastAgiServer(routes, token=TOKEN, port=0, **{"header_timeout": WAIT} | options)
        await server.start()
        self.servers.append(server)
        return server

    async def call(self, server: FastAgiServer, env: bytes = ENVIRONMENT) -> FakeAsterisk:
        fake = await FakeAsterisk.dial(server.port)
        self.fakes.append(fake)
        await fake.send(env)
        return fake

    async def close(self) -> None:
        for fake in self.fakes:
            await fake.hang_up()
        for server in self.servers:
            await asyncio.wait_for(server.stop(drain_timeout=WAIT), 2 * WAIT + 3)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    harness = Rig()
    yield harness
    await harness.close()


@pytest.fixture
def agi_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "ivr.agi" and r.levelno >= logging.ERROR]


# --- a call from start to finish -------------------------------------------------------------

async def test_a_call_runs_its_commands_escaped_and_reads_asterisks_replies(rig: Rig) -> None:
    async def ivr(channel: AgiChannel) -> dict[str, Any]:
        seen: dict[str, Any] = {"env": (channel.environment.channel, channel.environment.uniqueid)}
        await channel.answer()
        seen["welcome"] = await channel.stream_file("/var/lib/hotline/sounds/vi/welcome", "12#")
        seen["menu"] = await channel.stream_file("/var/lib/hotline/sounds/vi/main_menu")
        seen["digit"] = await channel.wait_for_digit(5000)
        seen["no digit"] = await channel.wait_for_digit(5000)
        await channel.set_variable("CDR(hotline_note)", 'Bấm "2" \\ tiền điện')
        seen["next"] = await channel.get_variable("HOTLINE_NEXT")
        seen["unset"] = await channel.get_variable("NO_SUCH_VARIABLE")
        try:
            await channel.set_variable("HOTLINE_NEXT", "queue\nEXEC Dial")
        except AgiArgumentError as exc:
            seen["refused"] = str(exc)
        await channel.hangup()
        return seen

    route = Route(ivr)
    server = await rig.serve({"ivr": route})
    assert server.state is ServerState.SERVING and server.port != 0
    fake = await rig.call(server)

    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    await fake.answer(b'STREAM FILE "/var/lib/hotline/sounds/vi/welcome" "12#"\n',
                      b"200 result=50 endpos=5120\n")  # interrupted by '2'
    await fake.answer(b'STREAM FILE "/var/lib/hotline/sounds/vi/main_menu" ""\n',
                      b"200 result=0 endpos=38400\n")
    await fake.answer(b'WAIT FOR DIGIT "5000"\n', b"200 result=35\n")
    # a reply split across TCP writes is still one reply
    assert await fake.command() == b'WAIT FOR DIGIT "5000"\n'
    await fake.send(b"200 res")
    await fake.send(b"ult=0\n")
    await fake.answer(
        'SET VARIABLE "CDR(hotline_note)" "Bấm \\"2\\" \\\\ tiền điện"\n'.encode(),
        b"200 result=1\n")
    await fake.answer(b'GET VARIABLE "HOTLINE_NEXT"\n', b"200 result=1 (queue)\n")
    await fake.answer(b'GET VARIABLE "NO_SUCH_VARIABLE"\n', b"200 result=0\n")
    await fake.answer(b"HANGUP\n", b"200 result=1\n")
    assert await fake.closed_by_server() == b""

    assert await route.outcome() == {
        "env": ("PJSIP/trunk-00000005", UNIQUEID),
        "welcome": ("2", 5120),
        "menu": (None, 38400),
        "digit": "#",
        "no digit": None,
        "next": "queue",
        "unset": None,
        "refused": "AGI argument contains control character '\\n' at 5",
    }
    assert route.calls == [(UNIQUEID, (CALLER, SIP_CALL_ID))]  # the token is not passed on
    assert bytes(fake.received) == (
        b"ANSWER\n"
        b'STREAM FILE "/var/lib/hotline/sounds/vi/welcome" "12#"\n'
        b'STREAM FILE "/var/lib/hotline/sounds/vi/main_menu" ""\n'
        b'WAIT FOR DIGIT "5000"\n'
        b'WAIT FOR DIGIT "5000"\n'
        + 'SET VARIABLE "CDR(hotline_note)" "Bấm \\"2\\" \\\\ tiền điện"\n'.encode()
        + b'GET VARIABLE "HOTLINE_NEXT"\n'
        b'GET VARIABLE "NO_SUCH_VARIABLE"\n'
        b"HANGUP\n"
    )
    assert server.active_sessions == 0


# --- the caller hangs up ---------------------------------------------------------------------

async def test_inline_hangup_then_511_for_the_same_command_is_a_hangup(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    async def ivr(channel: AgiChannel) -> Any:
        await channel.answer()
        await channel.wait_for_digit(5000)

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    assert await fake.command() == b'WAIT FOR DIGIT "5000"\n'
    await fake.send(b"HANGUP\n")
    await fake.send(DEAD_CHANNEL)
    assert await fake.closed_by_server() == b""

    hangup = await route.outcome()
    assert isinstance(hangup, AgiHangup) and hangup.code == "agi.hangup"
    assert "WAIT FOR DIGIT answered 511" in str(hangup)
    # a hang-up is how calls normally end: logged at INFO, not as an error
    assert errors(agi_log) == []
    assert f"call {UNIQUEID}: caller hung up (channel is gone" in agi_log.text


async def test_inline_hangup_before_a_reply_stops_every_later_command_before_it_is_sent(
        rig: Rig) -> None:
    async def ivr(channel: AgiChannel) -> Any:
        played = await channel.stream_file("sounds/vi/welcome", "0123456789*#")
        assert channel.hung_up
        try:
            await channel.wait_for_digit(5000)
        except AgiHangup as exc:
            return played, str(exc)

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    assert await fake.command() == b'STREAM FILE "sounds/vi/welcome" "0123456789*#"\n'
    await fake.send(b"HANGUP\n200 result=0 endpos=4000\n")
    assert await fake.closed_by_server() == b""  # no WAIT FOR DIGIT on a dead channel
    assert await route.outcome() == ((None, 4000), "caller hung up before WAIT FOR DIGIT")


async def test_hangup_during_playback_with_agisighup_ends_the_call_without_channel_status(
        rig: Rig) -> None:
    # Asterisk with AGISIGHUP: HANGUP, then STREAM FILE's own -1; the channel asks nothing more.
    route = Route(lambda channel: channel.stream_file("sounds/vi/main_menu", "12"))
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b'STREAM FILE "sounds/vi/main_menu" "12"\n',
                      b"HANGUP\n200 result=-1 endpos=3200\n")
    assert await fake.closed_by_server() == b""
    hangup = await route.outcome()
    assert isinstance(hangup, AgiHangup) and "before CHANNEL STATUS" in str(hangup)


async def test_minus_one_from_stream_file_then_511_is_a_hangup(rig: Rig) -> None:
    route = Route(lambda channel: channel.stream_file("sounds/vi/main_menu", "12"))
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b'STREAM FILE "sounds/vi/main_menu" "12"\n',
                      b"200 result=-1 endpos=0\n")
    await fake.answer(b"CHANNEL STATUS\n", DEAD_CHANNEL)
    assert await fake.closed_by_server() == b""
    hangup = await route.outcome()
    assert isinstance(hangup, AgiHangup) and "CHANNEL STATUS answered 511" in str(hangup)


async def test_minus_one_from_stream_file_on_a_live_channel_means_the_file_is_missing(
        rig: Rig) -> None:
    route = Route(lambda channel: channel.stream_file("sounds/vi/no_such_prompt", "12"))
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b'STREAM FILE "sounds/vi/no_such_prompt" "12"\n',
                      b"200 result=-1 endpos=0\n")
    await fake.answer(b"CHANNEL STATUS\n", b"200 result=6\n")  # 6: up
    assert await fake.closed_by_server() == b""
    missing = await route.outcome()
    assert isinstance(missing, AgiCommandError) and missing.code == "agi.command"
    assert missing.command == "STREAM FILE"
    assert missing.message == "could not play sounds/vi/no_such_prompt"


async def until(condition: Callable[[], object]) -> None:
    """Wait for something the server does on its own when data arrives."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.005)


async def test_hangup_between_commands_stops_the_next_command_before_it_is_sent(
        rig: Rig) -> None:
    between = asyncio.Event()
    channels: list[AgiChannel] = []

    async def ivr(channel: AgiChannel) -> Any:
        channels.append(channel)
        await channel.answer()
        await between.wait()
        await channel.stream_file("sounds/vi/main_menu", "12")

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    await fake.send(b"HANGUP\n")  # while the IVR is busy elsewhere
    await until(lambda: channels[0].hung_up)  # read at once, not at the next command
    between.set()
    assert await fake.closed_by_server() == b""
    hangup = await route.outcome()
    assert isinstance(hangup, AgiHangup) and "before STREAM FILE" in str(hangup)


async def test_peer_closing_between_commands_is_connection_lost_at_the_next_command(
        rig: Rig) -> None:
    between = asyncio.Event()

    async def ivr(channel: AgiChannel) -> Any:
        await channel.answer()
        await between.wait()
        await channel.stream_file("sounds/vi/main_menu", "12")

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    await fake.hang_up()
    between.set()
    lost = await route.outcome()
    assert isinstance(lost, AgiConnectionLost) and "during STREAM FILE" in str(lost)


async def test_the_late_answer_to_a_cancelled_command_is_not_taken_for_the_next_ones(
        rig: Rig) -> None:
    cancelled, answered = asyncio.Event(), asyncio.Event()
    channels: list[AgiChannel] = []

    async def ivr(channel: AgiChannel) -> Any:
        channels.append(channel)
        with pytest.raises(TimeoutError):  # the IVR gives up on its own
            await asyncio.wait_for(channel.wait_for_digit(5000), 0.05)
        cancelled.set()
        await answered.wait()
        return await channel.get_variable("HOTLINE_NEXT")

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    assert await fake.command() == b'WAIT FOR DIGIT "5000"\n'
    await asyncio.wait_for(cancelled.wait(), WAIT)
    await fake.send(b"200 result=49\n")  # the answer to WAIT FOR DIGIT, late
    await until(lambda: channels[0]._conversation.state is State.IDLE)
    answered.set()
    await fake.answer(b'GET VARIABLE "HOTLINE_NEXT"\n', b"200 result=1 (queue)\n")
    assert await route.outcome() == "queue"
    assert await fake.closed_by_server() == b""


# --- Asterisk refuses a command --------------------------------------------------------------

async def test_unknown_command_and_usage_replies_are_command_errors_and_the_call_goes_on(
        rig: Rig) -> None:
    async def ivr(channel: AgiChannel) -> list[Any]:
        seen: list[Any] = []
        for command in ("FROBNICATE", "STREAM FILE"):
            try:
                await channel.command(command)
            except AgiCommandError as exc:
                seen.append((exc.status, exc.command, exc.message))
        await channel.answer()
        return seen

    route = Route(ivr)
    fake = await rig.call(await rig.serve({"ivr": route}))
    await fake.answer(b"FROBNICATE\n", b"510 Invalid or unknown command\n")
    await fake.answer(b"STREAM FILE\n", USAGE_STREAM_FILE)
    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    assert await fake.closed_by_server() == b""
    unknown, usage = await route.outcome()
    assert unknown == (510, "FROBNICATE", "Invalid or unknown command")
    assert usage[:2] == (520, "STREAM FILE")
    assert usage[2].startswith("Invalid command syntax.  Proper usage follows:\n"
                               " Usage: STREAM FILE <filename> <escape_digits>")


# --- the connection breaks -------------------------------------------------------------------

@pytest.mark.parametrize("last_words", [b"", b"200 res"], ids=["silent", "half a reply"])
async def test_peer_disconnecting_mid_command_is_connection_lost(
        rig: Rig, last_words: bytes) -> None:
    route = Route(lambda channel: channel.wait_for_digit(5000))
    fake = await rig.call(await rig.serve({"ivr": route}))
    assert await fake.command() == b'WAIT FOR DIGIT "5000"\n'
    await fake.send(last_words)
    await fake.hang_up()
    lost = await route.outcome()
    assert isinstance(lost, AgiConnectionLost) and lost.code == "agi.connection_lost"
    assert "during WAIT FOR DIGIT" in str(lost)


async def test_a_reply_later_than_command_timeout_is_connection_lost(rig: Rig) -> None:
    route = Route(lambda channel: channel.answer())
    fake = await rig.call(await rig.serve({"ivr": route}, command_timeout=0.2))
    assert await fake.command() == b"ANSWER\n"
    lost = await route.outcome()
    assert isinstance(lost, AgiConnectionLost) and str(lost) == "no reply to ANSWER in time"
    assert await fake.closed_by_server() == b""


# --- peers that are refused ------------------------------------------------------------------

@pytest.mark.parametrize(
    "env, problem",
    [
        (b"agi_network: yes\nagi_request: agi://127.0.0.1:4573/ivr\nthis is not agi\n\n",
         ("malformed AGI environment line 3 starting 'this is not agi' (expected 'agi_name: "
         "value')")),
        (environment(agi_request=None), "AGI environment ended without agi_request"),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "malformed AGI environment line 1"),
    ],
    ids=["garbage line", "no agi_request", "http client"],
)
async def test_malformed_environment_is_logged_and_closed_without_calling_the_ivr(
        rig: Rig, agi_log: pytest.LogCaptureFixture, env: bytes, problem: str) -> None:
    route = Route(lambda channel: channel.answer())
    fake = await rig.call(await rig.serve({"ivr": route}), env)
    assert await fake.closed_by_server() == b""
    (logged,) = errors(agi_log)
    assert re.fullmatch(r"FastAGI peer 127\.0\.0\.1:\d+: .*; closing", logged)
    assert problem in logged
    assert route.calls == []


async def test_peer_that_sends_nothing_is_dropped_after_header_timeout(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    route = Route(lambda channel: channel.answer())
    server = await rig.serve({"ivr": route}, header_timeout=0.3)
    loop = asyncio.get_running_loop()
    began = loop.time()
    fake = await FakeAsterisk.dial(server.port)
    rig.fakes.append(fake)
    assert await fake.closed_by_server() == b""
    assert loop.time() - began >= 0.29
    (logged,) = errors(agi_log)
    assert re.fullmatch(r"FastAGI peer 127\.0\.0\.1:\d+ sent no complete AGI environment "
                        r"within 0\.3 s; closing", logged)
    assert route.calls == [] and server.active_sessions == 0


async def test_peer_that_stops_halfway_through_the_environment_is_dropped_too(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    route = Route(lambda channel: channel.answer())
    server = await rig.serve({"ivr": route}, header_timeout=0.3)
    fake = await rig.call(server, ENVIRONMENT[:200])
    assert await fake.closed_by_server() == b""
    assert "sent no complete AGI environment within 0.3 s" in " ".join(errors(agi_log))
    assert route.calls == []


@pytest.mark.parametrize(
    "token",
    [None, "", "wrong-token-9f8e7d", "not-the-real-token-", "not-the-real", "NOT-THE-REAL-TOKEN"],
    ids=["missing", "empty", "wrong", "longer", "prefix", "case"],
)
async def test_wrong_or_missing_token_is_refused_without_logging_the_token(
        rig: Rig, agi_log: pytest.LogCaptureFixture, token: str | None) -> None:
    route = Route(lambda channel: channel.answer())
    env = environment(agi_arg_1=token, **({"agi_arg_2": None, "agi_arg_3": None}
                                          if token is None else {}))
    fake = await rig.call(await rig.serve({"ivr": route}), env)
    assert await fake.closed_by_server() == b""
    (logged,) = errors(agi_log)
    assert re.fullmatch(r"FastAGI peer 127\.0\.0\.1:\d+: missing or wrong token for script "
                        r"'ivr'; closing", logged)
    for secret in {TOKEN, token or TOKEN}:
        assert secret not in agi_log.text
        assert all(secret not in r.getMessage() for r in agi_log.records)
    assert route.calls == []


async def test_unknown_script_is_refused(rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    route = Route(lambda channel: channel.answer())
    env = environment(agi_network_script="acd", agi_request="agi://127.0.0.1:4573/acd")
    fake = await rig.call(await rig.serve({"ivr": route}), env)
    assert await fake.closed_by_server() == b""
    (logged,) = errors(agi_log)
    assert re.fullmatch(r"FastAGI peer 127\.0\.0\.1:\d+ asked for unknown script 'acd'; closing",
                        logged)
    assert route.calls == []


async def test_peer_outside_allowed_peers_is_refused_before_reading_anything(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    route = Route(lambda channel: channel.answer())
    server = await rig.serve({"ivr": route}, allowed_peers=("192.0.2.10",))
    fake = await rig.call(server)
    assert await fake.closed_by_server() == b""
    assert re.search(r"FastAGI connection from 127\.0\.0\.1:\d+ refused: peer not allowed",
                     agi_log.text)
    assert route.calls == []


# --- a broken IVR route does not take the server down ----------------------------------------

async def test_a_crashing_route_is_logged_with_the_uniqueid_and_the_next_call_is_served(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    async def ivr(channel: AgiChannel) -> str:
        await channel.answer()
        if channel.environment.uniqueid == UNIQUEID:
            raise RuntimeError("menu bug")
        await channel.hangup()
        return "served"

    route = Route(ivr)
    server = await rig.serve({"ivr": route})
    first = await rig.call(server)
    await first.answer(b"ANSWER\n", b"200 result=0\n")
    assert await first.closed_by_server() == b""
    (crash,) = [r for r in agi_log.records if r.name == "ivr.agi" and r.levelno >= logging.ERROR]
    assert crash.getMessage() == f"call {UNIQUEID}: unexpected error in the IVR"
    assert crash.exc_info is not None and crash.exc_info[0] is RuntimeError

    second = await rig.call(server, environment(agi_uniqueid="1795650590.12"))
    await second.answer(b"ANSWER\n", b"200 result=0\n")
    await second.answer(b"HANGUP\n", b"200 result=1\n")
    assert await second.closed_by_server() == b""
    assert isinstance(await route.outcome(), RuntimeError)
    assert await route.outcome() == "served"
    assert [uniqueid for uniqueid, _ in route.calls] == [UNIQUEID, "1795650590.12"]
    assert server.state is ServerState.SERVING


# --- stopping --------------------------------------------------------------------------------

async def test_stop_refuses_new_calls_and_lets_the_call_in_progress_finish(
        rig: Rig, agi_log: pytest.LogCaptureFixture) -> None:
    server: FastAgiServer

    async def ivr(channel: AgiChannel) -> Any:
        await channel.answer()
        key, _ = await channel.stream_file("sounds/vi/main_menu", "12")
        stopping = server.stopping.is_set()
        await channel.set_variable("HOTLINE_NEXT", "queue" if stopping else "hangup")
        return key, stopping

    route = Route(ivr)
    server = await rig.serve({"ivr": route})
    fake = await rig.call(server)
    await fake.answer(b"ANSWER\n", b"200 result=0\n")
    assert await fake.command() == b'STREAM FILE "sounds/vi/main_menu" "12"\n'

    stopping = asyncio.create_task(server.stop(drain_timeout=WAIT))
    await asyncio.wait_for(server.stopping.wait(), WAIT)
    assert server.state is ServerState.DRAINING
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)
    assert not stopping.done() and server.active_sessions == 1

    await fake.send(b"200 result=49 endpos=9600\n")
    await fake.answer(b'SET VARIABLE "HOTLINE_NEXT" "queue"\n', b"200 result=1\n")
    assert await fake.closed_by_server() == b""
    await asyncio.wait_for(stopping, WAIT)
    assert await route.outcome() == ("1", True)
    assert (server.state, server.active_sessions) == (ServerState.STOPPED, 0)
    assert "waiting for 1 call(s) to finish their step" in agi_log.text
    await server.stop()  # a second stop is a no-op
    with pytest.raises(RuntimeError, match="cannot start: it is stopped"):
        await server.start()


async def test_stop_cancels_a_call_that_outlives_the_drain_timeout(rig: Rig) -> None:
    route = Route(lambda channel: channel.wait_for_digit(60000))
    server = await rig.serve({"ivr": route})
    fake = await rig.call(server)
    assert await fake.command() == b'WAIT FOR DIGIT "60000"\n'  # and Asterisk never answers
    await asyncio.wait_for(server.stop(drain_timeout=0.2), WAIT)
    assert isinstance(await route.outcome(), asyncio.CancelledError)
    assert await fake.closed_by_server() == b""
    assert server.state is ServerState.STOPPED and server.active_sessions == 0
