"""One call's AGI session over asyncio streams: the thin shell around AgiConversation."""

from __future__ import annotations

import asyncio
import logging

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


class AgiChannel:
    """Send AGI commands for one channel and get their replies.

    Commands raise :class:`AgiHangup` once the caller is gone, :class:`AgiCommandError` for a
    510/520 answer and :class:`AgiConnectionLost` when the socket closes or a reply is late.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conversation: AgiConversation,
        environment: AgiEnvironment,
        *,
        command_timeout: float | None = None,
    ) -> None:
        self.environment = environment
        self._reader = reader
        self._writer = writer
        self._conversation = conversation
        self._command_timeout = command_timeout
        self._pending: list[Reply | CommandRejected] = []

    @property
    def hung_up(self) -> bool:
        return self._conversation.hung_up

    async def command(self, command: str, *args: str, timeout: float | None = None) -> Reply:
        if self.hung_up:
            raise AgiHangup(f"caller hung up before {command}")
        data = self._conversation.send(command, *args)
        try:
            self._writer.write(data)
            await self._writer.drain()
            limit = timeout if timeout is not None else self._command_timeout
            if limit is None:
                answer = await self._next_answer()
            else:
                async with asyncio.timeout(limit):
                    answer = await self._next_answer()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._conversation.close()
            raise AgiConnectionLost(f"AGI connection lost during {command}: {exc}") from exc
        except TimeoutError as exc:
            self._conversation.close()
            raise AgiConnectionLost(f"no reply to {command} in time") from exc
        if isinstance(answer, CommandRejected):
            if answer.status == 511:
                raise AgiHangup(f"channel is gone ({command} answered 511)")
            raise AgiCommandError(answer.status, answer.message, command)
        return answer

    async def _next_answer(self) -> Reply | CommandRejected:
        while not self._pending:
            chunk = await self._reader.read(4096)
            if not chunk:
                raise ConnectionResetError("peer closed the connection")
            for event in self._conversation.receive_data(chunk):
                if isinstance(event, (Reply, CommandRejected)):
                    self._pending.append(event)
                elif isinstance(event, HangupNotice):
                    log.debug("inline HANGUP on %s", self.environment.channel)
                elif isinstance(event, EnvironmentReceived):  # pragma: no cover - guarded
                    raise AgiProtocolError("second AGI environment in one conversation")
        return self._pending.pop(0)

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

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == 1 else None

    async def hangup(self) -> None:
        await self.command("HANGUP")
