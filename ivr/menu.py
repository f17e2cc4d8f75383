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

This module reads the document (the file, its top-level sections, the links between nodes) and
re-exports the parts, which live in their own modules: :mod:`ivr.menu_model` (the loaded menu),
:mod:`ivr.menu_reader` (problems at their places, scalars), :mod:`ivr.menu_items` (prompt items),
:mod:`ivr.menu_conditions` (conditions) and :mod:`ivr.menu_nodes` (node kinds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from speech.values import LANGUAGES as SPOKEN

from .menu_conditions import DAYS, Branch, When
from .menu_items import SAY_KINDS, Choose, Each, Item, Say
from .menu_model import Menu
from .menu_nodes import (
    ACTIONS,
    BUILT_IN_VARS,
    KEYS,
    KINDS,
    OUTCOMES,
    SPECIAL_TARGETS,
    VALIDATORS,
    ActionSpec,
    Node,
    NodeReader,
)
from .menu_reader import MenuError, Problem, parse_bool, parse_date, parse_duration_ms
from .validate import check_graph

__all__ = [
    "ACTIONS",
    "BUILT_IN_VARS",
    "DAYS",
    "KEYS",
    "KINDS",
    "MAX_FILE_BYTES",
    "OUTCOMES",
    "SAY_KINDS",
    "SPECIAL_TARGETS",
    "VALIDATORS",
    "ActionSpec",
    "Branch",
    "Choose",
    "Each",
    "Item",
    "Menu",
    "MenuError",
    "Node",
    "Problem",
    "Say",
    "When",
    "load_menu",
    "parse_duration_ms",
]

MAX_FILE_BYTES = 1_000_000


class _Loader(NodeReader):
    """Reads the document: its top-level sections around the nodes, and the links between them."""

    # -- the document -------------------------------------------------------------------------

    def load(self, document: Any) -> Menu | None:
        if not isinstance(document, CommentedMap):
            self.problem((0, 0), "a menu file must be a mapping with 'hotline', 'start' and "
                                 "'nodes'")
            return None
        allowed = {"hotline", "start", "nodes", "description", "languages", "timeout",
                   "retries", "keys", "holidays", "features"}
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
                    holidays=self.holidays(document), positions=positions,
                    features=self.features(document))

    def top_level(self, document: CommentedMap) -> None:
        languages = document.get("languages", ["vi", "en"])
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

    def features(self, document: CommentedMap) -> dict[str, bool]:
        """Lines an admin switches on or off: ``features: {products: no}``."""
        raw = document.get("features", CommentedMap())
        if not isinstance(raw, CommentedMap):
            self.problem(document, "'features' maps a feature name to yes or no", "features")
            return {}
        switches: dict[str, bool] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                self.problem(self.key_position(raw, name),
                             f"bad feature name {name!r} (a name such as products)")
            elif parse_bool(value) is None:
                self.problem(raw, f"feature {name!r} is yes or no", name)
                switches[name] = False  # known all the same: its uses are not mistakes too
            else:
                switches[name] = bool(parse_bool(value))
        return switches

    def holidays(self, document: CommentedMap) -> dict[dt.date, str]:
        raw = document.get("holidays", CommentedMap())
        if not isinstance(raw, CommentedMap):
            self.problem(document, "'holidays' maps dates (YYYY-MM-DD) to names", "holidays")
            return {}
        days: dict[dt.date, str] = {}
        for key, name in raw.items():
            day = parse_date(key)
            if day is None:
                self.problem(self.key_position(raw, key),
                             f"holiday {key!r} is not a date (write YYYY-MM-DD)")
                continue
            days[day] = str(name)
        return days

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
                    refs += [(target, "goto", target["goto"]) for target in mapping.values()
                             if isinstance(target, CommentedMap)
                             and isinstance(target.get("goto"), str)]
            branches = raw.get("branches")
            if isinstance(branches, CommentedSeq):
                refs += [(b, "goto", b.get("goto")) for b in branches
                         if isinstance(b, CommentedMap) and isinstance(b.get("goto"), str)]
            for where, key, target in refs:
                if target is not None and target not in raw_nodes:
                    self.problem(where, f"node {node.id!r}: unknown node {target!r}", key)


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
    except Exception as exc:  # noqa: BLE001 - other ruamel errors (e.g. duplicate keys) carry no single type
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
                menu.holidays, menu.positions, features=menu.features)
