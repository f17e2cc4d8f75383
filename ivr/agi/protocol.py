"""The AGI conversation as a pure state machine (no sockets, no event loop).

Asterisk opens the conversation with the environment (``agi_name: value`` lines ended by a blank
line); then we send one command line at a time and Asterisk answers each with a status line
(``200 result=1 (dtmf) endpos=1234``), or ``510``/``511``/``520``. With AGISIGHUP on, a bare
``HANGUP`` line may arrive at any moment, before or instead of a reply.

    conversation = AgiConversation()
    events = conversation.receive_data(chunk)      # bytes in -> events out
    line = conversation.send("STREAM FILE", "hello", "12")   # command -> bytes out

Every argument is quoted by the rules of :func:`quote_arg`, the one place that escapes AGI
arguments (:func:`quote_args` quotes a whole command's worth with a short cut for arguments
that need no escaping). An illegal call raises and leaves the state unchanged.

The per-command path (``send``, then ``receive_data`` of one reply line) is kept cheap: it runs
for every command of every call, and its cost is what a FastAGI server pays on top of the
socket work (see ``bench/fastagi_turnaround.py``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import AgiArgumentError, AgiProtocolError

#: Asterisk reads a command line into a 2048-byte buffer (AGI_BUF_LEN), newline included.
MAX_COMMAND_BYTES = 2048
#: Asterisk splits a command into at most 128 words (MAX_ARGS), the command words included.
MAX_COMMAND_WORDS = 128
#: Limits on what we accept from the peer, so a broken peer cannot grow our buffers forever.
MAX_LINE_BYTES = 8192
MAX_ENVIRONMENT_LINES = 200

_COMMAND_WORDS = re.compile(r"[A-Z]+( [A-Z]+)*")
_ENV_LINE = re.compile(r"(agi_[a-z0-9_]+): ?(.*)")
_REPLY = re.compile(r"(\d{3}) result=(-?\d+)(.*)")
_EXTRA = re.compile(r"[A-Za-z_]+=\S*")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def quote_arg(value: str) -> str:
    """Quote one AGI argument so res_agi's parser gives back exactly ``value``.

    Inside double quotes res_agi takes a backslash as "the next character is literal", so
    backslashes and quotes are escaped. Control characters (CR, LF, NUL, ...) cannot be carried
    on a line-based protocol and are refused rather than silently changed.
    """
    if not isinstance(value, str):
        raise AgiArgumentError(f"AGI argument must be text, got {type(value).__name__}")
    bad = _FORBIDDEN.search(value)
    if bad:
        raise AgiArgumentError(
            f"AGI argument contains control character {bad.group()!r} at {bad.start()}"
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_args(args: tuple[str, ...]) -> str:
    """``" ".join(map(quote_arg, args))``, with a short cut for the usual arguments.

    When no argument holds a backslash, a quote or an unprintable character (every control
    character is unprintable), quote_arg has nothing to escape or refuse and only adds the
    quotes, so all of them are quoted at once.
    """
    try:
        plain = "".join(args)
    except TypeError:  # not all text: quote_arg says which
        return " ".join(map(quote_arg, args))
    if plain.isprintable() and '"' not in plain and "\\" not in plain and args:
        return '"' + '" "'.join(args) + '"'
    return " ".join(map(quote_arg, args))


#: command words -> how many arguments they may take; only valid commands are remembered.
_MAX_ARGS: dict[str, int] = {}


def _max_args(command: str) -> int:
    """How many arguments the command may take; refuses anything but upper-case words."""
    if not _COMMAND_WORDS.fullmatch(command):
        raise AgiArgumentError(f"not an AGI command: {command!r}")
    limit = MAX_COMMAND_WORDS - 1 - len(command.split())
    if len(_MAX_ARGS) < 256:
        _MAX_ARGS[command] = limit
    return limit


def build_command(command: str, *args: str) -> bytes:
    """Encode one command line: upper-case command words, then every argument quoted."""
    return _encode_command(command, args)


def _encode_command(command: str, args: tuple[str, ...]) -> bytes:
    limit = _MAX_ARGS.get(command)
    if limit is None:
        limit = _max_args(command)
    if len(args) > limit:
        raise AgiArgumentError(f"{command}: too many arguments ({len(args)})")
    if args:
        encoded = f"{command} {quote_args(args)}\n".encode()
    else:
        encoded = f"{command}\n".encode()
    if len(encoded) > MAX_COMMAND_BYTES:
        raise AgiArgumentError(
            f"{command}: command line is {len(encoded)} bytes, Asterisk takes at most "
            f"{MAX_COMMAND_BYTES}"
        )
    return encoded


@dataclass(frozen=True)
class AgiEnvironment:
    """What Asterisk told us about the channel when the conversation opened."""

    variables: Mapping[str, str]
    args: tuple[str, ...] = ()

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def request(self) -> str:
        return self.get("agi_request")

    @property
    def network_script(self) -> str:
        return self.get("agi_network_script")

    @property
    def channel(self) -> str:
        return self.get("agi_channel")

    @property
    def uniqueid(self) -> str:
        return self.get("agi_uniqueid")


@dataclass(frozen=True)
class EnvironmentReceived:
    environment: AgiEnvironment


@dataclass(frozen=True, slots=True)
class Reply:
    """A ``200`` answer: ``result`` is the number, ``data`` what stood in parentheses."""

    result: int
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    raw: str = ""


_new_object = object.__new__
_set_result, _set_data, _set_extras, _set_raw = (
    Reply.__dict__[name].__set__ for name in ("result", "data", "extras", "raw")
)


def _reply(result: int, data: str | None, extras: Mapping[str, str], raw: str) -> Reply:
    """``Reply(result, data, extras, raw)`` at about half the cost, for the parser's hot path.

    The ``__init__`` of a frozen dataclass goes through ``object.__setattr__`` for every field;
    this sets the slots directly. The result is the same immutable Reply.
    """
    reply: Reply = _new_object(Reply)
    _set_result(reply, result)
    _set_data(reply, data)
    _set_extras(reply, extras)
    _set_raw(reply, raw)
    return reply


@dataclass(frozen=True)
class CommandRejected:
    """A ``510`` (unknown command), ``511`` (dead channel) or ``520`` (usage) answer."""

    status: int
    message: str


@dataclass(frozen=True)
class HangupNotice:
    """Asterisk's inline ``HANGUP`` line: the caller is gone."""


