"""IVR menus as admins write them (YAML), loaded into frozen dataclasses with every error located.

    hotline: "19001122"
    start: welcome
    languages: [vi, en]          # the first is the default
    timeout: 5s                  # default wait for a key
    retries: 2                   # default retries of a menu
    keys: {"0": operator, "*": repeat, "#": back}   # keys that work everywhere
    holidays: {"2026-01-01": "Tết Dương lịch"}
    nodes:
      welcome: {type: play, prompts: [welcome], next: main}
      main:
        type: menu
        prompts: [main_menu]
        options: {"1": outage, "2": bill}
        on_no_input: goodbye
      goodbye: {type: hangup, prompts: [goodbye]}

Node types: play, menu, collect, confirm, action, language, condition, transfer, hangup (see
``docs/menus.md`` and ``dialplans/menu.schema.json``). Errors name file, line and column (1-based)
and what to fix; :func:`load_menu` raises :class:`MenuError` carrying all of them, so a broken
file never replaces a running menu. Graph checks (unreachable nodes, loops with no exit, skills)
live in :mod:`ivr.validate`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

KINDS = ("play", "menu", "collect", "confirm", "action", "language", "condition", "transfer",
         "hangup")
KEYS = set("0123456789*#")
SPECIAL_TARGETS = ("repeat", "back")  # what a global key may do besides going to a node
SAY_KINDS = ("number", "money", "kwh", "date", "time", "duration", "digits")
VALIDATORS = ("digits", "customer_code", "request_number", "phone")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OUTCOMES = ("completed", "no_input", "invalid_input", "abandoned", "queued")


@dataclass(frozen=True)
class ActionSpec:
    args: frozenset[str]
    optional: frozenset[str]
    outcomes: frozenset[str]
    sets: frozenset[str]  # variables the action defines


ACTIONS: dict[str, ActionSpec] = {
    "identify_caller": ActionSpec(frozenset(), frozenset(),
                                  frozenset({"found", "many", "not_found", "invalid",
                                             "unavailable"}), frozenset({"customer",
                                                                         "customers"})),
    "find_customer": ActionSpec(frozenset({"code"}), frozenset(),
                                frozenset({"found", "not_found", "invalid", "unavailable"}),
                                frozenset({"customer"})),
    "bill_status": ActionSpec(frozenset(), frozenset(),
                              frozenset({"found", "no_bill", "no_customer", "unavailable"}),
                              frozenset({"bill"})),
    "planned_outages": ActionSpec(frozenset(), frozenset({"days"}),
                                  frozenset({"found", "none", "no_customer", "unavailable"}),
                                  frozenset({"outages", "outage_count"})),
    "create_request": ActionSpec(frozenset({"type"}), frozenset({"note"}),
                                 frozenset({"created", "unavailable"}), frozenset({"request"})),
    "request_status": ActionSpec(frozenset({"number"}), frozenset(),
                                 frozenset({"found", "not_found", "invalid", "unavailable"}),
                                 frozenset({"request"})),
}
#: Variables every call has from the start.
BUILT_IN_VARS = frozenset({"caller", "language"})

MAX_FILE_BYTES = 1_000_000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?")
_NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
_TIME_RANGE = re.compile(r"([01]\d|2[0-4]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class MenuError(Exception):
    code = "ivr.menu_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- prompt items ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Say:
    """Speak a value: ``{say: money, value: bill.unpaid_total}``."""
    kind: str
    var: str


@dataclass(frozen=True)
class Choose:
    """One prompt picked by a value: ``{choose: request.status, prompts: {open: ...}}``."""
    var: str
    prompts: tuple[tuple[str, str], ...]
    otherwise: str | None


@dataclass(frozen=True)
class Each:
    """Items spoken for each element of a list: ``{each: outages, max: 3, prompts: [...]}``."""
    var: str
    max: int
    items: tuple[Item, ...]


Item = Union[str, Say, Choose, Each]


# -- conditions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class When:
    holiday: bool | None = None
    days: frozenset[int] | None = None          # 0 = Monday
    time: tuple[int, int] | None = None         # minutes since midnight, [start, end)
    dates: frozenset[dt.date] | None = None
    var: str | None = None
    exists: bool | None = None
    gt: float | None = None
    eq: str | None = None


@dataclass(frozen=True)
class Branch:
    when: When
    goto: str


# -- nodes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    prompts: tuple[Item, ...] = ()
    next: str | None = None
    sets: dict[str, str] = field(default_factory=dict)  # variables set on entry ("+1" counts)
    options: dict[str, str] = field(default_factory=dict)
    timeout_ms: int = 5000
    retries: int = 2
    on_no_input: str | None = None
    on_invalid: str | None = None
    no_input_prompts: tuple[Item, ...] = ("no_input",)
    invalid_prompts: tuple[Item, ...] = ("invalid_choice",)
    global_keys: bool = True
    # collect
    min_digits: int = 1
    max_digits: int = 20
    terminator: str | None = "#"
    inter_digit_ms: int = 3000
    validate: str = "digits"
    store: str | None = None
    # action
    action: str | None = None
    args: dict[str, str] = field(default_factory=dict)  # name -> "$var" or a literal
    on: dict[str, str] = field(default_factory=dict)
    # language
    language: str | None = None
    # condition
    branches: tuple[Branch, ...] = ()
    otherwise: str | None = None
    # transfer
    queue: str = "operators"
    skills: tuple[str, ...] = ()
    priority: int = 0
    # hangup: the outcome recorded; unset, it is "completed" unless a menu ran out of retries
    outcome: str | None = None

    def targets(self) -> list[str]:
        """Every node this node can lead to."""
        found = [t for t in (self.next, self.on_no_input, self.on_invalid, self.otherwise) if t]
        found += list(self.options.values()) + list(self.on.values())
        found += [b.goto for b in self.branches]
        return found

    def waits_for_caller(self) -> bool:
        return self.kind in ("menu", "collect", "confirm")


@dataclass(frozen=True)
class Menu:
    hotline: str
    start: str
    nodes: dict[str, Node]
    source: str
    version: str
    languages: tuple[str, ...] = ("vi", "en")
    keys: dict[str, str] = field(default_factory=dict)
    holidays: dict[dt.date, str] = field(default_factory=dict)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def prompt_ids(self) -> set[str]:
        """Every catalogue prompt the menu may play."""
        ids: set[str] = set()

        def walk(items: tuple[Item, ...]) -> None:
            for item in items:
                if isinstance(item, str):
                    ids.add(item)
                elif isinstance(item, Choose):
                    ids.update(p for _, p in item.prompts)
                    if item.otherwise:
                        ids.add(item.otherwise)
                elif isinstance(item, Each):
                    walk(item.items)

        for node in self.nodes.values():
            walk(node.prompts)
            if node.waits_for_caller():
                walk(node.no_input_prompts)
                walk(node.invalid_prompts)
        return ids

    def say_kinds(self) -> set[str]:
        kinds: set[str] = set()

        def walk(items: tuple[Item, ...]) -> None:
            for item in items:
                if isinstance(item, Say):
                    kinds.add(item.kind)
                elif isinstance(item, Each):
                    walk(item.items)

        for node in self.nodes.values():
            walk(node.prompts)
        return kinds


def parse_duration_ms(value: Any) -> int | None:
    """``5s``, ``1500ms``, ``2m`` or a bare number of seconds; None if not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value * 1000) if math.isfinite(value) and 0 <= value < 1e9 else None
    match = _DURATION.fullmatch(str(value).strip())
    if not match:
        return None
    number = float(match.group(1))
    if not math.isfinite(number) or number >= 1e9:
        return None
    return int(number * {"ms": 1, "s": 1000, "m": 60000, None: 1000}[match.group(2)])


