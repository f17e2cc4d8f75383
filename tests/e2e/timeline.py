"""What each caller heard, from Asterisk's own events: a second AMI connection that records, with
the time it arrived, every event that starts or stops sound on a channel.

Sound on a channel: music on hold (``MusicOnHoldStart`` .. ``MusicOnHoldStop``), a dialplan
``Playback`` (from its ``Newexten`` to the channel's next ``Newexten``), a conversation
(``BridgeEnter`` .. ``BridgeLeave``). Prompts the controller plays over FastAGI raise no event:
so the silences measured here are upper bounds (a caller in the IVR may have heard a prompt).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

from acd.ami.client import AmiClient
from hotline.config import Settings

from . import amiwatch

Event = tuple[float, str, dict[str, str]]  # (monotonic time, event name, headers)


@dataclass(frozen=True)
class Silence:
    since: float        # monotonic time the silence began (or the measurement's start)
    seconds: float


class AmiTimeline:
    """Records events in a thread of its own; use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ami: AmiClient | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(20)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._ami is not None:
            asyncio.run_coroutine_threadsafe(self._ami.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _connect(self) -> None:
        s = self.settings
        self._ami = amiwatch.client(s, self._record, "call,dialplan,user,agent")
        await self._ami.start()
        await self._ami.wait_connected(15)

    def _record(self, message: Any) -> None:
        headers = dict(message.headers)
        with self._lock:
            self.events.append((time.monotonic(), message.name, headers))

    # -- reading -------------------------------------------------------------------------------

    def of(self, uniqueid: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e[2].get("Uniqueid") == uniqueid]

    def user_events(self, kind: str, uniqueid: str | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e[1] == "UserEvent"
                    and e[2].get("UserEvent") == kind
                    and (uniqueid is None or e[2].get("Uniqueid") == uniqueid)]

    def first(self, kind: str, uniqueid: str, after: float) -> float | None:
        """When the first ``UserEvent(kind)`` of this channel came after ``after``."""
        times = [t for t, _, _ in self.user_events(kind, uniqueid) if t >= after]
        return min(times) if times else None

    def longest_silence(self, uniqueid: str, since: float, until: float | None = None
                        ) -> Silence:
        """The longest stretch from ``since`` to the channel's hang-up (or ``until``, or now)
        in which the caller heard nothing, per the events; sound playing at ``since`` counts."""
        sound = _Sound()
        changes: list[tuple[float, bool]] = []  # (when, audible from then on)
        end = until if until is not None else time.monotonic()
        for when, name, headers in self.of(uniqueid):
            if name == "Hangup":
                end = min(end, when)
                break
            sound.apply(name, headers)
            changes.append((when, sound.audible))
        before = [audible for when, audible in changes if when < since]
        silent_from = None if before and before[-1] else since
        worst = Silence(since, 0.0)
        for when, audible in changes:
            if when < since or when > end:
                continue
            if not audible and silent_from is None:
                silent_from = when
            elif audible and silent_from is not None:
                if when - silent_from > worst.seconds:
                    worst = Silence(silent_from, when - silent_from)
                silent_from = None
        if silent_from is not None and end - silent_from > worst.seconds:
            worst = Silence(silent_from, end - silent_from)
        return worst


class _Sound:
    """Whether a channel hears something, event by event."""

    def __init__(self) -> None:
        self.moh = self.bridged = self.playback = False

    @property
    def audible(self) -> bool:
        return self.moh or self.bridged or self.playback

    def apply(self, name: str, headers: dict[str, str]) -> None:
        if name == "Newexten":
            self.playback = headers.get("Application") == "Playback"
        elif name in ("MusicOnHoldStart", "MusicOnHoldStop"):
            self.moh = name == "MusicOnHoldStart"
        elif name in ("BridgeEnter", "BridgeLeave"):
            self.bridged = name == "BridgeEnter"
