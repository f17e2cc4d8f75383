"""One call's AGI session over an asyncio transport: the thin shell around AgiConversation.

:class:`AgiConnection` is the asyncio protocol of one FastAGI connection. It hands every chunk
Asterisk sends straight to the call's :class:`AgiConversation` (which does all the framing and
parsing) and wakes the command that waits for the answer. :class:`AgiChannel` is what the IVR
uses: one method per AGI command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from .errors import AgiCommandError, AgiConnectionLost, AgiHangup, AgiProtocolError
from .protocol import (
    AgiConversation,
    AgiEnvironment,
    CommandRejected,
    EnvironmentReceived,
    HangupNotice,
    Reply,
)

log = logging.getLogger("ivr.agi")

DIGITS = "0123456789*#"

Answer = Reply | CommandRejected


class AgiConnection(asyncio.Protocol):
    """The socket side of one call: bytes in go to the conversation, answers to the waiter.

    Data is taken as it arrives, also between commands, so an inline ``HANGUP`` marks the
    conversation hung up at once. A failure of the connection (the peer closed it, or broke the
    protocol) is kept and raised to the command waiting then, or else to the next one.

    Writes need no flow control: one command is in flight at a time, and its answer means
    Asterisk has read the whole line, so at most one command line (2048 bytes at most) is ever
    buffered, far below the transport's high-water mark.
    """

    __slots__ = (
        "_closed", "_error", "_on_connect", "_task", "_waiter", "conversation", "environment",
        "transport",
    )

    transport: asyncio.Transport
    _task: asyncio.Task[None]
    _closed: asyncio.Future[None]

    def __init__(self, on_connect: Callable[[AgiConnection], Coroutine[Any, Any, None]]) -> None:
        self.conversation = AgiConversation()
        self.environment: AgiEnvironment | None = None
        self._on_connect = on_connect
        self._waiter: asyncio.Future[Answer | None] | None = None
        self._error: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        self._task = loop.create_task(self._on_connect(self))

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        try:
            events = self.conversation.receive_data(data)
        except AgiProtocolError as exc:
            self._fail(exc)
            return
        for event in events:
            if type(event) is Reply or type(event) is CommandRejected:
                self._wake(event)
            elif isinstance(event, HangupNotice):
                log.debug("inline HANGUP on %s", self.environment and self.environment.channel)
            elif isinstance(event, EnvironmentReceived):
                self.environment = event.environment
                self._wake(None)

    def eof_received(self) -> bool | None:
        self._fail(ConnectionResetError("peer closed the connection"))
        return None  # and close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None:
            self._fail(ConnectionResetError("connection closed"))
        elif isinstance(exc, ConnectionError):
            self._fail(exc)
        else:  # any other socket error is a lost connection too
            lost = ConnectionResetError(f"connection lost: {exc}")
            lost.__cause__ = exc
            self._fail(lost)
        if not self._closed.done():
            self._closed.set_result(None)

    def _wake(self, answer: Answer | None) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        elif answer is not None:
            # the command that asked was cancelled; the conversation is idle again
            log.debug("answer to a cancelled command dropped")

    def _fail(self, exc: Exception) -> None:
        if self._error is None:
            self._error = exc
            if not self.transport.is_closing():
                self.transport.pause_reading()  # nothing more will be read
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._error)

    # -- for the server and the channel ---------------------------------------------------------

    async def read_environment(self) -> AgiEnvironment:
        while self.environment is None:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.environment

    def send(self, line: bytes) -> asyncio.Future[Answer | None]:
        """Write one command line; return the future of its answer."""
        if self._error is not None:
            raise self._error
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(line)
        return waiter

    def close(self) -> None:
        self.transport.close()

    async def wait_closed(self) -> None:
        await self._closed


class AgiChannel:
    """Send AGI commands for one channel and get their replies.

    Commands raise :class:`AgiHangup` once the caller is gone, :class:`AgiCommandError` for a
    510/520 answer and :class:`AgiConnectionLost` when the socket closes or a reply is late.
    """

    __slots__ = ("_command_timeout", "_connection", "_conversation", "environment")

    def __init__(
        self,
        connection: AgiConnection,
        environment: AgiEnvironment,
        *,
        command_timeout: float | None = None,
    ) -> None:
        self.environment = environment
        self._connection = connection
        self._conversation = connection.conversation
        self._command_timeout = command_timeout

    @property
    def hung_up(self) -> bool:
        return self._conversation.hung_up

    async def command(self, command: str, *args: str, timeout: float | None = None) -> Reply:
        if self._conversation.hung_up:
            raise AgiHangup(f"caller hung up before {command}")
        data = self._conversation.send(command, *args)
        try:
            answer_received = self._connection.send(data)
            limit = timeout if timeout is not None else self._command_timeout
            if limit is None:
                answer = await answer_received
            else:
                async with asyncio.timeout(limit):
                    answer = await answer_received
        except ConnectionError as exc:
            self._conversation.close()
            raise AgiConnectionLost(f"AGI connection lost during {command}: {exc}") from exc
        except TimeoutError as exc:
            self._conversation.close()
            raise AgiConnectionLost(f"no reply to {command} in time") from exc
        if type(answer) is Reply:
            return answer
        assert isinstance(answer, CommandRejected)
        if answer.status == 511:
            raise AgiHangup(f"channel is gone ({command} answered 511)")
        raise AgiCommandError(answer.status, answer.message, command)

    # -- the commands the IVR uses -------------------------------------------------------------

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def stream_file(self, path: str, escape_digits: str = "") -> tuple[str | None, int]:
        """Play a file; return the key that interrupted it (or None) and the end position."""
        reply = await self.command("STREAM FILE", path, escape_digits)
        endpos = int(reply.extras.get("endpos", "0") or 0)
        if reply.result < 0:
            # -1 means either "caller gone" or "file not found"; the channel's status tells.
            await self.command("CHANNEL STATUS")
            raise AgiCommandError(200, f"could not play {path}", "STREAM FILE")
        return (chr(reply.result) if reply.result > 0 else None), endpos

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        reply = await self.command("WAIT FOR DIGIT", str(timeout_ms),
                                   timeout=timeout_ms / 1000 + 10)
        if reply.result < 0:
            raise AgiHangup("caller gone while waiting for a key")
        return chr(reply.result) if reply.result > 0 else None

    async def record_file(self, path: str, escape_digits: str, timeout_ms: int,
                          silence_s: int) -> str | None:
        """Record the caller into ``path``.wav until ``silence_s`` seconds of silence, a key of
        ``escape_digits`` (returned) or ``timeout_ms``; None when no key ended it."""
        reply = await self.command("RECORD FILE", path, "wav", escape_digits, str(timeout_ms),
                                   "0", f"s={silence_s}", timeout=timeout_ms / 1000 + 10)
        if reply.result < 0:
            await self.command("CHANNEL STATUS")  # raises AgiHangup when the caller is gone
            raise AgiCommandError(200, f"could not record to {path}", "RECORD FILE")
        # "(dtmf)": the result is the key; "(timeout)" after silence or the time limit: the
        # result is then what was left of the time limit, not a key
        return chr(reply.result) if reply.data == "dtmf" and reply.result > 0 else None

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == 1 else None

    async def hangup(self) -> None:
        await self.command("HANGUP")
