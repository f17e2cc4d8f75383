"""The AGI conversation as a pure state machine (no sockets, no event loop).

Asterisk opens the conversation with the environment (``agi_name: value`` lines ended by a blank
line); then we send one command line at a time and Asterisk answers each with a status line
(``200 result=1 (dtmf) endpos=1234``), or ``510``/``511``/``520``. With AGISIGHUP on, a bare
``HANGUP`` line may arrive at any moment, before or instead of a reply.

    conversation = AgiConversation()
    events = conversation.receive_data(chunk)      # bytes in -> events out
    line = conversation.send("STREAM FILE", "hello", "12")   # command -> bytes out

Every argument goes through :func:`quote_arg`, the one place that escapes AGI arguments.
An illegal call raises and leaves the state unchanged.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass, field
from typing import Mapping, Union

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


@functools.lru_cache(maxsize=256)
def _command_words(command: str) -> int:
    """How many words the command has; refuses anything but upper-case words."""
    if not _COMMAND_WORDS.fullmatch(command):
        raise AgiArgumentError(f"not an AGI command: {command!r}")
    return len(command.split())


def build_command(command: str, *args: str) -> bytes:
    """Encode one command line: upper-case command words, then every argument quoted."""
    if _command_words(command) + len(args) > MAX_COMMAND_WORDS - 1:
        raise AgiArgumentError(f"{command}: too many arguments ({len(args)})")
    line = " ".join([command, *(quote_arg(a) for a in args)]) + "\n"
    encoded = line.encode("utf-8")
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


@dataclass(frozen=True)
class CommandRejected:
    """A ``510`` (unknown command), ``511`` (dead channel) or ``520`` (usage) answer."""

    status: int
    message: str


@dataclass(frozen=True)
class HangupNotice:
    """Asterisk's inline ``HANGUP`` line: the caller is gone."""


AgiEvent = Union[EnvironmentReceived, Reply, CommandRejected, HangupNotice]


class State(enum.Enum):
    ENVIRONMENT = "reading environment"
    IDLE = "idle"
    AWAITING_REPLY = "awaiting reply"
    CLOSED = "closed"


def parse_reply(line: str) -> Reply:
    """Parse ``200 result=N [(data)] [key=value ...]``."""
    if line.startswith("200 result=") and "(" not in line:
        # the common shape, without data in parentheses: no regular expressions needed
        head, _, rest = line[11:].partition(" ")
        try:
            result = int(head)
        except ValueError:
            raise AgiProtocolError(f"malformed AGI reply line: {line[:200]!r}") from None
        extras: dict[str, str] = {}
        for token in rest.split():
            key, equals, value = token.partition("=")
            if not equals or not key.replace("_", "a").isalpha():
                raise AgiProtocolError(f"unexpected text in AGI reply: {line[:200]!r}")
            extras[key] = value
        return Reply(result=result, data=None, extras=extras, raw=line)
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

    def __init__(self) -> None:
        self.state = State.ENVIRONMENT
        self.hung_up = False
        self.last_command = ""
        self._buffer = bytearray()
        self._environment: dict[str, str] = {}
        self._env_lines = 0
        self._usage: list[str] | None = None  # lines of a multi-line 520 answer

    def send(self, command: str, *args: str) -> bytes:
        if self.state is not State.IDLE:
            raise AgiProtocolError(f"cannot send {command!r} while {self.state.value}")
        data = build_command(command, *args)
        self.state = State.AWAITING_REPLY
        self.last_command = command
        return data

    def close(self) -> None:
        self.state = State.CLOSED

    def receive_data(self, data: bytes) -> list[AgiEvent]:
        if self.state is State.CLOSED:
            raise AgiProtocolError("conversation is closed")
        if not self._buffer and data.endswith(b"\n") and data.count(b"\n") == 1:
            # the usual case: exactly one whole line (a reply) in one chunk
            if len(data) > MAX_LINE_BYTES:
                raise AgiProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
            event = self._line(data[:-1].decode("utf-8", errors="replace").rstrip("\r"))
            return [event] if event is not None else []
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
            raw = bytes(self._buffer[:newline])
            del self._buffer[: newline + 1]
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _line(self, line: str) -> AgiEvent | None:
        if line == "HANGUP":
            self.hung_up = True
            return HangupNotice()
        if self.state is State.ENVIRONMENT:
            return self._environment_line(line)
        if self.state is not State.AWAITING_REPLY:
            raise AgiProtocolError(f"unexpected line while {self.state.value}: {line[:200]!r}")
        if self._usage is not None:
            if line.startswith("520 "):
                message = "\n".join(self._usage)
                self._usage = None
                self.state = State.IDLE
                return CommandRejected(520, message)
            self._usage.append(line)
            return None
        if line.startswith("520-"):
            self._usage = [line[4:]]
            return None
        status = line[:3]
        if status in ("510", "511", "520"):
            self.state = State.IDLE
            if status == "511":
                self.hung_up = True
            return CommandRejected(int(status), line[4:])
        reply = parse_reply(line)
        self.state = State.IDLE
        return reply

    def _environment_line(self, line: str) -> AgiEvent | None:
        if line == "":
            if "agi_request" not in self._environment:
                raise AgiProtocolError("AGI environment ended without agi_request")
            self.state = State.IDLE
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