AgiEvent = EnvironmentReceived | Reply | CommandRejected | HangupNotice


class State(enum.Enum):
    ENVIRONMENT = "reading environment"
    IDLE = "idle"
    AWAITING_REPLY = "awaiting reply"
    CLOSED = "closed"


# The states by plain names for the per-command path: on Python 3.11, ``State.IDLE`` is a
# descriptor lookup of about 80 ns, a module global about 5 ns.
_ENVIRONMENT, _IDLE, _AWAITING_REPLY, _CLOSED = (
    State.ENVIRONMENT, State.IDLE, State.AWAITING_REPLY, State.CLOSED
)


def parse_reply(line: str) -> Reply:
    """Parse ``200 result=N [(data)] [key=value ...]``."""
    if line.startswith("200 result="):
        # Short cuts for the usual shapes, "200 result=N", "200 result=N (data)" and
        # "200 result=N key=value ...". Anything else, errors included, is left to the general
        # parser, which gives the same Reply for these shapes.
        head, _, rest = line[11:].partition(" ")
        if (head[1:] if head[:1] == "-" else head).isdecimal():  # as -?\d+ in _REPLY
            if not rest:
                return _reply(int(head), None, {}, line)
            if rest[0] != "(":
                extras: dict[str, str] = {}
                for token in rest.split():
                    key, equals, value = token.partition("=")
                    if not (equals and key.isascii() and key.replace("_", "a").isalpha()):
                        return _parse_reply_general(line)
                    extras[key] = value
                return _reply(int(head), None, extras, line)
            if rest[-1] == ")":
                # the last ')' ends the line, so no key=value pairs follow: all of it is data
                return _reply(int(head), rest[1:-1], {}, line)
    return _parse_reply_general(line)


def _parse_reply_general(line: str) -> Reply:
    """Any reply line, with regular expressions (:func:`parse_reply` takes the short cuts)."""
    match = _REPLY.fullmatch(line)
    if not match or match.group(1) != "200":
        raise AgiProtocolError(f"malformed AGI reply line: {line[:200]!r}")
    rest = match.group(3)
    data: str | None = None
    if rest.startswith(" ("):
        # The data may itself contain parentheses: it ends at the last ')' after which only
        # key=value pairs follow.
        close = len(rest)
        while True:
            close = rest.rfind(")", 0, close)
            if close < 0:
                raise AgiProtocolError(f"unclosed data in AGI reply: {line[:200]!r}")
            tail = rest[close + 1 :].split()
            if all(_EXTRA.fullmatch(t) for t in tail):
                break
        data, rest = rest[2:close], rest[close + 1 :]
    extras = {}
    for token in rest.split():
        if not _EXTRA.fullmatch(token):
            raise AgiProtocolError(f"unexpected text in AGI reply: {line[:200]!r}")
        key, _, value = token.partition("=")
        extras[key] = value
    return Reply(result=int(match.group(2)), data=data, extras=extras, raw=line)


