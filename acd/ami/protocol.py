"""Sans-IO core of the Asterisk Manager Interface (AMI), client side.

No sockets, no asyncio: bytes go in through ``AmiConnection.receive_data`` and come out as
frozen event dataclasses; ``AmiConnection.send`` turns an action into bytes for the caller to
write. The asyncio shell around it is ``acd.ami.client``.

Wire format (checked against Asterisk 16.28, AMI 5.0.4, see tests/fixtures/ami/):

    Asterisk Call Manager/5.0.4\\r\\n        banner, first line after connect, no blank line
    Response: Success\\r\\n                  a message: ``Name: value`` lines ...
    ActionID: 3f9c2a1e-1\\r\\n
    Ping: Pong\\r\\n
    \\r\\n                                   ... ended by an empty line

* A message with an ``Event`` header is an event, even when it also has a ``Response``
  header (``OriginateResponse`` carries ``Response: Success|Failure``).
* List actions answer ``EventList: start``, then events with the same ActionID, then one
  with ``EventList: Complete``. Asterisk 16 also does this for ``Hangup`` with a regex.
* ``Command`` answers ``Response: Success`` with one ``Output:`` header per line of output.
  Asterisk 16 never sends the old ``Response: Follows`` format (checked in its binary);
  were it met, nothing crashes: lines without a colon are kept as headers named ``""``.
* Asterisk 16 refuses request lines longer than 1022 bytes and requests of more than 128
  lines; ``send`` refuses those before they reach the wire.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import overload

from .errors import AmiProtocolError

BANNER_PREFIX = "Asterisk Call Manager/"
MAX_REQUEST_LINE_BYTES = 1022  # measured on Asterisk 16: 1023 gets "line too long"
MAX_REQUEST_LINES = 128  # measured on Asterisk 16: 129 gets "Too many lines in message"
# C0 and C1 control characters (CR, LF, NUL, TAB, DEL...) and lone surrogates (not UTF-8).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_HEADER_NAME = re.compile("[!-9;-~]+")  # visible ASCII but ':'; Asterisk's are [A-Za-z0-9-]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Message:
    """One AMI message: its headers in wire order, names as Asterisk spelled them."""

    headers: tuple[tuple[str, str], ...]

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), else ``default``."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), default)

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of a repeated header (``Output``, ``Variable``...), in order."""
        wanted = name.lower()
        return tuple(v for n, v in self.headers if n.lower() == wanted)

    @property
    def is_event(self) -> bool:
        return self.get("Event") is not None

    @property
    def name(self) -> str:
        """The ``Event`` name of an event, the ``Response`` value of a response, else ""."""
        return self.get("Event") or self.get("Response") or ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass(frozen=True)
class Banner:
    """The greeting line; ``version`` is the AMI version, e.g. "5.0.4"."""

    version: str


