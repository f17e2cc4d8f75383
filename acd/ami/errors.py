"""The one exception tree of the AMI package.

    AmiError                  code "ami"            base: catch this to catch them all
    ├── AmiProtocolError      code "ami.protocol"   malformed frame from Asterisk, or a header
    │                                               we were asked to send that would break
    │                                               framing (CR, LF, other control characters)
    ├── AmiStateError         code "ami.state"      the client is not in a state that allows
    │                                               the call (action() after close(), ...)
    ├── AmiAuthError          code "ami.auth"       Asterisk refused the Login
    ├── AmiDisconnected       code "ami.disconnected"  the connection dropped while the action
    │   │                                           was pending; it is NOT re-sent
    │   └── AmiNotSent        code "ami.not_sent"   there was no connection: the action was
    │                                               never sent, so it certainly did not run
    ├── AmiTimeout            code "ami.timeout"    no reply in time
    └── AmiActionError        code "ami.action"     Asterisk answered ``Response: Error``

``code`` is a stable identifier: logs, metrics and API answers may rely on it, so never
change one. Errors from lower libraries (OSError, asyncio.TimeoutError, UnicodeError) are
translated into this tree where they cross into the package.
"""

from __future__ import annotations


class AmiError(Exception):
    """Base of every error raised by ``acd.ami``."""

    code = "ami"


class AmiProtocolError(AmiError):
    """A frame from Asterisk is malformed, or an outgoing header would break framing."""

    code = "ami.protocol"


class AmiStateError(AmiError):
    """The client was used in a state that does not allow the call."""

    code = "ami.state"


class AmiAuthError(AmiError):
    """Asterisk refused our Login (wrong username or secret, or a deny/permit ACL)."""

    code = "ami.auth"


class AmiDisconnected(AmiError):
    """The connection dropped while the action was pending. The action is not re-sent:
    it may or may not have run (an Originate may have placed its call)."""

    code = "ami.disconnected"


class AmiNotSent(AmiDisconnected):
    """There was no connection when the action was asked for: it was never sent, so (unlike
    its parent) it certainly did not run."""

    code = "ami.not_sent"


class AmiTimeout(AmiError):
    """No reply came in time."""

    code = "ami.timeout"


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error``; ``message`` is its ``Message`` header."""

    code = "ami.action"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"Asterisk refused {action}: {message}")
        self.action = action
        self.message = message
