"""The menu stepper: pure, (menu, state, what happened, now) -> (state, what to do, path).

The live IVR and ``hotline ivr simulate`` both drive this and nothing else decides where a call
goes. Effects:

* :class:`Prompt` - play these sounds (a key in ``keys`` interrupts them), then read keys as
  asked (none, one, or up to ``max_digits``); answer with :class:`Heard`.
* :class:`Act` - run a self-service action (a lookup, a new request); answer with
  :class:`Acted` (its outcome and the variables it sets).
* :class:`Finish` - play these sounds, then leave the IVR (``route`` is ``hangup`` or ``queue``,
  with the skills, language and priority the path implies).

Sounds are ``"<language>/<prompt or word id>"``. Each step also returns the path entries to
record for the call (nodes entered, prompts played, keys heard, actions and their outcomes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from speech import values as speech
from speech.grammar import Grammar

from .menu import SPECIAL_TARGETS, Choose, Each, Item, Menu, Node, Say, When

ALL_KEYS = "0123456789*#"
DIGITS = "0123456789"


@dataclass(frozen=True)
class Prompt:
    sounds: tuple[str, ...]
    keys: str = ""
    timeout_ms: int = 0
    max_digits: int = 1
    terminator: str | None = None
    inter_digit_ms: int = 0
    stop_keys: str = ""  # a first key that ends digit collection at once (a global key)
    prefix: str = ""     # keys already typed (type-ahead): collection goes on from them
    listen: Grammar | None = None  # the caller may also speak (docs/speech.md); keys still win


@dataclass(frozen=True)
class Act:
    action: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Finish:
    sounds: tuple[str, ...]
    outcome: str
    route: str  # "hangup" | "queue"
    queue: str | None = None
    skills: tuple[str, ...] = ()
    priority: int = 0
    language: str = "vi"


Effect = Prompt | Act | Finish


@dataclass(frozen=True)
class Heard:
    """What the caller keyed: one key, a digit string (terminator removed), or None; or what
    they said, as the key it stands for, with ``spoken`` (phrase, confidence) for the path.
    ``unrecognised``: they spoke, but nothing in the grammar was heard (an invalid choice)."""
    key: str | None
    spoken: Mapping[str, Any] | None = None
    unrecognised: bool = False


@dataclass(frozen=True)
class Acted:
    outcome: str
    values: Mapping[str, Any] = field(default_factory=dict)


Event = Heard | Acted


@dataclass(frozen=True)
class CallState:
    node: str
    attempts: int = 0
    gave_up: str | None = None  # "no_input" / "invalid_input": a menu ran out of retries
    language: str = "vi"
    vars: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    back: tuple[str, ...] = ()  # menus left by a choice, for the 'back' key
    typed_ahead: tuple[str, str] | None = None  # (key, announcement) waiting for a question


Path = list[dict[str, Any]]


# -- entry points -----------------------------------------------------------------------------

def start(menu: Menu, *, caller: str = "", now: dt.datetime | None = None,
          language: str | None = None) -> tuple[CallState, Effect, Path]:
    lang = language or menu.languages[0]
    switches = {name: "on" if on else "off" for name, on in menu.features.items()}
    state = CallState(node=menu.start, language=lang,
                      vars=MappingProxyType({"caller": caller, "language": lang,
                                             "features": switches}))
    return _enter(menu, state, menu.start, now or dt.datetime.now(), [])


def step(menu: Menu, state: CallState, event: Event, now: dt.datetime | None = None
         ) -> tuple[CallState, Effect, Path]:
    """What happened at ``state.node`` decides the next effect."""
    now = now or dt.datetime.now()
    node = menu.node(state.node)
    if isinstance(event, Acted):
        if node.kind != "action":
            raise ValueError(f"node {node.id!r} ({node.kind}) ran no action")
        variables = dict(state.vars)
        variables.update(event.values)
        state = replace(state, vars=MappingProxyType(variables))
        target = node.on.get(event.outcome, node.next)
        entry = {"node": node.id, "action": node.action, "outcome": event.outcome}
        if target is None:
            return state, Finish((), "completed", "hangup", language=state.language), [entry]
        pending, state = state.typed_ahead, replace(state, typed_ahead=None)
        new_state, effect, path = _enter(menu, state, target, now, [entry])
        if pending is not None:
            return _type_ahead(menu, state, new_state, effect, path, pending[0], pending[1],
                               now)
        return new_state, effect, path
    key = event.key
    if node.kind == "play":
        return _after_play(menu, state, node, key, now)
    if node.kind in ("menu", "confirm"):
        result = _after_menu(menu, state, node, key, now, event.unrecognised)
    elif node.kind == "collect":
        result = _after_collect(menu, state, node, key, now, event.unrecognised)
    else:
        raise ValueError(f"node {node.id!r} ({node.kind}) takes no keys")
    if event.spoken is None:
        return result
    new_state, effect, path = result
    first = next((i for i, e in enumerate(path) if e.get("node") == node.id), None)
    if first is not None:  # the step of this node says the caller spoke it
        path = path[:first] + [{**path[first], "spoken": dict(event.spoken)}] + path[first + 1:]
    return new_state, effect, path


# -- after the caller acted -------------------------------------------------------------------

def _global(menu: Menu, state: CallState, node: Node, key: str, now: dt.datetime,
            path: Path) -> tuple[CallState, Effect, Path] | None:
    if not node.global_keys or key not in menu.keys:
        return None
    target = menu.keys[key]
    if target == "repeat":
        return _enter(menu, replace(state, attempts=0), node.id, now,
                      path + [{"node": node.id, "key": key, "event": "repeat"}], keep_back=True)
    if target == "back":
        entry = {"node": node.id, "key": key, "event": "back"}
        if state.back:
            previous = state.back[-1]
            return _enter(menu, replace(state, back=state.back[:-1]), previous, now,
                          path + [entry], keep_back=True)
        return _enter(menu, state, node.id, now, path + [entry], keep_back=True)
    return _enter(menu, state, target, now, path + [{"node": node.id, "key": key,
                                                     "event": "global"}])


def _after_play(menu: Menu, state: CallState, node: Node, key: str | None, now: dt.datetime
                ) -> tuple[CallState, Effect, Path]:
    assert node.next is not None
    if key is not None and menu.keys.get(key) in SPECIAL_TARGETS and node.global_keys:
        handled = _global(menu, state, node, key, now, [])  # repeat/back mean this announcement
        if handled is not None:
            return handled
    new_state, effect, path = _enter(menu, state, node.next, now, [])
    if key is None:
        return new_state, effect, path
    return _type_ahead(menu, state, new_state, effect, path, key, node.id, now)


def _type_ahead(menu: Menu, before: CallState, state: CallState, effect: Effect, path: Path,
                key: str, origin: str, now: dt.datetime) -> tuple[CallState, Effect, Path]:
    """A key pressed during an announcement answers whatever asks for a key next: a menu (its
    options, then the global keys), or the first digit of a number. An action on the way keeps
    the key until the next question. With no question next, a global key still works and
    anything else is skipped."""
    node = menu.node(state.node)
    if isinstance(effect, Act):
        return replace(state, typed_ahead=(key, origin)), effect, path
    if isinstance(effect, Prompt) and node.kind in ("menu", "confirm"):
        state, effect, more = step(menu, state, Heard(key), now)
        return state, effect, path[:-1] + [{**more[0], "type_ahead": True}] + more[1:]
    if isinstance(effect, Prompt) and node.kind == "collect" and key in DIGITS:
        effect = replace(effect, sounds=(), prefix=key, timeout_ms=effect.inter_digit_ms)
        return state, effect, path[:-1] + [{"node": node.id, "key": key, "type_ahead": True}]
    handled = _global(menu, before, menu.node(origin), key, now, [])
    if handled is not None:
        return handled
    return state, effect, [{"node": origin, "key": key, "event": "skipped"}] + path


def _missed(menu: Menu, state: CallState, node: Node, key: str | None, now: dt.datetime,
            event: str) -> tuple[CallState, Effect, Path]:
    """No input, or input that is not valid here: retry, or give up to the fallback."""
    attempts = state.attempts + 1
    missed: dict[str, Any] = {"node": node.id, "key": key, "event": event}
    if attempts > node.retries:
        missed["exhausted"] = True
        fallback = node.on_no_input if event == "no_input" else node.on_invalid
        gave_up = "no_input" if event == "no_input" else "invalid_input"
        if fallback is None:
            return (replace(state, attempts=attempts, gave_up=gave_up),
                    Finish((), gave_up, "hangup", language=state.language), [missed])
        return _enter(menu, replace(state, gave_up=gave_up), fallback, now, [missed])
    extra = node.no_input_prompts if event == "no_input" else node.invalid_prompts
    state = replace(state, attempts=attempts)
    effect = _prompt_for(node, state, _sounds(extra + node.prompts, state), menu)
    played = {"node": node.id, "played": _ids(effect.sounds)}
    return state, effect, [missed, played]


def _after_menu(menu: Menu, state: CallState, node: Node, key: str | None, now: dt.datetime,
                unrecognised: bool = False) -> tuple[CallState, Effect, Path]:
    if key is not None and key in node.options and (
            key not in node.option_when or _holds(menu, node.option_when[key], state, now)):
        left = replace(state, back=state.back + (node.id,), gave_up=None)
        return _enter(menu, left, node.options[key], now, [{"node": node.id, "key": key}])
    if key is not None:
        handled = _global(menu, state, node, key, now, [])
        if handled is not None:
            return handled
    return _missed(menu, state, node, key, now,
                   "no_input" if key is None and not unrecognised else "invalid")


def _after_collect(menu: Menu, state: CallState, node: Node, keys: str | None,
                   now: dt.datetime, unrecognised: bool = False
                   ) -> tuple[CallState, Effect, Path]:
    if not keys:
        return _missed(menu, state, node, None, now, "invalid" if unrecognised else "no_input")
    if keys[0] not in DIGITS and len(keys) == 1:
        handled = _global(menu, state, node, keys, now, [])
        if handled is not None:
            return handled
    digits = keys[:-1] if node.terminator and keys.endswith(node.terminator) else keys
    value = _validated(node, digits)
    if value is None:
        return _missed(menu, state, node, digits, now, "invalid")
    assert node.store is not None and node.next is not None
    variables = dict(state.vars)
    variables[node.store] = value
    state = replace(state, vars=MappingProxyType(variables), gave_up=None)
    return _enter(menu, state, node.next, now, [{"node": node.id, "key": digits,
                                                 "event": "collected"}])


def _validated(node: Node, digits: str) -> str | None:
    if not digits.isdigit() or not node.min_digits <= len(digits) <= node.max_digits:
        return None
    if node.validate == "customer_code":
        from records.lookups import customer_code

        code = customer_code(digits)
        return code if isinstance(code, str) else None
    if node.validate == "request_number":
        from records.lookups import request_number

        number = request_number(digits)
        return number if isinstance(number, str) else None
    if node.validate == "phone":
        from records.lookups import phone_number

        phone = phone_number(digits)
        return phone if isinstance(phone, str) else None
    return digits


# -- entering nodes ----------------------------------------------------------------------------

def _enter(menu: Menu, state: CallState, node_id: str, now: dt.datetime, path: Path,
           *, keep_back: bool = False) -> tuple[CallState, Effect, Path]:
    for _hop in range(len(menu.nodes) + 1):  # the validator forbids loops without input
        node = menu.node(node_id)
        state = replace(state, node=node_id, attempts=0)
        if node.sets:
            state = _set(state, node.sets)
        if node.kind == "language":
            assert node.language is not None and node.next is not None
            variables = dict(state.vars)
            variables["language"] = node.language
            state = replace(state, language=node.language, vars=MappingProxyType(variables))
            path = path + [{"node": node.id, "language": node.language}]
            node_id = node.next
            continue
        if node.kind == "condition":
            target = next((b.goto for b in node.branches if _holds(menu, b.when, state, now)),
                          node.otherwise)
            assert target is not None
            path = path + [{"node": node.id, "goto": target}]
            node_id = target
            continue
        break
    else:
        return state, Finish((), "failed", "queue", language=state.language), path + [
            {"node": node_id, "event": "loop_limit"}]
    if node.kind == "action":
        assert node.action is not None
        args = {name: _resolve(state, value[1:]) if value.startswith("$") else value
                for name, value in node.args.items()}
        return state, Act(node.action, MappingProxyType(args)), path
    sounds = _sounds(node.prompts, state)
    entry = {"node": node.id, "played": _ids(sounds)}
    if node.kind == "transfer":
        effect: Effect = Finish(sounds, "queued", "queue", queue=node.queue, skills=node.skills,
                                priority=node.priority, language=node.language or state.language)
        return state, effect, path + [entry]
    if node.kind == "hangup":
        outcome = node.outcome or state.gave_up or "completed"
        return state, Finish(sounds, outcome, "hangup", language=state.language), path + [entry]
    return state, _prompt_for(node, state, sounds, menu), path + [entry]


def _prompt_for(node: Node, state: CallState, sounds: tuple[str, ...], menu: Menu) -> Prompt:
    if node.kind == "play":
        return Prompt(sounds, keys=ALL_KEYS)
    listen = node.grammar(state.language)
    if node.kind == "collect":
        stop = "".join(k for k in menu.keys if k not in DIGITS and k != node.terminator) \
            if node.global_keys else ""
        return Prompt(sounds, keys=ALL_KEYS, timeout_ms=node.timeout_ms,
                      max_digits=node.max_digits + (1 if node.terminator else 0),
                      terminator=node.terminator, inter_digit_ms=node.inter_digit_ms,
                      stop_keys=stop, listen=listen)
    # every key interrupts a menu prompt: a wrong key gets the retry prompt at once
    return Prompt(sounds, keys=ALL_KEYS, timeout_ms=node.timeout_ms, listen=listen)


def _holds(menu: Menu, when: When, state: CallState, now: dt.datetime) -> bool:
    if when.holiday is not None and (now.date() in menu.holidays) != when.holiday:
        return False
    if when.days is not None and now.weekday() not in when.days:
        return False
    if when.time is not None:
        minute = now.hour * 60 + now.minute
        start, end = when.time
        inside = start <= minute < end if start <= end else (minute >= start or minute < end)
        if not inside:
            return False
    if when.dates is not None and now.date() not in when.dates:
        return False
    if when.var is not None:
        value = _resolve(state, when.var)
        if when.exists is not None and (value not in (None, "", [], ())) != when.exists:
            return False
        if when.gt is not None:
            try:
                if not float(value) > when.gt:
                    return False
            except (TypeError, ValueError):
                return False
        if when.eq is not None and str(value) != when.eq:
            return False
    return True


def _set(state: CallState, sets: Mapping[str, str]) -> CallState:
    variables = dict(state.vars)
    for name, value in sets.items():
        if value == "+1":
            try:
                variables[name] = int(variables.get(name) or 0) + 1
            except (TypeError, ValueError):
                variables[name] = 1
        else:
            variables[name] = value
    return replace(state, vars=MappingProxyType(variables))


# -- sounds -----------------------------------------------------------------------------------

def _resolve(state: CallState | Mapping[str, Any], path: str) -> Any:
    value: Any = state.vars if isinstance(state, CallState) else state
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        else:
            value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _sounds(items: tuple[Item, ...], state: CallState,
            scope: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    lang = state.language
    variables = scope if scope is not None else state.vars
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(f"{lang}/{item}")
        elif isinstance(item, Say):
            value = _resolve(variables, item.var)
            if isinstance(value, str) and value.isdigit() and item.kind in ("number", "money",
                                                                            "kwh"):
                value = int(value)  # a number the caller keyed
            if value is not None:
                try:
                    out += [f"{lang}/{w}" for w in speech.say(item.kind, value, lang)]
                except speech.SpeechError:
                    pass  # a value that cannot be read is left out, never a broken call
        elif isinstance(item, Choose):
            value = _resolve(variables, item.var)
            chosen = dict(item.prompts).get(str(value), item.otherwise)
            if chosen:
                out.append(f"{lang}/{chosen}")
        elif isinstance(item, Each):
            elements = _resolve(variables, item.var) or []
            for element in list(elements)[: item.max]:
                inner = dict(variables)
                inner["item"] = element
                out += _sounds(item.items, state, inner)
    return tuple(out)


def _ids(sounds: tuple[str, ...]) -> list[str]:
    """Sound paths as recorded in the call path (without the language folder)."""
    return [s.split("/", 1)[1] for s in sounds]