@dataclass(frozen=True)
class ActionComplete:
    """The full answer to one action: its response and, for list actions, every event of
    the list including the closing ``EventList: Complete`` one."""

    action_id: str
    response: Message
    events: tuple[Message, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.response.get("Response", "").lower() == "error"


@dataclass(frozen=True)
class EventReceived:
    """An event not part of a pending list action (it may still carry an ActionID, as
    ``OriginateResponse`` and ``UserEvent`` do)."""

    message: Message


@dataclass(frozen=True)
class UnmatchedResponse:
    """A response to no pending action (late reply after ``forget``), or a message that is
    neither an event nor a response."""

    message: Message


AmiEvent = Banner | ActionComplete | EventReceived | UnmatchedResponse


def check_header(name: str, value: str) -> None:
    """The one place that decides what may be written to AMI. Raises AmiProtocolError for
    anything that would break framing or that Asterisk would read differently."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise AmiProtocolError(f"AMI header names and values must be str, got {name!r}: {value!r}")
    if not _HEADER_NAME.fullmatch(name):
        raise AmiProtocolError(
            f"bad AMI header name {name!r}: use visible ASCII characters, no ':' or spaces"
        )
    if _FORBIDDEN.search(value):
        raise AmiProtocolError(
            f"AMI header {name} has a control character (CR, LF, NUL, TAB...) or a lone "
            f"surrogate in {value!r}; strip it before sending"
        )
    if value.startswith(" "):
        raise AmiProtocolError(
            f"AMI header {name} value {value!r} starts with a space, which Asterisk drops; "
            "strip it before sending"
        )
    if len(name.encode()) + 2 + len(value.encode()) > MAX_REQUEST_LINE_BYTES:
        raise AmiProtocolError(
            f"AMI header {name} is longer than the {MAX_REQUEST_LINE_BYTES} bytes Asterisk "
            "accepts on one line"
        )


class MessageReader:
    """Splits a byte stream into Messages. Bytes may arrive split anywhere; lines end with
    CRLF (a bare LF is accepted too). With ``expect_banner`` the first line is not a header:
    it is kept in ``banner_line``."""

    def __init__(self, *, expect_banner: bool = False, max_line_bytes: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._expect_banner = expect_banner
        self._max_line_bytes = max_line_bytes
        self.banner_line: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        out: list[Message] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            raw = bytes(self._buffer[:end]).removesuffix(b"\r")
            del self._buffer[: end + 1]
            line = raw.decode("utf-8", errors="replace")
            if self._expect_banner:
                self.banner_line, self._expect_banner = line, False
            elif line:
                name, sep, value = line.partition(":")
                self._headers.append((name.strip(), value.lstrip(" \t")) if sep else ("", line))
            elif self._headers:
                out.append(Message(tuple(self._headers)))
                self._headers = []
        if len(self._buffer) > self._max_line_bytes:
            raise AmiProtocolError(f"AMI line longer than {self._max_line_bytes} bytes")
        return out


class ConnectionState(enum.Enum):
    AWAITING_BANNER = "awaiting_banner"
    OPEN = "open"
    CLOSED = "closed"  # after fail_all() or a malformed frame: use a new AmiConnection


@dataclass
class _Pending:
    action: str
    response: Message | None = None  # set once a list action answered ``EventList: start``
    events: list[Message] = field(default_factory=list)


class AmiConnection:
    """One AMI session over one transport connection, client side, without I/O."""

    def __init__(self, *, action_id_prefix: str | None = None) -> None:
        self._prefix = action_id_prefix if action_id_prefix is not None else secrets.token_hex(4)
        self._next_id = 1
        self._pending: dict[str, _Pending] = {}
        self._reader = MessageReader(expect_banner=True)
        self.state = ConnectionState.AWAITING_BANNER
        self.version: str | None = None

    def receive_data(self, data: bytes) -> list[AmiEvent]:
        """Feed bytes from Asterisk; returns what they completed, in wire order."""
        if self.state is ConnectionState.CLOSED:
            raise AmiProtocolError("receive_data() on a closed AmiConnection")
        try:
            messages = self._reader.feed(data)
            events: list[AmiEvent] = []
            if self.state is ConnectionState.AWAITING_BANNER:
                if self._reader.banner_line is None:
                    return []
                events.append(self._banner(self._reader.banner_line))
        except AmiProtocolError:
            self.state = ConnectionState.CLOSED
            raise
        for message in messages:
            if (event := self._route(message)) is not None:
                events.append(event)
        return events

    def send(self, action: str, headers: Headers = ()) -> tuple[str, bytes]:
        """Frame an action; returns its generated ActionID and the bytes to write.
        Raises AmiProtocolError, with nothing changed, for headers that are not safe."""
        if self.state is ConnectionState.CLOSED:
            raise AmiProtocolError(f"send({action!r}) on a closed AmiConnection")
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        check_header("Action", action)
        for name, value in pairs:
            check_header(name, value)
            if name.lower() in ("action", "actionid"):
                raise AmiProtocolError(f"header {name} is set by send(), not by the caller")
        if len(pairs) + 2 > MAX_REQUEST_LINES:
            raise AmiProtocolError(f"{action} has more than the {MAX_REQUEST_LINES} lines "
                                   "Asterisk accepts in one request")
        action_id = f"{self._prefix}-{self._next_id}"
        lines = [("Action", action), ("ActionID", action_id), *pairs]
        data = "".join(f"{name}: {value}\r\n" for name, value in lines).encode() + b"\r\n"
        self._next_id += 1
        self._pending[action_id] = _Pending(action)
        return action_id, data

    def pending(self) -> frozenset[str]:
        return frozenset(self._pending)

    def action_name(self, action_id: str) -> str | None:
        pending = self._pending.get(action_id)
        return pending.action if pending is not None else None

    def forget(self, action_id: str) -> None:
        """Stop waiting for an action (it timed out); a late reply becomes UnmatchedResponse."""
        self._pending.pop(action_id, None)

    def fail_all(self) -> frozenset[str]:
        """The transport is gone: close, and return the ActionIDs that got no answer."""
        failed = frozenset(self._pending)
        self._pending.clear()
        self.state = ConnectionState.CLOSED
        return failed

    def _banner(self, line: str) -> Banner:
        if not line.startswith(BANNER_PREFIX):
            raise AmiProtocolError(f"not an AMI server: first line was {line[:80]!r}")
        self.state, self.version = ConnectionState.OPEN, line.removeprefix(BANNER_PREFIX).strip()
        return Banner(self.version)

    def _route(self, message: Message) -> AmiEvent | None:
        action_id = message.action_id or ""  # "" is never one of ours
        pending = self._pending.get(action_id)
        if message.is_event:
            if pending is None or pending.response is None:
                return EventReceived(message)
            pending.events.append(message)
            if _header_is(message, "EventList", "complete"):
                return self._complete(action_id, pending.response, pending.events)
            return None
        if pending is None or pending.response is not None or message.get("Response") is None:
            return UnmatchedResponse(message)
        if _header_is(message, "EventList", "start"):
            pending.response = message  # a list action: wait for its closing event
            return None
        return self._complete(action_id, message, [])

    def _complete(self, action_id: str, response: Message, events: list[Message]) -> ActionComplete:
        del self._pending[action_id]
        return ActionComplete(action_id, response, tuple(events))


def _header_is(message: Message, name: str, value: str) -> bool:
    return message.get(name, "").lower() == value
