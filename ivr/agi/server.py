"""The FastAGI server: accepts Asterisk's connections and runs one handler per call.

Security: only peers from ``allowed_peers`` (loopback by default) are served, and the first AGI
argument must be the generated token that only our rendered dialplan knows. The token is never
logged. A peer that sends no environment within ``header_timeout`` is dropped with a log line.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import logging
from collections.abc import Awaitable, Callable

from .channel import AgiChannel, AgiConnection
from .errors import AgiError, AgiHangup, AgiProtocolError
from .protocol import AgiEnvironment

log = logging.getLogger("ivr.agi")

Handler = Callable[[AgiChannel, tuple[str, ...]], Awaitable[None]]


class ServerState(enum.Enum):
    IDLE = "idle"
    SERVING = "serving"
    DRAINING = "draining"
    STOPPED = "stopped"


class FastAgiServer:
    def __init__(
        self,
        routes: dict[str, Handler],
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 4573,
        allowed_peers: tuple[str, ...] = ("127.0.0.1", "::1"),
        header_timeout: float = 5.0,
        command_timeout: float | None = None,
    ) -> None:
        self.routes = routes
        self.host = host
        self.port = port
        self.state = ServerState.IDLE
        self._token = token
        self._allowed_peers = allowed_peers
        self._header_timeout = header_timeout
        self._command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        if self.state is not ServerState.IDLE:
            raise RuntimeError(f"FastAGI server cannot start: it is {self.state.value}")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AgiConnection(self._accept), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.state = ServerState.SERVING
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Refuse new calls, let the calls in progress finish their step, then close."""
        if self.state in (ServerState.DRAINING, ServerState.STOPPED):
            return
        self.state = ServerState.DRAINING
        self.stopping.set()
        if self._server is not None:
            self._server.close()
        if self._sessions:
            log.info("waiting for %d call(s) to finish their step", len(self._sessions))
            _, late = await asyncio.wait(set(self._sessions), timeout=drain_timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2.0)
        if self._server is not None:
            await self._server.wait_closed()
        self.state = ServerState.STOPPED
        log.info("FastAGI stopped")

    async def _accept(self, connection: AgiConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = connection.transport.get_extra_info("peername") or ("?", 0)
        if self.state is not ServerState.SERVING or peer[0] not in self._allowed_peers:
            why = "not serving" if self.state is not ServerState.SERVING else "peer not allowed"
            log.warning("FastAGI connection from %s:%s refused: %s", peer[0], peer[1], why)
            connection.close()
            return
        self._sessions.add(task)
        try:
            await self._serve(connection, f"{peer[0]}:{peer[1]}")
        finally:
            self._sessions.discard(task)
            connection.close()
            await connection.wait_closed()

    async def _serve(self, connection: AgiConnection, peer: str) -> None:
        try:
            environment = await asyncio.wait_for(
                connection.read_environment(), self._header_timeout
            )
        except TimeoutError:
            log.error(
                "FastAGI peer %s sent no complete AGI environment within %.1f s; closing",
                peer,
                self._header_timeout,
            )
            return
        except AgiProtocolError as exc:
            log.error("FastAGI peer %s: %s; closing", peer, exc)
            return
        except ConnectionError as exc:
            log.error("FastAGI peer %s dropped before the environment ended: %s", peer, exc)
            return
        route, args = self._route(environment, peer)
        if route is None:
            return
        channel = AgiChannel(connection, environment, command_timeout=self._command_timeout)
        try:
            await route(channel, args)
        except AgiHangup as exc:
            log.info("call %s: caller hung up (%s)", environment.uniqueid, exc)
        except AgiError as exc:
            log.error("call %s ended by %s: %s", environment.uniqueid, exc.code, exc)
        except Exception:
            log.exception("call %s: unexpected error in the IVR", environment.uniqueid)

    def _route(
        self, environment: AgiEnvironment, peer: str
    ) -> tuple[Handler | None, tuple[str, ...]]:
        script = environment.network_script.split("?", 1)[0].strip("/")
        args = environment.args
        if not args or not hmac.compare_digest(args[0].encode(), self._token.encode()):
            log.error("FastAGI peer %s: missing or wrong token for script %r; closing", peer, script)
            return None, ()
        handler = self.routes.get(script)
        if handler is None:
            log.error("FastAGI peer %s asked for unknown script %r; closing", peer, script)
            return None, ()
        return handler, args[1:]
