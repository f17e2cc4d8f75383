"""The loaded menu: its nodes by id, where a call starts, the keys that work everywhere, its
languages and holidays, and where each node sits in the file.

:mod:`ivr.menu` builds it from the file and :mod:`ivr.validate` checks it as a whole; both import
it from here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .menu_items import Choose, Each, Item, Say
from .menu_nodes import Node
from .menu_reader import Problem


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
    # what the checks found that does not stop the menu (ivr.validate.unused_skills)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    # lines an admin switches on or off (``features:``); calls see them as features.<name>
    features: dict[str, bool] = field(default_factory=dict)

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
            if node.speech:
                ids.add("speech_again")  # asked once when speech was not understood
        return ids

    def speech_languages(self) -> set[str]:
        """Languages some node listens in (their speech models are loaded)."""
        return {language for node in self.nodes.values() for language in node.speech}

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
