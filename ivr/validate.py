"""Whole-menu checks after loading: reachability, loops with no exit, variables, skills, audio.

Each problem points at the node's line and column in the menu file. Warnings (a skill the
operators have that no menu path asks for) do not stop a menu from serving calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .menu_items import Choose, Each, Item, Say
from .menu_model import Menu
from .menu_nodes import ACTIONS, BUILT_IN_VARS, SPECIAL_TARGETS, Node
from .menu_reader import Problem

TERMINAL = ("hangup", "transfer")


def _problem(menu: Menu, node_id: str, message: str) -> Problem:
    line, column = menu.positions.get(node_id, (1, 1))
    return Problem(menu.source, line, column, message)


def edges(menu: Menu, node: Node) -> list[str]:
    """Where a call can go from ``node``, the global keys included."""
    targets = [t for t in node.targets() if t in menu.nodes]
    if node.global_keys and node.kind in ("menu", "collect", "confirm", "play"):
        targets += [t for t in menu.keys.values() if t not in SPECIAL_TARGETS]
    return targets


def reachable(menu: Menu) -> set[str]:
    """The nodes a call can reach from ``start`` (through options, outcomes, branches and the
    global keys)."""
    seen: set[str] = set()
    todo = [menu.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in menu.nodes:
            continue
        seen.add(node_id)
        todo += edges(menu, menu.nodes[node_id])
    return seen


def check_graph(menu: Menu, known_prompts: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    seen = reachable(menu)
    for node_id in menu.nodes:
        if node_id not in seen:
            problems.append(_problem(menu, node_id, f"node {node_id!r} is unreachable from "
                                                    f"'start' ({menu.start!r})"))
    # every reachable node must be able to end the call
    can_end = {n for n, node in menu.nodes.items() if node.kind in TERMINAL}
    changed = True
    while changed:
        changed = False
        for node_id, node in menu.nodes.items():
            if node_id not in can_end and any(t in can_end for t in edges(menu, node)):
                can_end.add(node_id)
                changed = True
    for node_id in sorted(seen - can_end):
        problems.append(_problem(menu, node_id, f"node {node_id!r} is in a loop with no exit: "
                                                "no hangup or transfer can follow it"))
    problems += _silent_loops(menu)
    problems += _variables(menu)
    if known_prompts is not None:
        for node in menu.nodes.values():
            if not node.waits_for_caller():
                continue
            for name, items in (("no_input_prompts", node.no_input_prompts),
                                ("invalid_prompts", node.invalid_prompts)):
                for prompt in items:
                    if isinstance(prompt, str) and prompt not in known_prompts:
                        problems.append(_problem(
                            menu, node.id, f"node {node.id!r}: missing prompt {prompt!r} (the "
                            f"default {name}; add it to prompts/catalogue.yaml or set {name})"))
    return problems


def _silent_loops(menu: Menu) -> list[Problem]:
    """Cycles through nodes that never wait for a key: the call would spin forever."""
    silent = {n for n, node in menu.nodes.items() if not node.waits_for_caller()
              and node.kind not in TERMINAL}
    graph = {n: [t for t in menu.nodes[n].targets() if t in silent] for n in silent}
    problems = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[str] = set()

    def visit(node_id: str, stack: list[str]) -> None:
        state[node_id] = 1
        stack.append(node_id)
        for target in graph[node_id]:
            if state.get(target) == 1:
                cycle = stack[stack.index(target):]
                if not reported & set(cycle):
                    reported.update(cycle)
                    problems.append(_problem(menu, target, "a loop with no exit: "
                                             + " -> ".join(cycle + [target])
                                             + " never waits for the caller"))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node_id] = 2

    for node_id in sorted(silent):
        if node_id not in state:
            visit(node_id, [])
    return problems


def _item_vars(items: tuple[Item, ...], inside_each: bool = False) -> list[str]:
    found: list[str] = []
    for item in items:
        if isinstance(item, (Say, Choose)):
            found.append(item.var)
        elif isinstance(item, Each):
            found.append(item.var)
            found += [v for v in _item_vars(item.items, True)
                      if v != "item" and not v.startswith("item.")]
    return found


def _variables(menu: Menu) -> list[Problem]:
    defined = set(BUILT_IN_VARS)
    for node in menu.nodes.values():
        if node.kind == "action" and node.action in ACTIONS:
            defined |= ACTIONS[node.action].sets
        if node.kind == "collect" and node.store:
            defined.add(node.store)
        defined |= set(node.sets)
    problems = []
    for node in menu.nodes.values():
        used = _item_vars(node.prompts) + [a[1:] for a in node.args.values()
                                           if a.startswith("$")]
        used += [b.when.var for b in node.branches if b.when.var]
        used += [w.var for w in node.option_when.values() if w.var]
        for var in dict.fromkeys(used):  # each once per node, in order
            if var.split(".")[0] not in defined:
                problems.append(_problem(menu, node.id, f"node {node.id!r}: unknown variable "
                                         f"{var!r} (known: {', '.join(sorted(defined))})"))
            elif var.split(".")[0] == "features" and (
                    var.count(".") != 1 or var.split(".")[1] not in menu.features):
                problems.append(_problem(menu, node.id, f"node {node.id!r}: unknown feature "
                                         f"{var!r} (the menu's 'features' are: "
                                         f"{', '.join(sorted(menu.features)) or 'none'})"))
    return problems


def check_skills(menu: Menu, skills: set[str], agents_file: str) -> list[Problem]:
    """Transfers asking for a skill no operator has would wait forever."""
    problems = []
    for node in menu.nodes.values():
        for skill in node.skills:
            if skill not in skills:
                problems.append(_problem(menu, node.id, f"node {node.id!r}: no operator has "
                                         f"skill {skill!r} (see {agents_file})"))
    return problems


def unused_skills(menu: Menu, operators: Mapping[str, Iterable[str]], agents_file: str
                  ) -> list[Problem]:
    """Warnings: a skill operators have (skill -> their ids) that no transfer reachable from
    ``start`` asks for. Those operators would only ever get calls for their other skills."""
    used = {skill for node_id in reachable(menu) for skill in menu.nodes[node_id].skills}
    warnings = []
    for skill in sorted(set(operators) - used):
        names = sorted(operators[skill])
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warnings.append(Problem(menu.source, 1, 1, f"warning: no menu path reaches skill "
                                f"{skill!r} of {shown} ({agents_file}): add a transfer with "
                                f"'skills: [{skill}]', or take the skill out of that file"))
    return warnings


def check_audio(menu: Menu, sounds: Path, words: dict[str, set[str]]) -> list[Problem]:
    """Every prompt in every language must have audio, and so must the words values need.

    A missing prompt is reported at the first node that plays it."""
    first_use: dict[str, str] = {}
    for node in menu.nodes.values():
        single = Menu(menu.hotline, menu.start, {node.id: node}, menu.source, menu.version,
                      menu.languages)
        for prompt in single.prompt_ids():
            first_use.setdefault(prompt, node.id)
    problems = []
    for language in menu.languages:
        for prompt in sorted(menu.prompt_ids()):
            if not (sounds / language / f"{prompt}.wav").exists():
                problems.append(_problem(menu, first_use.get(prompt, menu.start),
                                         f"no {language} audio for prompt {prompt!r}: run "
                                         "'hotline prompts build'"))
        if menu.say_kinds():
            for word in sorted(words.get(language, set())):
                if not (sounds / language / f"{word}.wav").exists():
                    problems.append(_problem(menu, menu.start, f"no {language} audio for word "
                                             f"{word!r}: run 'hotline prompts build'"))
    return problems
