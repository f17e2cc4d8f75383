"""Prompt items: what a node plays, as admins write it in its prompt lists.

    prompts:
      - bill_latest_is                              # a prompt id from prompts/catalogue.yaml
      - {say: money, value: bill.amount}            # a value, spoken in the call's language
      - {choose: bill.status, prompts: {paid: bill_paid}, otherwise: bill_unknown}
      - {each: outages, max: 3, prompts: [outage_on, {say: date, value: item.date}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .menu_reader import VAR_PATH, Reader

SAY_KINDS = ("number", "money", "kwh", "date", "time", "duration", "digits")


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


Item = str | Say | Choose | Each


class ItemReader(Reader):
    """Reads prompt lists, checking prompt ids against the catalogue when one is given."""

    def __init__(self, path: str, known_prompts: set[str] | None) -> None:
        super().__init__(path)
        self.known_prompts = known_prompts

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
            if not isinstance(item["value"], str) or not VAR_PATH.fullmatch(item["value"]):
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
