"""The controller's control socket from the web: operators' commands go where the phone's
feature codes go (the ACD in the controller), so the desk and the phone are one state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any


class ControllerUnavailable(Exception):
    """The controller is not running or did not answer: the page says so (503)."""

    code = "web.controller_unavailable"


class CommandRefused(Exception):
    """The controller refused the command (not now, not an operator): the message says why."""

    code = "web.command_refused"


class ControllerClient:
    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    async def request(self, line: str) -> Any:
        """One request line; its JSON answer. Raises ControllerUnavailable."""
        if "\n" in line or "\r" in line:
            raise ValueError("a control request is one line")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(self.socket_path), limit=1 << 22), self.timeout)
        except (OSError, TimeoutError):
            raise ControllerUnavailable("the controller is not running") from None
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.readline(), self.timeout)
            return json.loads(answer)
        except (OSError, TimeoutError, ValueError):
            raise ControllerUnavailable("the controller did not answer") from None
        finally:
            writer.close()

    async def agent_command(self, agent_id: str, action: str, argument: str | None = None
                            ) -> dict[str, Any]:
        """The operator's command, as ``hotline agents`` and the feature codes run it; the new
        state. Raises CommandRefused or ControllerUnavailable."""
        words = ["agent", agent_id, action] + ([argument] if argument else [])
        if any(not w or any(c.isspace() for c in w) for w in words):
            raise CommandRefused("a command word cannot be empty or hold spaces")
        answer = await self.request(" ".join(words))
        if not isinstance(answer, dict) or "error" in answer:
            raise CommandRefused(str(answer.get("error") if isinstance(answer, dict)
                                     else answer))
        return answer
