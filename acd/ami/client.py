"""Thin asyncio shell around the sans-IO ``AmiConnection``: connect, log in, keep alive,
reconnect. Everything about bytes and ActionIDs lives in ``protocol.py``.

Lifecycle (``ClientState``)::

    idle --start()--> connecting --login ok--> connected --connection lost--> reconnecting
                          |                        ^                               |
                          +--refused/failed--> reconnecting --login ok-------------+
    any state --close()--> closed  (final)

Guarantees:
* Login uses the MD5 challenge: the secret never crosses the socket and is never logged.
* An action pending when the connection drops fails with AmiDisconnected and is never
  re-sent: a fresh AmiConnection is used for every TCP connection.
* A keepalive Ping runs every ``ping_interval``; no reply within ``ping_timeout`` drops the
  connection, which triggers the reconnect.
* ``on_connected`` runs after every successful login, before ``wait_connected`` returns.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable

from .errors import (
    AmiActionError,
    AmiAuthError,
    AmiDisconnected,
    AmiError,
    AmiNotSent,
    AmiProtocolError,
    AmiStateError,
    AmiTimeout,
)
from .protocol import (
    ActionComplete,
    AmiConnection,
    AmiEvent,
    ConnectionState,
    EventReceived,
    Headers,
    Message,
    UnmatchedResponse,
    check_header,
)

log = logging.getLogger("acd.ami")

EventCallback = Callable[[Message], None]
ConnectedHook = Callable[[], Awaitable[None]]


class ClientState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class _Session:
    """One TCP connection: its sans-IO core, its writer and the futures of its actions."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 where: str, on_event: EventCallback | None) -> None:
        self.conn = AmiConnection()
        self.reader, self.writer, self.where = reader, writer, where
        self.on_event = on_event
        self.futures: dict[str, tuple[str, asyncio.Future[ActionComplete]]] = {}

    async def pump(self) -> None:
        """Read until the connection ends, then fail whatever is still pending."""
        try:
            while data := await self.reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._dispatch(event)
        finally:
            self.fail_pending()

    async def request(self, action: str, headers: Headers, timeout: float) -> ActionComplete:
        if self.conn.state is ConnectionState.CLOSED:
            raise AmiNotSent(f"not connected to AMI at {self.where}; {action} was not sent")
        action_id, data = self.conn.send(action, headers)
        future: asyncio.Future[ActionComplete] = asyncio.get_running_loop().create_future()
        self.futures[action_id] = (action, future)
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(data)
                await self.writer.drain()
                reply = await future
        except TimeoutError:
            raise AmiTimeout(f"no reply to {action} (ActionID {action_id}) from AMI at "
                             f"{self.where} within {timeout:g} s") from None
        except OSError as exc:
            raise AmiDisconnected(f"AMI connection to {self.where} failed while sending "
                                  f"{action} (ActionID {action_id}): {exc}") from exc
        finally:
            self.futures.pop(action_id, None)
            self.conn.forget(action_id)
        if reply.is_error:
            raise AmiActionError(action, reply.response.get("Message") or "(no message)")
        return reply

    def fail_pending(self) -> None:
        for action_id in self.conn.fail_all():
            action, future = self.futures.get(action_id, ("", None))
            if future is not None and not future.done():
                future.set_exception(AmiDisconnected(
                    f"AMI connection to {self.where} lost while {action} (ActionID "
                    f"{action_id}) was pending; it was NOT re-sent and may or may not have run"))

    def abort(self) -> None:
        self.writer.transport.abort()

    def _dispatch(self, event: AmiEvent) -> None:
        if isinstance(event, ActionComplete):
            _, future = self.futures.get(event.action_id, ("", None))
            if future is not None and not future.done():
                future.set_result(event)
        elif isinstance(event, EventReceived):
            if self.on_event is not None:
                try:
                    self.on_event(event.message)
                except Exception:
                    log.exception("on_event callback failed on AMI event %s", event.message.name)
        elif isinstance(event, UnmatchedResponse):
            log.warning("AMI message matching no pending action: %s (ActionID %s)",
                        event.message.name or "?", event.message.action_id)