class AgiConversation:
    """One AGI conversation, bytes in and out, with no I/O of its own."""

    __slots__ = (
        "_buffer", "_env_lines", "_environment", "_usage", "hung_up", "last_command", "state"
    )

    def __init__(self) -> None:
        self.state = _ENVIRONMENT
        self.hung_up = False
        self.last_command = ""
        self._buffer = bytearray()
        self._environment: dict[str, str] = {}
        self._env_lines = 0
        self._usage: list[str] | None = None  # lines of a multi-line 520 answer

    def send(self, command: str, *args: str) -> bytes:
        if self.state is not _IDLE:
            raise AgiProtocolError(f"cannot send {command!r} while {self.state.value}")
        data = _encode_command(command, args)
        self.state = _AWAITING_REPLY
        self.last_command = command
        return data

    def close(self) -> None:
        self.state = _CLOSED

    def receive_data(self, data: bytes) -> list[AgiEvent]:
        if (
            self.state is _AWAITING_REPLY
            and data.startswith(b"200 ")
            and data.find(b"\n") == len(data) - 1
            and len(data) <= MAX_LINE_BYTES
            and self._usage is None
            and not self._buffer
        ):
            # the usual case: the reply to the command in flight, one whole line in one chunk
            reply = parse_reply(data.decode("utf-8", "replace").rstrip("\r\n"))
            self.state = _IDLE
            return [reply]
        if self.state is _CLOSED:
            raise AgiProtocolError("conversation is closed")
        self._buffer += data
        events: list[AgiEvent] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_LINE_BYTES:
                    raise AgiProtocolError(
                        f"line longer than {MAX_LINE_BYTES} bytes while {self.state.value}"
                    )
                return events
            if newline >= MAX_LINE_BYTES:  # newline included, as in the short cut above
                raise AgiProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
            line = self._buffer[:newline].decode("utf-8", "replace").rstrip("\r")
            del self._buffer[: newline + 1]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _line(self, line: str) -> AgiEvent | None:
        if line == "HANGUP":
            self.hung_up = True
            return HangupNotice()
        if self.state is _ENVIRONMENT:
            return self._environment_line(line)
        if self.state is not _AWAITING_REPLY:
            raise AgiProtocolError(f"unexpected line while {self.state.value}: {line[:200]!r}")
        if self._usage is not None:
            if line.startswith("520 "):
                message = "\n".join(self._usage)
                self._usage = None
                self.state = _IDLE
                return CommandRejected(520, message)
            self._usage.append(line)
            return None
        if line.startswith("520-"):
            self._usage = [line[4:]]
            return None
        status = line[:3]
        if status in ("510", "511", "520"):
            self.state = _IDLE
            if status == "511":
                self.hung_up = True
            return CommandRejected(int(status), line[4:])
        reply = parse_reply(line)
        self.state = _IDLE
        return reply

    def _environment_line(self, line: str) -> AgiEvent | None:
        if line == "":
            if "agi_request" not in self._environment:
                raise AgiProtocolError("AGI environment ended without agi_request")
            self.state = _IDLE
            variables = dict(self._environment)
            args = []
            n = 1
            while f"agi_arg_{n}" in variables:
                args.append(variables[f"agi_arg_{n}"])
                n += 1
            return EnvironmentReceived(AgiEnvironment(variables, tuple(args)))
        self._env_lines += 1
        if self._env_lines > MAX_ENVIRONMENT_LINES:
            raise AgiProtocolError(f"AGI environment longer than {MAX_ENVIRONMENT_LINES} lines")
        match = _ENV_LINE.fullmatch(line)
        if not match:
            # only the name part is shown: values may carry secrets (the FastAGI token)
            name = line.split(":", 1)[0][:40]
            raise AgiProtocolError(
                f"malformed AGI environment line {self._env_lines} starting {name!r} "
                "(expected 'agi_name: value')"
            )
        self._environment[match.group(1)] = match.group(2)
        return None
