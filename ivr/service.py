"""The IVR service: runs one call through the menu over its AGI channel.

Thin shell: the stepper decides; this plays sounds, collects keys, runs actions, records every
step and tells the dialplan where the call goes next (``HOTLINE_NEXT`` = ``hangup`` or
``queue``, with the skills, language and priority for the queue). If anything breaks, the session
ends without ``HOTLINE_NEXT`` and the dialplan's own fallback (apology, then the operator queue)
serves the caller.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acd.agents import join_skills
from records.clock import utcnow
from records.store import RecordsStore

from . import stepper
from .actions import ActionRunner, CallContext, local
from .agi.channel import AgiChannel
from .agi.errors import AgiError, AgiHangup
from .listening import Listener
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
        actions: ActionRunner,
        sounds: Path,
        stopping: asyncio.Event,
        clock: Callable[[], dt.datetime] = lambda: local(utcnow()),
        listener: Listener | None = None,
    ) -> None:
        self._menu = menu
        self._store = store
        self._actions = actions
        self._sounds = sounds
        self._stopping = stopping
        self._clock = clock
        self._listener = listener

    def sound(self, sound: str) -> str:
        return str(self._sounds / sound)

    async def handle_call(self, channel: AgiChannel, args: tuple[str, ...]) -> None:
        env = channel.environment
        call_id = env.uniqueid
        caller = filter_caller(args[0] if args else env.get("agi_callerid"))
        sip_call_id = re.sub(r"[^0-9A-Za-z@.]", "", args[1])[:128] if len(args) > 1 else None
        menu = self._menu()  # the call keeps this version even if the file changes meanwhile
        # record writes return at once (the store queues them in order, per call): the
        # caller never waits for the database, not before the first prompt nor at the end
        await self._store.open(call_id=call_id, caller_number=caller, started_at=utcnow(),
                               sip_call_id=sip_call_id or None, menu_version=menu.version)
        log.info("call %s from %s enters menu %s", call_id, caller or "anonymous", menu.version)
        context = CallContext(call_id=call_id, caller=caller)
        path: list[dict[str, Any]] = []
        outcome = "abandoned"
        try:
            state, effect, entries = stepper.start(menu, caller=caller, now=self._clock())
            path += entries
            while not isinstance(effect, stepper.Finish):
                event: stepper.Event
                if isinstance(effect, stepper.Act):
                    event = await self._actions.run(effect.action, effect.args, state.vars,
                                                    context)
                    customer = event.values.get("customer")
                    if customer and customer.get("id") != (state.vars.get("customer") or {}
                                                           ).get("id"):
                        await self._store.set_customer(call_id, customer["id"])
                else:
                    event = await self._perform(channel, effect, state.language)
                state, effect, entries = stepper.step(menu, state, event, self._clock())
                path += entries
                if self._stopping.is_set() and not isinstance(effect, stepper.Finish):
                    path.append({"event": "controller_stopping"})
                    effect = stepper.Finish((f"{state.language}/transfer_operator",), "queued",
                                            "queue", language=state.language)
                await self._store.save_path(call_id, path)
            outcome = effect.outcome
            await channel.set_variable("CDR(hotline_outcome)", outcome)
            for sound in effect.sounds:
                await channel.stream_file(self.sound(sound))
            if effect.route == "queue":
                await self._to_queue(channel, effect)
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
            await self._store.close(call_id, "fallback", path)
            raise
        await self._store.close(call_id, outcome, path)
        log.info("call %s leaves the IVR: %s", call_id, outcome)

    async def _to_queue(self, channel: AgiChannel, effect: stepper.Finish) -> None:
        """What the queue needs to know: skills, language, priority (QUEUE_PRIO for app_queue)."""
        await channel.set_variable("HOTLINE_SKILLS", join_skills(effect.skills))
        await channel.set_variable("HOTLINE_LANGUAGE", effect.language)
        await channel.set_variable("HOTLINE_PRIORITY", str(effect.priority))
        await channel.set_variable("QUEUE_PRIO", str(effect.priority))

    async def _perform(self, channel: AgiChannel, effect: stepper.Prompt, language: str
                       ) -> stepper.Heard:
        key: str | None = effect.prefix or None
        if key is None:
            for sound in effect.sounds:
                key, _ = await channel.stream_file(self.sound(sound), effect.keys)
                if key is not None:
                    break
            if key is None and effect.timeout_ms > 0:
                if (effect.listen is not None and self._listener is not None
                        and self._listener.can_listen(language)):
                    # the caller may speak; a key pressed meanwhile is taken as ever
                    return await self._listener.listen(channel, effect, language, self.sound)
                key = await channel.wait_for_digit(effect.timeout_ms)
        if key is None or effect.max_digits <= 1 or key in effect.stop_keys:
            return stepper.Heard(key)
        keys = key
        while len(keys) < effect.max_digits and not (
                effect.terminator and keys.endswith(effect.terminator)):
            following = await channel.wait_for_digit(effect.inter_digit_ms)
            if following is None:
                break
            keys += following
        return stepper.Heard(keys)