class AmiClient:
    """A logged-in, self-healing AMI connection. See the module docstring for guarantees.

    ``on_event(message)`` is called inline by the reader for every event that is not part
    of a list answer: it must not block (queue the event if work is needed); what it
    raises is logged and the client goes on. ``on_connected()`` is awaited after each
    login and may call ``action()``; if it raises, the connection is dropped and retried.
    ``events`` is the Login ``Events`` value: "on", "off" or a mask such as "call,user".
    """

    def __init__(
        self, host: str, port: int, username: str, secret: str, *,
        on_event: EventCallback | None = None,
        on_connected: ConnectedHook | None = None,
        events: str = "on",
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        ping_interval: float = 20.0,
        ping_timeout: float | None = None,
        backoff_min: float = 0.5,
        backoff_max: float = 30.0,
        backoff_jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        check_header("Username", username)
        check_header("Events", events)
        try:
            secret.encode()  # never sent, only hashed: it just has to be text
        except UnicodeEncodeError:
            raise AmiProtocolError("the AMI secret is not valid text (lone surrogate)") from None
        if not 0 < backoff_min <= backoff_max or not 0 <= backoff_jitter <= 1:
            raise ValueError("need 0 < backoff_min <= backoff_max and 0 <= backoff_jitter <= 1")
        self.host, self.port, self.username = host, port, username
        self._secret = secret
        self._on_event, self._on_connected, self._events = on_event, on_connected, events
        self._connect_timeout, self._action_timeout = connect_timeout, action_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout if ping_timeout is not None else action_timeout
        self._backoff = (backoff_min, backoff_max, backoff_jitter)
        self._rng = rng or random.Random()
        self._state = ClientState.IDLE
        self._session: _Session | None = None
        self._ready = False  # logged in and on_connected done
        self._logins = 0
        self._auth_failures = 0
        self._last_error: BaseException | None = None
        self._changed = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<AmiClient {self.username}@{self.where} {self._state.value}>"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def state(self) -> ClientState:
        return self._state

    async def start(self) -> None:
        """Connect in the background, and keep reconnecting until close()."""
        if self._state is not ClientState.IDLE:
            raise AmiStateError(f"AmiClient.start() called in state {self._state.value}; "
                                "start() may be called once, on a new client")
        self._set_state(ClientState.CONNECTING)
        self._supervisor = asyncio.create_task(self._run(), name=f"ami-client {self.where}")
        self._supervisor.add_done_callback(_log_crash)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once logged in and on_connected has run. Raises AmiAuthError if a login
        is refused meanwhile, AmiTimeout after ``timeout`` s, AmiStateError if closed."""
        self._refuse_unless_started("wait_connected")
        refusals = self._auth_failures
        try:
            async with asyncio.timeout(timeout):
                while not self._ready:
                    if self._state is ClientState.CLOSED:
                        raise AmiStateError("AmiClient closed while waiting for the connection")
                    if self._auth_failures != refusals:
                        raise AmiAuthError(str(self._last_error))
                    await self._changed.wait()
        except TimeoutError:
            raise AmiTimeout(f"not connected to AMI at {self.where} within {timeout:g} s "
                             f"(last error: {self._last_error})") from None

    async def action(self, name: str, headers: Headers = (), *,
                     timeout: float | None = None) -> ActionComplete:
        """Send one action and return its full answer (list events included).
        Raises AmiActionError, AmiTimeout, AmiDisconnected; never re-sends."""
        self._refuse_unless_started(f"action({name!r})")
        session = self._session
        if session is None:
            raise AmiNotSent(f"not connected to AMI at {self.where}; {name} was not sent")
        return await session.request(
            name, headers, self._action_timeout if timeout is None else timeout)

    async def close(self) -> None:
        """Stop for good: pending actions fail with AmiDisconnected. Idempotent."""
        self._set_state(ClientState.CLOSED)
        if self._supervisor is not None:
            self._supervisor.cancel()
            if self._supervisor is not asyncio.current_task():  # not from on_connected
                await asyncio.wait([self._supervisor])

    def _refuse_unless_started(self, call: str) -> None:
        if self._state is ClientState.CLOSED:
            raise AmiStateError(f"AmiClient.{call} called after close(); create a new client")
        if self._state is ClientState.IDLE:
            raise AmiStateError(f"AmiClient.{call} called before start()")

    def _set_state(self, state: ClientState) -> None:
        if self._state is not ClientState.CLOSED:  # closed is final
            self._state = state
        self._changed.set()  # wake every waiter, then re-arm
        self._changed.clear()

    async def _run(self) -> None:
        attempt = 0
        while self._state is not ClientState.CLOSED:
            logins = self._logins
            try:
                await self._serve_one_connection()
                log.warning("AMI connection to %s ended", self.where)
            except AmiAuthError as exc:
                self._last_error, self._auth_failures = exc, self._auth_failures + 1
                log.error("%s; check the username and secret in manager.conf", exc)
            except (AmiError, OSError) as exc:
                self._last_error = exc
                log.warning("AMI connection to %s failed: %s", self.where, exc)
            except Exception as exc:
                self._last_error = exc
                log.exception("AMI session with %s crashed", self.where)
            if self._logins != logins:
                attempt = 0  # it worked for a while: start the backoff afresh
            delay = self._delay(attempt)
            attempt += 1
            self._set_state(ClientState.RECONNECTING)
            log.info("reconnecting to AMI at %s in %.2f s", self.where, delay)
            await asyncio.sleep(delay)

    def _delay(self, attempt: int) -> float:
        low, high, jitter = self._backoff
        return min(high, low * 2.0 ** min(attempt, 32)) * (1 - jitter * self._rng.random())

    async def _serve_one_connection(self) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise AmiTimeout(f"no TCP connection to AMI at {self.where} within "
                             f"{self._connect_timeout:g} s") from None
        session = _Session(reader, writer, self.where, self._on_event)
        pump = asyncio.create_task(session.pump(), name=f"ami-pump {self.where}")
        keepalive: asyncio.Task[None] | None = None
        try:
            await self._login(session)
            self._session = session
            self._set_state(ClientState.CONNECTED)
            keepalive = asyncio.create_task(self._keepalive(session), name="ami-keepalive")
            if self._on_connected is not None:
                await self._on_connected()
            self._ready, self._logins = True, self._logins + 1
            self._set_state(ClientState.CONNECTED)
            await asyncio.wait([pump])  # until the connection ends
        finally:
            self._session, self._ready = None, False
            await _finish(session, pump, keepalive)

    async def _login(self, session: _Session) -> None:
        reply = await session.request("Challenge", {"AuthType": "MD5"}, self._action_timeout)
        challenge = reply.response.get("Challenge") or ""
        key = hashlib.md5((challenge + self._secret).encode()).hexdigest()
        login = [("Username", self.username), ("AuthType", "MD5"), ("Key", key),
                 ("Events", self._events)]
        try:
            await session.request("Login", login, self._action_timeout)
        except AmiActionError as exc:
            raise AmiAuthError(f"AMI at {self.where} refused login as {self.username!r}: "
                               f"{exc.message}") from None
        log.info("logged in to AMI %s at %s as %r", session.conn.version, self.where,
                 self.username)

    async def _keepalive(self, session: _Session) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            try:
                await session.request("Ping", (), self._ping_timeout)
            except AmiDisconnected:
                return
            except AmiError as exc:
                log.warning("keepalive Ping to AMI at %s failed (%s); dropping the connection",
                            self.where, exc)
                session.abort()
                return


async def _finish(session: _Session, pump: asyncio.Task[None],
                  keepalive: asyncio.Task[None] | None) -> None:
    """Close the socket, stop the session's tasks and fail what is pending. Re-raises the
    reader's failure (a malformed frame, a reset) as the reason the connection ended."""
    session.writer.close()
    tasks = [pump] if keepalive is None else [pump, keepalive]
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    session.fail_pending()
    try:
        await session.writer.wait_closed()
    except OSError:
        pass
    if keepalive is not None and not keepalive.cancelled() and keepalive.exception():
        log.error("AMI keepalive crashed", exc_info=keepalive.exception())
    if not pump.cancelled() and (failure := pump.exception()) is not None:
        raise failure


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("AMI client supervisor crashed", exc_info=task.exception())
