"""What a caller hears, from Asterisk's side: the silences of each call in the IVR.

The tests' read-only AMI user (tests/e2e/amiwatch.py) receives the AGI, DTMF, channel-state and dialplan events, with Asterisk's own
timestamps. For each caller's channel it measures the silences the controller is responsible
for:

* ``answer``: from the answer to the first prompt (Asterisk's own wait for the caller's media
  after an answer, up to 0.5 s, is in it);
* ``agi``: from the dialplan handing the call to the IVR to its first prompt (the IVR opens
  the call's record first);
* ``reply``: from the caller's last key, or the end of a prompt, to the next prompt, labelled
  with that prompt (a lookup may run in between: its deadline bounds it);
* ``handoff``: from the IVR's last command to the dialplan going on (the IVR closes the call's
  record when it is done).

A silence while the IVR waits for the caller's keys is the caller's turn, not ours: it is not
counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from acd.ami.client import AmiClient
from hotline import config

from . import amiwatch


@dataclass(frozen=True)
class Silence:
    call_id: str   # the caller channel's unique id (the call record's call_id)
    kind: str      # answer | agi | reply | handoff
    before: str    # the prompt it ends with ("" for a handoff)
    seconds: float


@dataclass
class _Line:
    answered: float | None = None
    agi_started: float | None = None
    last_heard: float | None = None   # a prompt ended, a key came, a digit wait ended
    waiting_for_keys: bool = False    # the caller's turn
    first_prompt: bool = True
    agi_done: float | None = None     # the IVR's last command ended
    in_agi: bool = False
    silences: list[Silence] = field(default_factory=list)


class LineWatch:
    """Listens to one hotline's Asterisk and keeps every IVR call's silences."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings
        self.lines: dict[str, _Line] = {}
        self.ami: AmiClient | None = None

    async def start(self) -> None:
        self.ami = amiwatch.client(self.settings, self._event, "agi,dtmf,call,dialplan")
        await self.ami.start()
        await self.ami.wait_connected(10)

    async def close(self) -> None:
        if self.ami is not None:
            await self.ami.close()

    def silences(self, call_ids: set[str] | None = None) -> list[Silence]:
        return [s for call_id, line in self.lines.items()
                if call_ids is None or call_id in call_ids for s in line.silences]

    def _event(self, message: Any) -> None:
        name = message.get("Event", "")
        call_id = message.get("Uniqueid", "")
        try:
            at = float(message.get("Timestamp", ""))
        except ValueError:
            return
        if name == "Newstate" and message.get("ChannelStateDesc") == "Up":
            self.lines.setdefault(call_id, _Line()).answered = at
            return
        line = self.lines.get(call_id)
        if line is None:
            return
        if name == "AGIExecStart":
            line.in_agi = True
            command = message.get("Command", "")
            if command.upper().startswith("STREAM FILE"):
                self._prompt_starts(call_id, line, command, at)
            elif command.upper().startswith("WAIT FOR DIGIT"):
                line.waiting_for_keys = True
        elif name == "AGIExecEnd":
            command = message.get("Command", "").upper()
            line.agi_done = at
            if command.startswith(("STREAM FILE", "WAIT FOR DIGIT")):
                line.last_heard = at
                line.waiting_for_keys = False
        elif name == "DTMFEnd" and message.get("Direction") == "Received":
            line.last_heard = at
        elif name == "Newexten" and message.get("Application") == "AGI":
            line.agi_started = at
        elif name == "Newexten" and line.in_agi:
            line.in_agi = False  # the IVR gave the call back to the dialplan
            if line.agi_done is not None:
                line.silences.append(Silence(call_id, "handoff", "", at - line.agi_done))

    def _prompt_starts(self, call_id: str, line: _Line, command: str, at: float) -> None:
        words = command.split()
        prompt = PurePosixPath(words[2].strip('"')).name if len(words) > 2 else "?"
        if line.first_prompt:
            line.first_prompt = False
            if line.answered is not None:
                line.silences.append(Silence(call_id, "answer", prompt, at - line.answered))
            if line.agi_started is not None:
                line.silences.append(Silence(call_id, "agi", prompt, at - line.agi_started))
        elif line.last_heard is not None and not line.waiting_for_keys:
            line.silences.append(Silence(call_id, "reply", prompt, at - line.last_heard))
        line.last_heard = None