_COMMON = {"type", "prompts", "description", "keys", "set"}
_WAITING = {"timeout", "retries", "on_no_input", "on_invalid", "no_input_prompts",
            "invalid_prompts"}
_FIELDS: dict[str, set[str]] = {
    "play": {"next"},
    "menu": {"options"} | _WAITING,
    "collect": {"min_digits", "max_digits", "terminator", "inter_digit_timeout", "validate",
                "store", "next"} | _WAITING,
    "confirm": {"yes", "no"} | _WAITING,
    "action": {"action", "args", "on", "next"},
    "language": {"language", "next"},
    "condition": {"branches", "otherwise"},
    "transfer": {"queue", "skills", "priority", "language"},
    "hangup": {"outcome"},
}


class _Loader:
    def __init__(self, path: str, known_prompts: set[str] | None) -> None:
        self.path = path
        self.known_prompts = known_prompts
        self.problems: list[Problem] = []
        self.defaults: dict[str, Any] = {"timeout_ms": 5000, "retries": 2}
        self.languages: tuple[str, ...] = ("vi", "en")

    # -- locations --------------------------------------------------------------------------

    def problem(self, where: Any, message: str, key: Any = None) -> None:
        line, column = 0, 0
        if isinstance(where, (CommentedMap, CommentedSeq)):
            line, column = where.lc.line, where.lc.col
            if key is not None:
                try:
                    if isinstance(where, CommentedMap):
                        line, column = where.lc.value(key) if key in where else where.lc.key(key)
                    else:
                        line, column = where.lc.item(key)
                except (KeyError, TypeError, IndexError):
                    pass
        elif isinstance(where, tuple):
            line, column = where
        self.problems.append(Problem(self.path, line + 1, column + 1, message))

    def key_position(self, mapping: CommentedMap, key: Any) -> tuple[int, int]:
        try:
            return tuple(mapping.lc.key(key))  # type: ignore[return-value]
        except (KeyError, TypeError):
            return (mapping.lc.line, mapping.lc.col)

    # -- the document -------------------------------------------------------------------------

    def load(self, document: Any) -> Menu | None:
        if not isinstance(document, CommentedMap):
            self.problem((0, 0), "a menu file must be a mapping with 'hotline', 'start' and "
                                 "'nodes'")
            return None
        allowed = {"hotline", "start", "nodes", "description", "languages", "timeout",
                   "retries", "keys", "holidays"}
        for key in document:
            if key not in allowed:
                self.problem(self.key_position(document, key), f"unknown top-level key {key!r}")
        hotline = str(document.get("hotline", ""))
        if not hotline:
            self.problem(document, "missing 'hotline' (the number this menu answers)")
        self.top_level(document)
        raw_nodes = document.get("nodes")
        if not isinstance(raw_nodes, CommentedMap) or not raw_nodes:
            self.problem(document, "missing 'nodes': a mapping of node id to node", "nodes")
            return None
        nodes: dict[str, Node] = {}
        positions: dict[str, tuple[int, int]] = {}
        for node_id, raw in raw_nodes.items():
            if not isinstance(node_id, str):
                self.problem(self.key_position(raw_nodes, node_id),
                             f"bad node id {node_id!r}: node ids are names such as 'main_menu'")
                continue
            node = self.node(raw_nodes, node_id, raw)
            if node is not None:
                nodes[node.id] = node
                line, column = self.key_position(raw_nodes, node_id)
                positions[node_id] = (line + 1, column + 1)
        start = document.get("start")
        if not isinstance(start, str) or start not in raw_nodes:
            self.problem(document, f"'start' must name a node, got {start!r}", "start")
        keys = self.global_keys(document, raw_nodes)
        self.references(raw_nodes, nodes)
        if self.problems:
            return None
        return Menu(hotline=hotline, start=str(start), nodes=nodes, source=self.path,
                    version="", languages=self.languages, keys=keys,
                    holidays=self.holidays(document), positions=positions)

    def top_level(self, document: CommentedMap) -> None:
        languages = document.get("languages", ["vi", "en"])
        from .speech import LANGUAGES as SPOKEN

        if (not isinstance(languages, list) or not languages
                or not all(isinstance(x, str) and x in SPOKEN for x in languages)):
            self.problem(document, "'languages' is a list of the languages prompts exist in: "
                         f"{', '.join(SPOKEN)}", "languages")
        else:
            self.languages = tuple(languages)
        if "timeout" in document:
            timeout = self.duration(document, "timeout", 500, 60000, "top level")
            if timeout is not None:
                self.defaults["timeout_ms"] = timeout
        if "retries" in document:
            retries = self.count(document, "retries", 0, 9, "top level")
            if retries is not None:
                self.defaults["retries"] = retries

    def global_keys(self, document: CommentedMap, raw_nodes: CommentedMap) -> dict[str, str]:
        raw = document.get("keys", CommentedMap())
        if not isinstance(raw, CommentedMap):
            self.problem(document, "'keys' maps a key to a node, 'repeat' or 'back'", "keys")
            return {}
        keys: dict[str, str] = {}
        for key, target in raw.items():
            key_text = str(key)
            if key_text not in KEYS:
                self.problem(self.key_position(raw, key),
                             f"global key {key_text!r} is not one of 0-9 * #")
                continue
            if not isinstance(target, str) or (target not in SPECIAL_TARGETS
                                               and target not in raw_nodes):
                self.problem(raw, f"global key {key_text!r}: unknown node {target!r} (a node, "
                             "'repeat' or 'back')", key)
                continue
            keys[key_text] = target
        return keys

    def holidays(self, document: CommentedMap) -> dict[dt.date, str]:
        raw = document.get("holidays", CommentedMap())
        if not isinstance(raw, CommentedMap):
            self.problem(document, "'holidays' maps dates (YYYY-MM-DD) to names", "holidays")
            return {}
        days: dict[dt.date, str] = {}
        for key, name in raw.items():
            day = _date(key)
            if day is None:
                self.problem(self.key_position(raw, key),
                             f"holiday {key!r} is not a date (write YYYY-MM-DD)")
                continue
            days[day] = str(name)
        return days

    # -- nodes ----------------------------------------------------------------------------------

    def node(self, parent: CommentedMap, node_id: str, raw: Any) -> Node | None:
        if not _NODE_ID.fullmatch(node_id):
            self.problem(self.key_position(parent, node_id), f"bad node id {node_id!r}")
        if node_id in SPECIAL_TARGETS:
            self.problem(self.key_position(parent, node_id),
                         f"{node_id!r} is reserved for the global keys; name the node otherwise")
        if not isinstance(raw, CommentedMap):
            self.problem(parent, f"node {node_id!r} must be a mapping", node_id)
            return None
        kind = raw.get("type")
        if kind not in KINDS:
            self.problem(raw, f"node {node_id!r}: 'type' must be one of {', '.join(KINDS)}, "
                         f"got {kind!r}", "type" if "type" in raw else None)
            return None
        for key in raw:
            if key not in _COMMON | _FIELDS[kind]:
                self.problem(self.key_position(raw, key),
                             f"node {node_id!r}: {key!r} is not a field of a {kind} node")
        values: dict[str, Any] = {"id": node_id, "kind": kind,
                                  "timeout_ms": self.defaults["timeout_ms"],
                                  "retries": self.defaults["retries"]}
        label = f"node {node_id!r}"
        values["prompts"] = self.items(raw, "prompts", label)
        if "keys" in raw:
            if _bool(raw["keys"]) is None:
                self.problem(raw, f"{label}: 'keys' is yes or no (do the global keys work "
                             "here?)", "keys")
            else:
                values["global_keys"] = _bool(raw["keys"])
        if "set" in raw:
            values["sets"] = self.sets(raw, label)
        if kind in ("menu", "collect", "confirm"):
            self.waiting(raw, label, values)
        getattr(self, f"kind_{kind}")(raw, label, values)
        return Node(**values)

    def sets(self, raw: CommentedMap, label: str) -> dict[str, str]:
        mapping = raw["set"]
        if not isinstance(mapping, CommentedMap):
            self.problem(raw, f"{label}: 'set' maps variable names to values ('+1' counts up)",
                         "set")
            return {}
        result = {}
        for name, value in mapping.items():
            if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", name) \
                    or name in BUILT_IN_VARS:
                self.problem(self.key_position(mapping, name),
                             f"{label}: cannot set {name!r} (a variable name such as tries)")
            elif isinstance(value, bool) or not isinstance(value, (str, int)):
                self.problem(mapping, f"{label}: {name!r} is set to text, a number or '+1'",
                             name)
            else:
                result[name] = str(value)
        return result

    def waiting(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        if "timeout" in raw:
            timeout = self.duration(raw, "timeout", 500, 60000, label)
            if timeout is not None:
                values["timeout_ms"] = timeout
        if "retries" in raw:
            retries = self.count(raw, "retries", 0, 9, label)
            if retries is not None:
                values["retries"] = retries
        for name in ("on_no_input", "on_invalid"):
            values[name] = self.text(raw, label, name, required=False)
        for name in ("no_input_prompts", "invalid_prompts"):
            if name in raw:
                values[name] = self.items(raw, name, label)

    def kind_play(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        values["next"] = self.text(raw, label, "next", required=True)

    def kind_menu(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        options = raw.get("options")
        if not isinstance(options, CommentedMap) or not options:
            self.problem(raw, f"{label}: a menu needs 'options' (key: node)",
                         "options" if "options" in raw else None)
            options = CommentedMap()
        values["options"] = {}
        for key, target in options.items():
            key_text = str(key)
            if key_text not in KEYS:
                self.problem(self.key_position(options, key),
                             f"{label}: option key {key_text!r} is not one of 0-9 * #")
            elif key_text in values["options"]:
                self.problem(self.key_position(options, key),
                             f"{label}: key {key_text!r} is used twice")
            if target is None or not isinstance(target, str):
                self.problem(options, f"{label}: option {key_text!r} needs the name of the "
                             "node it leads to", key)
                continue
            values["options"][key_text] = target

    def kind_confirm(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        yes = self.text(raw, label, "yes", required=True)
        no = self.text(raw, label, "no", required=True)
        values["options"] = {k: v for k, v in (("1", yes), ("2", no)) if v}

    def kind_collect(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        values["next"] = self.text(raw, label, "next", required=True)
        for name in ("min_digits", "max_digits"):
            if name in raw:
                number = self.count(raw, name, 1, 30, label)
                if number is not None:
                    values[name] = number
        if values.get("min_digits", 1) > values.get("max_digits", 20):
            self.problem(raw, f"{label}: min_digits is larger than max_digits", "min_digits")
        if "terminator" in raw:
            terminator = raw["terminator"]
            if terminator is not None and str(terminator) not in ("#", "*"):
                self.problem(raw, f"{label}: terminator is '#', '*' or null", "terminator")
            else:
                values["terminator"] = None if terminator is None else str(terminator)
        if "inter_digit_timeout" in raw:
            gap = self.duration(raw, "inter_digit_timeout", 500, 30000, label)
            if gap is not None:
                values["inter_digit_ms"] = gap
        if "validate" in raw:
            if raw["validate"] not in VALIDATORS:
                self.problem(raw, f"{label}: validate is one of {', '.join(VALIDATORS)}",
                             "validate")
            else:
                values["validate"] = raw["validate"]
        store = self.text(raw, label, "store", required=True)
        if store is not None and not re.fullmatch(r"[a-z_][a-z0-9_]*", store):
            self.problem(raw, f"{label}: 'store' is a variable name such as customer_code",
                         "store")
        values["store"] = store

    def kind_action(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        action = raw.get("action")
        spec = ACTIONS.get(action) if isinstance(action, str) else None
        if spec is None:
            self.problem(raw, f"{label}: unknown action {action!r} (one of "
                         f"{', '.join(ACTIONS)})", "action" if "action" in raw else None)
            return
        values["action"] = action
        args = raw.get("args", CommentedMap())
        if not isinstance(args, CommentedMap):
            self.problem(raw, f"{label}: 'args' is a mapping", "args")
            args = CommentedMap()
        values["args"] = {}
        for name, value in args.items():
            if name not in spec.args | spec.optional:
                self.problem(self.key_position(args, name),
                             f"{label}: action {action} takes no argument {name!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                self.problem(args, f"{label}: argument {name!r} is text, a number or $variable",
                             name)
                continue
            text = str(value)
            if text.startswith("$") and not _VAR_PATH.fullmatch(text[1:]):
                self.problem(args, f"{label}: bad variable {text!r}", name)
            values["args"][str(name)] = text
        for name in spec.args - set(values["args"]):
            self.problem(raw, f"{label}: action {action} needs argument {name!r}",
                         "args" if "args" in raw else "action")
        on = raw.get("on", CommentedMap())
        if not isinstance(on, CommentedMap):
            self.problem(raw, f"{label}: 'on' maps outcomes to nodes", "on")
            on = CommentedMap()
        values["on"] = {}
        for outcome, target in on.items():
            if outcome not in spec.outcomes:
                self.problem(self.key_position(on, outcome),
                             f"{label}: action {action} has no outcome {outcome!r} (it has "
                             f"{', '.join(sorted(spec.outcomes))})")
                continue
            if not isinstance(target, str):
                self.problem(on, f"{label}: outcome {outcome!r} needs a node name", outcome)
                continue
            values["on"][str(outcome)] = target
        values["next"] = self.text(raw, label, "next", required=False)
        missing = spec.outcomes - set(values["on"])
        if missing and values["next"] is None:
            self.problem(raw, f"{label}: outcomes {', '.join(sorted(missing))} lead nowhere: "
                         "add them under 'on' or give a 'next'", "action")

    def kind_language(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        language = raw.get("language")
        if language not in self.languages:
            self.problem(raw, f"{label}: language is one of {', '.join(self.languages)}",
                         "language" if "language" in raw else None)
        values["language"] = language
        values["next"] = self.text(raw, label, "next", required=True)

    def kind_condition(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        branches = raw.get("branches", CommentedSeq())
        if not isinstance(branches, CommentedSeq):
            self.problem(raw, f"{label}: 'branches' is a list of {{when: ..., goto: node}}",
                         "branches")
            branches = CommentedSeq()
        result = []
        for index, branch in enumerate(branches):
            if not isinstance(branch, CommentedMap) or set(branch) != {"when", "goto"}:
                self.problem(branches, f"{label}: branch {index + 1} needs exactly 'when' and "
                             "'goto'", index)
                continue
            when = self.when(branch["when"], branch, label)
            goto = branch["goto"]
            if not isinstance(goto, str):
                self.problem(branch, f"{label}: 'goto' needs a node name", "goto")
                continue
            if when is not None:
                result.append(Branch(when, goto))
        values["branches"] = tuple(result)
        values["otherwise"] = self.text(raw, label, "otherwise", required=True)

    def when(self, raw: Any, parent: CommentedMap, label: str) -> When | None:
        if not isinstance(raw, CommentedMap) or not raw:
            self.problem(parent, f"{label}: 'when' is a mapping of conditions", "when")
            return None
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "holiday" and _bool(value) is not None:
                values["holiday"] = _bool(value)
            elif key == "days" and isinstance(value, list) and value and all(
                    str(d).lower()[:3] in DAYS for d in value):
                values["days"] = frozenset(DAYS.index(str(d).lower()[:3]) for d in value)
            elif key == "time" and isinstance(value, str) and _TIME_RANGE.fullmatch(value):
                m = _TIME_RANGE.fullmatch(value)
                assert m is not None
                start = int(m.group(1)) * 60 + int(m.group(2))
                end = int(m.group(3)) * 60 + int(m.group(4))
                if start > 1440 or end > 1440:
                    self.problem(raw, f"{label}: time {value!r} is past 24:00", key)
                else:
                    values["time"] = (start, end)
            elif key == "dates" and isinstance(value, list) and all(_date(d) for d in value):
                values["dates"] = frozenset(_date(d) for d in value)  # type: ignore[misc]
            elif key == "var" and isinstance(value, str) and _VAR_PATH.fullmatch(value):
                values["var"] = value
            elif key == "exists" and _bool(value) is not None:
                values["exists"] = _bool(value)
            elif key == "gt" and isinstance(value, (int, float)) and not isinstance(value, bool):
                values["gt"] = float(value)
            elif key == "eq" and isinstance(value, (str, int)) and not isinstance(value, bool):
                values["eq"] = str(value)
            else:
                self.problem(raw, f"{label}: bad condition {key}: {value!r} (holiday: yes/no, "
                             "days: [mon, ...], time: 'HH:MM-HH:MM', dates: [YYYY-MM-DD], "
                             "var: name with exists/gt/eq)", key)
        if ("exists" in values or "gt" in values or "eq" in values) and "var" not in values:
            self.problem(raw, f"{label}: exists/gt/eq need 'var'", None)
        return When(**values)

    def kind_transfer(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        if "queue" in raw:
            values["queue"] = self.text(raw, label, "queue", required=True) or "operators"
        skills = raw.get("skills", [])
        if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
            self.problem(raw, f"{label}: 'skills' is a list of skill names", "skills")
        else:
            values["skills"] = tuple(skills)
        if "priority" in raw:
            priority = self.count(raw, "priority", 0, 10, label)
            if priority is not None:
                values["priority"] = priority
        if "language" in raw:
            if raw["language"] not in self.languages:
                self.problem(raw, f"{label}: language is one of {', '.join(self.languages)}",
                             "language")
            else:
                values["language"] = raw["language"]

    def kind_hangup(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        if "outcome" in raw:
            if raw["outcome"] not in OUTCOMES:
                self.problem(raw, f"{label}: outcome is one of {', '.join(OUTCOMES)}",
                             "outcome")
            else:
                values["outcome"] = raw["outcome"]

    # -- values ---------------------------------------------------------------------------------

    def text(self, raw: CommentedMap, label: str, name: str, *, required: bool) -> str | None:
        value = raw.get(name)
        if value is None:
            if required:
                self.problem(raw, f"{label}: missing {name!r}")
            return None
        if not isinstance(value, str):
            self.problem(raw, f"{label}: {name!r} must be text", name)
            return None
        return value

    def duration(self, raw: CommentedMap, name: str, low: int, high: int, label: str
                 ) -> int | None:
        value = parse_duration_ms(raw[name])
        if value is None or not low <= value <= high:
            self.problem(raw, f"{label}: bad duration {raw[name]!r} for {name!r} (write e.g. "
                         f"5s or 1500ms, between {low / 1000:g}s and {high / 1000:g}s)", name)
            return None
        return value

    def count(self, raw: CommentedMap, name: str, low: int, high: int, label: str) -> int | None:
        value = raw[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problem(raw, f"{label}: {name!r} must be a whole number {low}-{high}", name)
            return None
        return value

    def items(self, raw: CommentedMap, name: str, label: str) -> tuple[Item, ...]:
        value = raw.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(raw, f"{label}: {name!r} must be a list of prompt ids", name)
            return ()
        result: list[Item] = []
        for index, item in enumerate(value):
            where = value if isinstance(value, CommentedSeq) else raw
            key = index if isinstance(value, CommentedSeq) else name
            parsed = self.item(item, where, key, label)
            if parsed is not None:
                result.append(parsed)
        return tuple(result)

    def prompt_id(self, prompt: Any, where: Any, key: Any, label: str) -> str | None:
        if not isinstance(prompt, str):
            self.problem(where, f"{label}: prompt ids are text", key)
            return None
        if self.known_prompts is not None and prompt not in self.known_prompts:
            self.problem(where, f"{label}: missing prompt {prompt!r} (add it to "
                         "prompts/catalogue.yaml or record it)", key)
        return prompt

    def item(self, item: Any, where: Any, key: Any, label: str) -> Item | None:
        if not isinstance(item, CommentedMap):
            return self.prompt_id(item, where, key, label)
        if "say" in item:
            if set(item) != {"say", "value"}:
                self.problem(item, f"{label}: a spoken value is {{say: KIND, value: "
                             "variable}")
                return None
            if item["say"] not in SAY_KINDS:
                self.problem(item, f"{label}: say is one of {', '.join(SAY_KINDS)}", "say")
                return None
            if not isinstance(item["value"], str) or not _VAR_PATH.fullmatch(item["value"]):
                self.problem(item, f"{label}: value is a variable such as bill.unpaid_total",
                             "value")
                return None
            return Say(item["say"], item["value"])
        if "choose" in item:
            prompts = item.get("prompts")
            if (set(item) - {"choose", "prompts", "otherwise"} or not isinstance(prompts,
                                                                                  CommentedMap)
                    or not isinstance(item["choose"], str)):
                self.problem(item, f"{label}: a choice is {{choose: variable, prompts: "
                             "{value: prompt}, otherwise: prompt}")
                return None
            pairs = []
            for value, prompt in prompts.items():
                checked = self.prompt_id(prompt, prompts, value, label)
                if checked:
                    pairs.append((str(value), checked))
            otherwise = None
            if "otherwise" in item:
                otherwise = self.prompt_id(item["otherwise"], item, "otherwise", label)
            return Choose(item["choose"], tuple(pairs), otherwise)
        if "each" in item:
            if set(item) - {"each", "max", "prompts"} or not isinstance(item["each"], str):
                self.problem(item, f"{label}: a list is {{each: variable, max: N, prompts: "
                             "[...]}")
                return None
            limit = item.get("max", 3)
            if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 20:
                self.problem(item, f"{label}: max is a whole number 1-20", "max")
                limit = 3
            return Each(item["each"], limit, self.items(item, "prompts", label))
        self.problem(item, f"{label}: a prompt is an id, {{say: ...}}, {{choose: ...}} or "
                     "{each: ...}")
        return None

    def references(self, raw_nodes: CommentedMap, nodes: dict[str, Node]) -> None:
        for node in nodes.values():
            raw = raw_nodes[node.id]
            refs: list[tuple[Any, Any, str | None]] = [
                (raw, name, raw.get(name)) for name in
                ("next", "on_no_input", "on_invalid", "otherwise", "yes", "no")
                if isinstance(raw.get(name), str)]
            for container in ("options", "on"):
                mapping = raw.get(container)
                if isinstance(mapping, CommentedMap):
                    refs += [(mapping, key, str(target)) for key, target in mapping.items()
                             if isinstance(target, str)]
            branches = raw.get("branches")
            if isinstance(branches, CommentedSeq):
                refs += [(b, "goto", b.get("goto")) for b in branches
                         if isinstance(b, CommentedMap) and isinstance(b.get("goto"), str)]
            for where, key, target in refs:
                if target is not None and target not in raw_nodes:
                    self.problem(where, f"node {node.id!r}: unknown node {target!r}", key)


_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}


def _bool(value: Any) -> bool | None:
    """YAML 1.2 reads yes/no as text; admins write them anyway."""
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(str(value).lower()) if isinstance(value, str) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _yaml() -> YAML:
    """Round-trip YAML (line and column of everything) with dates kept as text, so that an
    impossible date is reported by our checks at its place, not as a parser crash."""
    yaml = YAML(typ="rt")
    yaml.constructor.add_constructor(
        "tag:yaml.org,2002:timestamp",
        lambda constructor, node: constructor.construct_scalar(node))
    return yaml


def load_menu(path: Path, known_prompts: set[str] | None = None) -> Menu:
    """Read and validate one menu file; raise MenuError listing every problem found."""
    from .validate import check_graph

    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MenuError([Problem(name, 1, 1, f"cannot read the file: {exc.strerror}")]) from exc
    if len(data) > MAX_FILE_BYTES:
        raise MenuError([Problem(name, 1, 1, f"file is {len(data)} bytes; a menu may be at most "
                                             f"{MAX_FILE_BYTES}")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise MenuError([Problem(name, line, column, "not UTF-8 text: save the file as UTF-8")])
    try:
        document = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise MenuError([Problem(name, line, column,
                                 f"YAML syntax: {exc.problem or exc.context}")]) from None
    except Exception as exc:  # other ruamel errors (e.g. duplicate keys) carry no single type
        raise MenuError([Problem(name, 1, 1, f"YAML: {exc}")]) from None
    loader = _Loader(name, known_prompts)
    menu = loader.load(document)
    problems = loader.problems
    if menu is not None:
        problems = problems + check_graph(menu, known_prompts)
    if problems or menu is None:
        raise MenuError(sorted(problems, key=lambda p: (p.line, p.column)))
    version = hashlib.sha256(data).hexdigest()[:12]
    return Menu(menu.hotline, menu.start, menu.nodes, name, version, menu.languages, menu.keys,
                menu.holidays, menu.positions)
