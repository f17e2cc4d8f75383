"""The menu stepper: pure, (menu, state, what the caller did) -> (state, what to do next).

The live IVR and ``hotline ivr simulate`` both drive this and nothing else decides where a call
goes. Two effects exist:

* :class:`Prompt` - play these prompts (a key in ``keys`` interrupts them), then wait up to
  ``timeout_ms`` for a key; answer with :class:`Heard` (the key, or None).
* :class:`Finish` - play these prompts, then leave the IVR (``route`` is ``hangup`` or ``queue``).

Each step also returns the path entries to record for the call (keys heard, prompts played).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Union

from .menu import Menu, Node

ALL_KEYS = "0123456789*#"


@dataclass(frozen=True)
class Prompt:
    prompts: tuple[str, ...]
    keys: str = ""
    timeout_ms: int = 0


@dataclass(frozen=True)
class Finish:
    prompts: tuple[str, ...]
    outcome: str
    route: str  # "hangup" | "queue"
    queue: str | None = None


Effect = Union[Prompt, Finish]


@dataclass(frozen=True)
class Heard:
    key: str | None


@dataclass(frozen=True)
class CallState:
    node: str
    attempts: int = 0
    gave_up: str | None = None  # "no_input" / "invalid_input": a menu ran out of retries


Path = list[dict[str, Any]]


def start(menu: Menu) -> tuple[CallState, Effect, Path]:
    return _goto(menu, menu.start, [])


def step(menu: Menu, state: CallState, heard: Heard) -> tuple[CallState, Effect, Path]:
    """What the caller did at ``state.node`` decides the next effect."""
    node = menu.node(state.node)
    key = heard.key
    if node.kind == "play":
        assert node.next is not None
        new_state, effect, path = _goto(menu, node.next, [], gave_up=state.gave_up)
        if key is not None and menu.node(node.next).kind == "menu":
            # type-ahead: a key pressed during an announcement answers the menu that follows
            new_state, effect, more = step(menu, new_state, heard)
            path = [{**more[0], "type_ahead": True}] + more[1:]
        elif key is not None:
            path = [{"node": node.id, "key": key, "event": "skipped"}] + path
        return new_state, effect, path
    if node.kind != "menu":
        raise ValueError(f"node {node.id!r} ({node.kind}) takes no input")
    if key is not None and key in node.options:
        return _goto(menu, node.options[key], [{"node": node.id, "key": key}])
    attempts = state.attempts + 1
    missed = {"node": node.id, "key": key, "event": "no_input" if key is None else "invalid"}
    if attempts > node.retries:
        missed["exhausted"] = True
        fallback = node.on_no_input if key is None else node.on_invalid
        gave_up = "no_input" if key is None else "invalid_input"
        if fallback is None:
            effect = Finish(prompts=(), outcome=gave_up, route="hangup")
            return replace(state, attempts=attempts, gave_up=gave_up), effect, [missed]
        return _goto(menu, fallback, [missed], gave_up=gave_up)
    extra = node.no_input_prompts if key is None else node.invalid_prompts
    effect = Prompt(prompts=extra + node.prompts, keys=ALL_KEYS, timeout_ms=node.timeout_ms)
    played = {"node": node.id, "played": list(effect.prompts)}
    return replace(state, attempts=attempts), effect, [missed, played]


def _goto(menu: Menu, node_id: str, path: Path, *, gave_up: str | None = None
          ) -> tuple[CallState, Effect, Path]:
    node = menu.node(node_id)
    effect = _enter(node, gave_up)
    entry = {"node": node.id, "played": list(effect.prompts)}
    return CallState(node=node_id, gave_up=gave_up), effect, path + [entry]


def _enter(node: Node, gave_up: str | None) -> Effect:
    if node.kind == "play":
        return Prompt(prompts=node.prompts, keys=ALL_KEYS)
    if node.kind == "menu":
        # every key interrupts a menu prompt: a wrong key gets the retry prompt at once
        return Prompt(prompts=node.prompts, keys=ALL_KEYS, timeout_ms=node.timeout_ms)
    if node.kind == "transfer":
        return Finish(prompts=node.prompts, outcome="queued", route="queue", queue=node.queue)
    return Finish(prompts=node.prompts, outcome=gave_up or "completed", route="hangup")
