"""IVR menus as admins write them (YAML), loaded into frozen dataclasses with every error located.

    hotline: "19001122"
    start: welcome
    nodes:
      welcome:   {type: play, prompts: [welcome], next: main}
      main:
        type: menu
        prompts: [main_menu]
        timeout: 5s
        retries: 2
        options: {"1": outage, "2": bill}
        on_no_input: goodbye
        on_invalid: goodbye
      goodbye:   {type: hangup, prompts: [goodbye]}

Errors name file, line and column (1-based) and what to fix; :func:`load_menu` raises
:class:`MenuError` carrying all of them, so a broken file never replaces a running menu.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

KINDS = ("play", "menu", "transfer", "hangup")
KEYS = set("0123456789*#")
MAX_FILE_BYTES = 1_000_000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?")
_NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    prompts: tuple[str, ...] = ()
    next: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    timeout_ms: int = 5000
    retries: int = 2
    on_no_input: str | None = None
    on_invalid: str | None = None
    no_input_prompts: tuple[str, ...] = ("no_input",)
    invalid_prompts: tuple[str, ...] = ("invalid_choice",)
    queue: str = "operators"


@dataclass(frozen=True)
class Menu:
    hotline: str
    start: str
    nodes: dict[str, Node]
    source: str
    version: str

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def prompt_ids(self) -> set[str]:
        ids: set[str] = set()
        for node in self.nodes.values():
            ids.update(node.prompts)
            if node.kind == "menu":
                ids.update(node.no_input_prompts, node.invalid_prompts)
        return ids


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


class _Loader:
    def __init__(self, path: str, known_prompts: set[str] | None) -> None:
        self.path = path
        self.known_prompts = known_prompts
        self.problems: list[Problem] = []

    def problem(self, where: Any, message: str, key: Any = None) -> None:
        line, column = 0, 0
        if isinstance(where, (CommentedMap, CommentedSeq)):
            if key is not None:
                try:
                    if isinstance(where, CommentedMap):
                        line, column = where.lc.value(key) if key in where else where.lc.key(key)
                    else:
                        line, column = where.lc.item(key)
                except (KeyError, TypeError, IndexError):
                    line, column = where.lc.line, where.lc.col
            else:
                line, column = where.lc.line, where.lc.col
        elif isinstance(where, tuple):
            line, column = where
        self.problems.append(Problem(self.path, line + 1, column + 1, message))

    def key_position(self, mapping: CommentedMap, key: Any) -> tuple[int, int]:
        try:
            return tuple(mapping.lc.key(key))  # type: ignore[return-value]
        except (KeyError, TypeError):
            return (mapping.lc.line, mapping.lc.col)

    def load(self, document: Any) -> Menu | None:
        if not isinstance(document, CommentedMap):
            self.problem((0, 0), "a menu file must be a mapping with 'hotline', 'start' and 'nodes'")
            return None
        for key in document:
            if key not in ("hotline", "start", "nodes", "description"):
                self.problem(self.key_position(document, key), f"unknown top-level key {key!r}")
        hotline = str(document.get("hotline", ""))
        if not hotline:
            self.problem(document, "missing 'hotline' (the number this menu answers)")
        raw_nodes = document.get("nodes")
        if not isinstance(raw_nodes, CommentedMap) or not raw_nodes:
            self.problem(document, "missing 'nodes': a mapping of node id to node", "nodes")
            return None
        nodes: dict[str, Node] = {}
        for node_id, raw in raw_nodes.items():
            if not isinstance(node_id, str):
                self.problem(self.key_position(raw_nodes, node_id),
                             f"bad node id {node_id!r}: node ids are names such as 'main_menu'")
                continue
            node = self.node(raw_nodes, node_id, raw)
            if node is not None:
                nodes[node.id] = node
        start = document.get("start")
        if not isinstance(start, str) or start not in raw_nodes:
            self.problem(document, f"'start' must name a node, got {start!r}", "start")
        self.references(raw_nodes, nodes)
        self.default_prompts(raw_nodes, nodes)
        if isinstance(start, str) and start in nodes:
            self.reachability(raw_nodes, nodes, start)
        if self.problems:
            return None
        return Menu(hotline=hotline, start=str(start), nodes=nodes, source=self.path, version="")

    def node(self, parent: CommentedMap, node_id: str, raw: Any) -> Node | None:
        if not _NODE_ID.fullmatch(node_id):
            self.problem(self.key_position(parent, node_id), f"bad node id {node_id!r}")
        if not isinstance(raw, CommentedMap):
            self.problem(parent, f"node {node_id!r} must be a mapping", node_id)
            return None
        kind = raw.get("type")
        if kind not in KINDS:
            self.problem(raw, f"node {node_id!r}: 'type' must be one of {', '.join(KINDS)}, "
                         f"got {kind!r}", "type" if "type" in raw else None)
            return None
        allowed = {"type", "prompts", "description"} | {
            "play": {"next"},
            "menu": {"options", "timeout", "retries", "on_no_input", "on_invalid",
                     "no_input_prompts", "invalid_prompts"},
            "transfer": {"queue"},
            "hangup": set(),
        }[kind]
        for key in raw:
            if key not in allowed:
                self.problem(self.key_position(raw, key),
                             f"node {node_id!r}: {key!r} is not a field of a {kind} node")
        values: dict[str, Any] = {"id": node_id, "kind": kind}
        values["prompts"] = self.prompts(raw, node_id, "prompts")
        for name in ("no_input_prompts", "invalid_prompts"):
            if name in raw:
                values[name] = self.prompts(raw, node_id, name)
        if kind == "play":
            values["next"] = self.text(raw, node_id, "next", required=True)
        if kind == "menu":
            options = raw.get("options")
            if not isinstance(options, CommentedMap) or not options:
                self.problem(raw, f"node {node_id!r}: a menu needs 'options' (key: node)",
                             "options" if "options" in raw else None)
                options = CommentedMap()
            values["options"] = {}
            for key, target in options.items():
                key_text = str(key)
                if key_text not in KEYS:
                    self.problem(self.key_position(options, key),
                                 f"node {node_id!r}: option key {key_text!r} is not one of 0-9 * #")
                elif key_text in values["options"]:
                    self.problem(self.key_position(options, key),
                                 f"node {node_id!r}: key {key_text!r} is used twice")
                if target is None or not isinstance(target, str):
                    self.problem(options, f"node {node_id!r}: option {key_text!r} needs the "
                                 "name of the node it leads to", key)
                    continue
                values["options"][key_text] = target
            if "timeout" in raw:
                timeout = parse_duration_ms(raw["timeout"])
                if timeout is None or not 500 <= timeout <= 60000:
                    self.problem(raw, f"node {node_id!r}: bad duration {raw['timeout']!r} for "
                                 "'timeout' (write e.g. 5s or 1500ms, between 0.5s and 60s)",
                                 "timeout")
                else:
                    values["timeout_ms"] = timeout
            if "retries" in raw:
                retries = raw["retries"]
                if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 9:
                    self.problem(raw, f"node {node_id!r}: 'retries' must be a whole number 0-9",
                                 "retries")
                else:
                    values["retries"] = retries
            for name in ("on_no_input", "on_invalid"):
                values[name] = self.text(raw, node_id, name, required=False)
        if kind == "transfer" and "queue" in raw:
            values["queue"] = self.text(raw, node_id, "queue", required=True) or "operators"
        return Node(**values)

    def text(self, raw: CommentedMap, node_id: str, name: str, *, required: bool) -> str | None:
        value = raw.get(name)
        if value is None:
            if required:
                self.problem(raw, f"node {node_id!r}: missing {name!r}")
            return None
        if not isinstance(value, str):
            self.problem(raw, f"node {node_id!r}: {name!r} must be text", name)
            return None
        return value

    def prompts(self, raw: CommentedMap, node_id: str, name: str) -> tuple[str, ...]:
        value = raw.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(raw, f"node {node_id!r}: {name!r} must be a list of prompt ids", name)
            return ()
        result = []
        for index, prompt in enumerate(value):
            if not isinstance(prompt, str):
                self.problem(value if isinstance(value, CommentedSeq) else raw,
                             f"node {node_id!r}: prompt ids are text", index)
                continue
            if self.known_prompts is not None and prompt not in self.known_prompts:
                where = value if isinstance(value, CommentedSeq) else raw
                key = index if isinstance(value, CommentedSeq) else name
                self.problem(where, f"node {node_id!r}: missing prompt {prompt!r} (add it to "
                             "prompts/catalogue.yaml or record it)", key)
            result.append(prompt)
        return tuple(result)

    def references(self, raw_nodes: CommentedMap, nodes: dict[str, Node]) -> None:
        for node in nodes.values():
            raw = raw_nodes[node.id]
            refs: list[tuple[Any, Any, str | None]] = [(raw, "next", node.next),
                                                      (raw, "on_no_input", node.on_no_input),
                                                      (raw, "on_invalid", node.on_invalid)]
            options = raw.get("options")
            if isinstance(options, CommentedMap):
                refs += [(options, key, str(target)) for key, target in options.items()
                         if target is not None]
            for where, key, target in refs:
                if target is not None and (target not in raw_nodes or target not in nodes):
                    if target in raw_nodes:
                        continue  # that node is broken itself and reported there
                    self.problem(where, f"node {node.id!r}: unknown node {target!r}", key)

    def default_prompts(self, raw_nodes: CommentedMap, nodes: dict[str, Node]) -> None:
        """Retry prompts a menu uses without naming them must exist too."""
        if self.known_prompts is None:
            return
        for node in nodes.values():
            if node.kind != "menu":
                continue
            raw = raw_nodes[node.id]
            for name, ids in (("no_input_prompts", node.no_input_prompts),
                              ("invalid_prompts", node.invalid_prompts)):
                if name in raw:
                    continue
                for prompt in ids:
                    if prompt not in self.known_prompts:
                        self.problem(self.key_position(raw_nodes, node.id),
                                     f"node {node.id!r}: missing prompt {prompt!r} (the default "
                                     f"{name}; add it to prompts/catalogue.yaml or set {name})")

    def reachability(self, raw_nodes: CommentedMap, nodes: dict[str, Node], start: str) -> None:
        seen, todo = set(), [start]
        while todo:
            node_id = todo.pop()
            if node_id in seen or node_id not in nodes:
                continue
            seen.add(node_id)
            node = nodes[node_id]
            todo += [t for t in (node.next, node.on_no_input, node.on_invalid) if t]
            todo += list(node.options.values())
        for node_id in nodes:
            if node_id not in seen:
                self.problem(self.key_position(raw_nodes, node_id),
                             f"node {node_id!r} is unreachable from 'start' ({start!r})")


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
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise MenuError([Problem(name, line, column,
                                 f"YAML syntax: {exc.problem or exc.context}")]) from None
    except Exception as exc:  # other ruamel errors (e.g. duplicate keys) carry no single type
        raise MenuError([Problem(name, 1, 1, f"YAML: {exc}")]) from None
    loader = _Loader(name, known_prompts)
    menu = loader.load(document)
    if menu is None:
        raise MenuError(sorted(loader.problems, key=lambda p: (p.line, p.column)))
    version = hashlib.sha256(data).hexdigest()[:12]
    return Menu(menu.hotline, menu.start, menu.nodes, name, version)
