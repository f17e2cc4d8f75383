"""The IVR service: runs one call through the menu over its AGI channel.

Thin shell: the stepper decides, this plays prompts, collects keys, records every step and tells
the dialplan where the call goes next (``HOTLINE_NEXT`` = ``hangup`` or ``queue``). If anything
breaks, the session ends without ``HOTLINE_NEXT`` and the dialplan's own fallback (apology, then
the operator queue) serves the caller.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, Callable

from records.calls import utcnow
from records.store import RecordsStore

from . import stepper
from .agi.channel import AgiChannel
from .agi.errors import AgiError, AgiHangup
from .menu import Menu

log = logging.getLogger("ivr")

_CALLER = re.compile(r"[^0-9+]")


def filter_caller(raw: str) -> str:
    """Caller numbers are digits with an optional leading +, at most 20 characters."""
    kept = _CALLER.sub("", raw)
    plus = "+" if kept.startswith("+") else ""
    return (plus + kept.replace("+", ""))[:20]


class IvrService:
    def __init__(
        self,
        menu: Callable[[], Menu],
        store: RecordsStore,
        sounds: Path,
        stopping: asyncio.Event,
        language: str = "vi",
    ) -> None:
        self._menu = menu
        self._store = store
        self._sounds = sounds
        self._stopping = stopping
        self._language = language

    def sound(self, prompt_id: str) -> str:
        return str(self._sounds / self._language / prompt_id)

    async def handle_call(self, channel: AgiChannel, args: tuple[str, ...]) -> None:
        env = channel.environment
        call_id = env.uniqueid
        caller = filter_caller(args[0] if args else env.get("agi_callerid"))
        sip_call_id = re.sub(r"[^0-9A-Za-z@.]", "", args[1])[:128] if len(args) > 1 else None
        menu = self._menu()  # the call keeps this version even if the file changes meanwhile
        await self._store.open(call_id=call_id, caller_number=caller, started_at=utcnow(),
                               sip_call_id=sip_call_id or None, menu_version=menu.version)
        saving: set[asyncio.Task[None]] = set()
        log.info("call %s from %s enters menu %s", call_id, caller or "anonymous", menu.version)
        path: list[dict[str, Any]] = []
        outcome = "abandoned"
        try:
            state, effect, entries = stepper.start(menu)
            path += entries
            while isinstance(effect, stepper.Prompt):
                heard = await self._perform(channel, effect)
                state, effect, entries = stepper.step(menu, state, heard)
                path += entries
                if self._stopping.is_set() and isinstance(effect, stepper.Prompt):
                    path.append({"event": "controller_stopping"})
                    effect = stepper.Finish(prompts=("transfer_operator",), outcome="queued",
                                            route="queue")
                # recorded in the background, in order, so no keypress waits for the database
                task = asyncio.create_task(self._store.save_path(call_id, list(path)))
                saving.add(task)
                task.add_done_callback(saving.discard)
            outcome = effect.outcome
            await channel.set_variable("CDR(hotline_outcome)", outcome)
            for prompt in effect.prompts:
                await channel.stream_file(self.sound(prompt))
            await channel.set_variable("HOTLINE_NEXT", effect.route)
        except AgiHangup:
            path.append({"event": "caller_hung_up"})
        except AgiError as exc:
            # The dialplan's fallback takes the caller on (HOTLINE_NEXT is not set).
            log.error("call %s: %s (%s); the dialplan fallback takes over", call_id, exc, exc.code)
            path.append({"event": "error", "code": exc.code})
            outcome = "fallback"
        except asyncio.CancelledError:
            path.append({"event": "controller_stopped"})
            await asyncio.gather(*saving, return_exceptions=True)
            await self._store.close(call_id, "fallback", path)
            raise
        await asyncio.gather(*saving, return_exceptions=True)
        await self._store.close(call_id, outcome, path)
        log.info("call %s leaves the IVR: %s", call_id, outcome)

    async def _perform(self, channel: AgiChannel, effect: stepper.Prompt) -> stepper.Heard:
        for prompt in effect.prompts:
            key, _ = await channel.stream_file(self.sound(prompt), effect.keys)
            if key is not None:
                return stepper.Heard(key)
        if effect.timeout_ms > 0:
            return stepper.Heard(await channel.wait_for_digit(effect.timeout_ms))
        return stepper.Heard(None)
