"""A scripted fake Asterisk for the FastAGI benchmarks, meant to run in its own process.

It opens S FastAGI connections to a server, sends each the recorded AGI environment, then answers
every command line it receives at once with a canned status line, until the server closes the
connection. It does no timing of its own beyond counting; the latency samples are taken inside the
server under test.

The parent talks to it over a ``multiprocessing`` pipe:

    parent -> child   ("run", host, port, sessions, environment_bytes, connect_batch)
    child  -> parent  ("connected", seconds_to_open_all_sessions)
    child  -> parent  ("done", {"sessions": ..., "commands": ..., "cpu_s": ..., ...})
    parent -> child   ("stop",)
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any

#: Canned answers, chosen by the command's first two words. Anything else gets ``200 result=1``.
REPLIES: dict[bytes, bytes] = {
    b"STREAM FILE": b"200 result=0 endpos=1234\n",
    b"GET VARIABLE": b"200 result=1 (bar)\n",
    b"WAIT FOR": b"200 result=0\n",
}
DEFAULT_REPLY = b"200 result=1\n"


def reply_for(line: bytes) -> bytes:
    space = line.find(b" ")
    if space < 0:
        return DEFAULT_REPLY
    second = line.find(b" ", space + 1)
    key = line if second < 0 else line[:second]
    return REPLIES.get(key, DEFAULT_REPLY)


class _Session(asyncio.Protocol):
    """One fake call: send the environment, answer each command line immediately."""

    def __init__(self, environment: bytes, run: _Run) -> None:
        self._environment = environment
        self._run = run
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self.commands = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._environment)

    def data_received(self, data: bytes) -> None:
        lines = (self._buffer + data).split(b"\n")
        self._buffer = lines.pop()
        if not lines:
            return
        self.commands += len(lines)
        assert self._transport is not None
        if len(lines) == 1:
            self._transport.write(reply_for(lines[0]))
        else:
            self._transport.write(b"".join(reply_for(line) for line in lines))

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._run.session_closed(self)


class _Run:
    def __init__(self, sessions: int) -> None:
        self.expected = sessions
        self.closed = 0
        self.commands = 0
        self.all_closed = asyncio.get_running_loop().create_future()

    def session_closed(self, session: _Session) -> None:
        self.closed += 1
        self.commands += session.commands
        if self.closed == self.expected and not self.all_closed.done():
            self.all_closed.set_result(None)


async def _one_run(
    conn: Connection, host: str, port: int, sessions: int, environment: bytes, batch: int
) -> None:
    loop = asyncio.get_running_loop()
    run = _Run(sessions)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    failed = 0
    # Open the connections in batches so a burst never overflows the listen backlog (a dropped
    # SYN costs a 1 s retransmit, which would only measure the kernel, not the server).
    for start in range(0, sessions, batch):
        count = min(batch, sessions - start)
        results = await asyncio.gather(
            *(
                loop.create_connection(lambda: _Session(environment, run), host, port)
                for _ in range(count)
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                failed += 1
                run.expected -= 1
    conn.send(("connected", time.perf_counter() - t0))
    if run.expected > 0 and run.closed < run.expected:
        await run.all_closed
    conn.send(
        (
            "done",
            {
                "sessions": run.closed,
                "failed_connects": failed,
                "commands": run.commands,
                "cpu_s": time.process_time() - cpu0,
                "wall_s": time.perf_counter() - t0,
            },
        )
    )


async def _serve(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    def readable() -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except EOFError:
            inbox.put_nowait(("stop",))

    loop.add_reader(conn.fileno(), readable)
    conn.send(("ready",))
    try:
        while True:
            message = await inbox.get()
            if message[0] == "stop":
                return
            if message[0] == "run":
                _, host, port, sessions, environment, batch = message
                await _one_run(conn, host, port, sessions, environment, batch)
    finally:
        loop.remove_reader(conn.fileno())


def main(conn: Connection) -> None:
    """Entry point of the fake-Asterisk process."""
    try:
        asyncio.run(_serve(conn))
    except KeyboardInterrupt:
        pass
    finally:
        conn.close()
