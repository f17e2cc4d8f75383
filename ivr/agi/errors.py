"""Exceptions of the AGI layer.

    AgiError                      base; every error has a stable ``code``
    +-- AgiProtocolError          the peer broke the AGI framing (bad environment, bad reply line)
    +-- AgiArgumentError          we were asked to send something AGI cannot carry
    +-- AgiCommandError           Asterisk answered 510/511/520 to a command
    +-- AgiHangup                 the channel hung up; no further channel commands are possible
    +-- AgiConnectionLost         the socket closed or timed out
"""

from __future__ import annotations


class AgiError(Exception):
    code = "agi.error"


class AgiProtocolError(AgiError):
    code = "agi.protocol"


class AgiArgumentError(AgiError):
    code = "agi.argument"


class AgiCommandError(AgiError):
    code = "agi.command"

    def __init__(self, status: int, message: str, command: str) -> None:
        super().__init__(f"{command!r} answered {status}: {message}")
        self.status = status
        self.message = message
        self.command = command


class AgiHangup(AgiError):
    code = "agi.hangup"


class AgiConnectionLost(AgiError):
    code = "agi.connection_lost"
