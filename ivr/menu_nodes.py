"""Node kinds: the frozen :class:`Node` the stepper runs, and how each kind is read.

play, menu, collect, confirm, action, language, condition, transfer, hangup (see
``docs/menus.md``). Prompt lists are read by :mod:`ivr.menu_items` and the ``when`` of branches
by :mod:`ivr.menu_conditions`; the document around the nodes by :mod:`ivr.menu`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from speech.grammar import DIGIT_WORDS, Grammar, normalise

from .menu_conditions import Branch, ConditionReader, When
from .menu_items import Item, ItemReader
from .menu_reader import VAR_PATH, parse_bool

KINDS = ("play", "menu", "collect", "confirm", "action", "language", "condition", "transfer",
         "hangup")
KEYS = set("0123456789*#")
SPECIAL_TARGETS = ("repeat", "back")  # what a global key may do besides going to a node
VALIDATORS = ("digits", "customer_code", "request_number", "phone")
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
    "tariff": ActionSpec(frozenset(), frozenset({"name"}),
                         frozenset({"found", "none", "unavailable"}), frozenset({"tariff"})),
}
#: Variables every call has from the start (``features``: each of the menu's switches, "on" or
#: "off").
BUILT_IN_VARS = frozenset({"caller", "language", "features"})

_NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    prompts: tuple[Item, ...] = ()
    next: str | None = None
    sets: dict[str, str] = field(default_factory=dict)  # variables set on entry ("+1" counts)
    options: dict[str, str] = field(default_factory=dict)
    option_when: dict[str, When] = field(default_factory=dict)  # options offered only then
    timeout_ms: int = 5000
    retries: int = 2
    on_no_input: str | None = None
    on_invalid: str | None = None
    no_input_prompts: tuple[Item, ...] = ("no_input",)
    invalid_prompts: tuple[Item, ...] = ("invalid_choice",)
    global_keys: bool = True
    # speech (menu, confirm, collect): language -> result -> phrases; a result is an option's
    # key (a confirm's yes is "1", no "2"); a collect's languages map to {} (digit words)
    speech: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
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

    def grammar(self, language: str) -> Grammar | None:
        """What a caller speaking ``language`` may say here; None: keys only."""
        answers = self.speech.get(language)
        if answers is None:
            return None
        if self.kind == "collect":
            return Grammar.of_digits(language)
        return Grammar.of_phrases(answers)


_COMMON = {"type", "prompts", "description", "keys", "set"}
_WAITING = {"timeout", "retries", "on_no_input", "on_invalid", "no_input_prompts",
            "invalid_prompts"}
_FIELDS: dict[str, set[str]] = {
    "play": {"next"},
    "menu": {"options", "speech"} | _WAITING,
    "collect": {"min_digits", "max_digits", "terminator", "inter_digit_timeout", "validate",
                "store", "next", "speech"} | _WAITING,
    "confirm": {"yes", "no", "speech"} | _WAITING,
    "action": {"action", "args", "on", "next"},
    "language": {"language", "next"},
    "condition": {"branches", "otherwise"},
    "transfer": {"queue", "skills", "priority", "language"},
    "hangup": {"outcome"},
}


class NodeReader(ItemReader, ConditionReader):
    """Reads the nodes; the document's top level sets ``defaults`` and ``languages`` first."""

    def __init__(self, path: str, known_prompts: set[str] | None) -> None:
        super().__init__(path, known_prompts)
        self.defaults: dict[str, Any] = {"timeout_ms": 5000, "retries": 2}
        self.languages: tuple[str, ...] = ("vi", "en")

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
            if parse_bool(raw["keys"]) is None:
                self.problem(raw, f"{label}: 'keys' is yes or no (do the global keys work "
                             "here?)", "keys")
            else:
                values["global_keys"] = parse_bool(raw["keys"])
        if "set" in raw:
            values["sets"] = self.sets(raw, label)
        if kind in ("menu", "collect", "confirm"):
            self.waiting(raw, label, values)
        getattr(self, f"kind_{kind}")(raw, label, values)
        if "speech" in raw and kind in ("menu", "confirm", "collect"):
            values["speech"] = self.speech(raw, label, kind, values)
        return Node(**values)

    def speech(self, raw: CommentedMap, label: str, kind: str, values: dict[str, Any]
               ) -> dict[str, dict[str, tuple[str, ...]]]:
        """``speech:`` of a menu (language: option key: phrases), a confirm (language: yes/no:
        phrases) or a collect (yes, or the languages whose digit words are heard). Every
        option needs a phrase in each language given, and no phrase may serve two options."""
        spec = raw["speech"]
        if kind == "collect":
            languages = list(self.languages) if parse_bool(spec) is True else spec
            if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
                self.problem(raw, f"{label}: a collect's 'speech' is yes or a list of the "
                             "languages whose digits callers may say one by one ([vi, en])",
                             "speech")
                return {}
            heard: dict[str, dict[str, tuple[str, ...]]] = {}
            for index, language in enumerate(languages):
                if language not in self.languages:
                    self.problem(spec if isinstance(spec, CommentedSeq) else raw,
                                 f"{label}: speech language {language!r} is not one of the "
                                 f"menu's languages ({', '.join(self.languages)})",
                                 index if isinstance(spec, CommentedSeq) else "speech")
                elif language not in DIGIT_WORDS:
                    self.problem(raw, f"{label}: no digit words for {language!r}", "speech")
                else:
                    heard[language] = {}
            return heard
        answers_of = ("yes and no" if kind == "confirm" else "option keys")
        if not isinstance(spec, CommentedMap):
            self.problem(raw, f"{label}: 'speech' maps each language to its {answers_of}, each "
                         "to a list of phrases", "speech")
            return {}
        wanted = {"yes": "1", "no": "2"} if kind == "confirm" else {
            key: key for key in values.get("options", {})}
        result: dict[str, dict[str, tuple[str, ...]]] = {}
        for language, answers in spec.items():
            where = f"{label}: speech {language}"
            if language not in self.languages:
                self.problem(self.key_position(spec, language),
                             f"{label}: speech language {language!r} is not one of the menu's "
                             f"languages ({', '.join(self.languages)})")
                continue
            if not isinstance(answers, CommentedMap):
                self.problem(spec, f"{where}: map its {answers_of} to lists of phrases",
                             language)
                continue
            owner: dict[str, str] = {}  # normalised phrase -> the answer it belongs to
            phrases: dict[str, tuple[str, ...]] = {}
            for answer, given in answers.items():
                name = str(answer)
                if name not in wanted:
                    self.problem(self.key_position(answers, answer),
                                 f"{where}: {name!r} is not one of this node's "
                                 f"{answers_of} ({', '.join(wanted) or 'none'})")
                    continue
                texts = [given] if isinstance(given, str) else given
                if not isinstance(texts, list) or not texts or not all(
                        isinstance(t, str) for t in texts):
                    self.problem(answers, f"{where}: {name!r} needs a list of phrases", answer)
                    continue
                kept = []
                for index, text in enumerate(texts):
                    at: tuple[Any, Any] = ((texts, index) if isinstance(texts, CommentedSeq)
                                           else (answers, answer))
                    phrase = normalise(text)
                    if not phrase:
                        self.problem(at[0], f"{where}: an empty phrase for {name!r}", at[1])
                    elif owner.get(phrase, name) != name:
                        self.problem(at[0], f"{where}: the phrase {text!r} is given for both "
                                     f"{owner[phrase]!r} and {name!r}", at[1])
                    else:
                        owner[phrase] = name
                        kept.append(phrase)
                phrases[wanted[name]] = tuple(dict.fromkeys(kept))
            for name, key in wanted.items():
                if not phrases.get(key) and name in {str(a) for a in answers}:
                    continue  # its own problem was reported above
                if not phrases.get(key):
                    self.problem(self.key_position(spec, language),
                                 f"{where}: no phrase for {name!r}: a caller who speaks "
                                 "cannot reach it")
            result[language] = phrases
        return result

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
        values["option_when"] = {}
        for key, target in options.items():
            key_text = str(key)
            if key_text not in KEYS:
                self.problem(self.key_position(options, key),
                             f"{label}: option key {key_text!r} is not one of 0-9 * #")
            elif key_text in values["options"]:
                self.problem(self.key_position(options, key),
                             f"{label}: key {key_text!r} is used twice")
            if isinstance(target, CommentedMap):  # {goto: node, when: {...}}
                if set(target) != {"goto", "when"} or not isinstance(target["goto"], str):
                    self.problem(options, f"{label}: option {key_text!r} is a node, or "
                                 "{goto: node, when: {...}} for an option offered only when "
                                 "the condition holds", key)
                    continue
                when = self.when(target["when"], target, label)
                if when is not None:
                    values["option_when"][key_text] = when
                target = target["goto"]
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
            chosen = self.choice(raw, "validate", VALIDATORS, label)
            if chosen is not None:
                values["validate"] = chosen
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
            if text.startswith("$") and not VAR_PATH.fullmatch(text[1:]):
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
            chosen = self.choice(raw, "language", self.languages, label)
            if chosen is not None:
                values["language"] = chosen

    def kind_hangup(self, raw: CommentedMap, label: str, values: dict[str, Any]) -> None:
        if "outcome" in raw:
            chosen = self.choice(raw, "outcome", OUTCOMES, label)
            if chosen is not None:
                values["outcome"] = chosen
