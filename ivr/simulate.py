"""``hotline ivr simulate``: walk a menu as a caller would, in a text console.

It drives the same stepper and the same self-service actions (against the real database) as
the live IVR; only the telephone is replaced by the keyboard. Type the keys a caller would press
(``1``, ``01234567890#``), an empty line for silence, ``q`` to hang up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from records.store import RecordsStore

from . import stepper
from .actions import ActionRunner, CallContext
from .menu import Menu


class Texts:
    """What each sound says, for the console."""

    def __init__(self, catalogue: dict[str, dict[str, str]], words: dict[str, dict[str, str]]):
        self._catalogue = catalogue
        self._words = words

    def say(self, sound: str) -> str:
        lang, sound_id = sound.split("/", 1)
        if sound_id in self._catalogue:
            return self._catalogue[sound_id].get(lang, f"<{sound_id}>")
        return self._words.get(lang, {}).get(sound_id, f"<{sound_id}>")


async def simulate(menu: Menu, store: RecordsStore, actions: ActionRunner, texts: Texts, *,
                   caller: str = "", clock: Callable[[], dt.datetime] = dt.datetime.now,
                   read: Callable[[], str | None] = lambda: sys.stdin.readline() or None,
                   out: TextIO = sys.stdout) -> tuple[str, list[dict[str, object]]]:
    """Run one simulated call; returns its outcome and path, as the call record would have."""
    context = CallContext(call_id=f"simulated-{dt.datetime.now():%H%M%S%f}", caller=caller)
    state, effect, path = stepper.start(menu, caller=caller, now=clock())
    out.write(f"-- menu {menu.source} version {menu.version}, caller {caller or 'anonymous'}\n")
    while not isinstance(effect, stepper.Finish):
        if isinstance(effect, stepper.Act):
            event: stepper.Event = await actions.run(effect.action, effect.args, state.vars,
                                                     context)
            out.write(f"   [{effect.action}: {event.outcome}]\n")
        else:
            out.writelines(f"<< {texts.say(sound)}\n" for sound in effect.sounds)
            if effect.prefix:
                out.write(f">> (already typed: {effect.prefix}) more digits: ")
                out.flush()
                line = read() or ""
                keys = effect.prefix + "".join(k for k in line.strip() if k in stepper.ALL_KEYS)
                event = stepper.Heard(keys[: effect.max_digits])
            elif effect.timeout_ms == 0 and effect.max_digits <= 1:
                event = stepper.Heard(None)  # an announcement: the caller just listens
            else:
                what = "digits" if effect.max_digits > 1 else "a key"
                out.write(f">> {what} (Enter = nothing, q = hang up): ")
                out.flush()
                line = read()
                if line is None or line.strip().lower() == "q":
                    out.write("\n-- the caller hung up\n")
                    return "abandoned", path + [{"event": "caller_hung_up"}]
                keys = "".join(k for k in line.strip() if k in stepper.ALL_KEYS)
                event = stepper.Heard(keys[: effect.max_digits] or None)
        state, effect, entries = stepper.step(menu, state, event, clock())
        path += entries
    out.writelines(f"<< {texts.say(sound)}\n" for sound in effect.sounds)
    where = f" to {effect.queue} {list(effect.skills)} priority {effect.priority}" \
        if effect.route == "queue" else ""
    out.write(f"-- {effect.outcome}: {effect.route}{where}\n")
    return effect.outcome, path


def run_console(menu: Menu, store: RecordsStore, actions: ActionRunner, catalogue: Path,
                caller: str) -> int:
    from .prompts import load_catalogue, load_words

    texts = Texts({k: v.texts for k, v in load_catalogue(catalogue).items()},
                  load_words(catalogue.with_name("words.yaml")))
    _outcome, _ = asyncio.run(simulate(menu, store, actions, texts, caller=caller))
    return 0
