"""Operators (agents) as admins describe them in ``dialplans/agents.yaml``.

    agents:
      op01: {name: "Nguyễn Thị Lan", skills: {general: 4, billing: 5}, languages: [vi, en]}

Skills carry a proficiency from 1 (learning) to 5 (expert). Errors name file, line and column;
:func:`load_agents` raises :class:`AgentsError` with all of them, so a broken file never
replaces a running list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

_NAME = re.compile(r"op[0-9]{2,3}")
_SKILL = re.compile(r"[a-z][a-z0-9_]*")
# Between the skills of a call in the dialplan (HOTLINE_SKILLS, then the AcdJoin UserEvent's
# AcdSkills header): not a comma, which Asterisk splits application arguments on. Skill names
# are identifiers, so a space cannot occur in one.
SKILL_SEPARATOR = " "


def join_skills(skills: tuple[str, ...] | list[str]) -> str:
    """The skills of a call as the dialplan carries them."""
    return SKILL_SEPARATOR.join(skills)


def split_skills(text: str) -> tuple[str, ...]:
    """The skills the dialplan carried (:func:`join_skills`), in order, without duplicates;
    anything that is not a skill name is left out."""
    found: list[str] = []
    for word in text.split():
        if _SKILL.fullmatch(word) and word not in found:
            found.append(word)
    return tuple(found)


class AgentsError(Exception):
    code = "acd.agents_invalid"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    skills: dict[str, int]
    languages: tuple[str, ...]


def read_file(path: Path) -> tuple[Any, Callable[..., str]]:
    """The operators file as a YAML document, and ``at(mapping, key)``: the file:line:column of
    a key in it, for error messages."""
    name = str(path)
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise AgentsError(f"{name}:{where}: YAML syntax: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentsError(f"{name}:1:1: cannot read the agents file: {exc}") from None

    def at(mapping: Any, key: Any, of_key: bool = False) -> str:
        """Where the value of ``key`` is (or the key itself, ``of_key``)."""
        try:
            if isinstance(mapping, CommentedSeq):  # a sequence: the item's own position
                line, column = mapping.lc.item(key)
            elif key in mapping and not of_key:
                line, column = mapping.lc.value(key)
            else:
                line, column = mapping.lc.key(key)
        except (AttributeError, KeyError, TypeError):
            line, column = 0, 0
        return f"{name}:{line + 1}:{column + 1}"

    return document, at


def load_agents(path: Path) -> dict[str, Agent]:
    name = str(path)
    document, at = read_file(path)
    problems: list[str] = []

    raw = document.get("agents") if isinstance(document, CommentedMap) else None
    if not isinstance(raw, CommentedMap):
        raise AgentsError(f"{name}:1:1: the file needs 'agents:' mapping operator ids to details")
    agents: dict[str, Agent] = {}
    for agent_id, details in raw.items():
        if not isinstance(agent_id, str) or not _NAME.fullmatch(agent_id):
            problems.append(f"{at(raw, agent_id)}: operator ids are op01, op02, ...")
            continue
        if not isinstance(details, CommentedMap):
            problems.append(f"{at(raw, agent_id)}: {agent_id}: give name, skills and languages")
            continue
        skills = details.get("skills")
        if not isinstance(skills, CommentedMap) or not skills:
            problems.append(f"{at(details, 'skills')}: {agent_id}: skills map a skill to 1-5")
            continue
        checked: dict[str, int] = {}
        for skill, level in skills.items():
            if not isinstance(skill, str) or not _SKILL.fullmatch(skill):
                problems.append(f"{at(skills, skill)}: {agent_id}: bad skill name {skill!r}")
            elif isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
                problems.append(f"{at(skills, skill)}: {agent_id}: proficiency of {skill} is "
                                "a whole number 1-5")
            else:
                checked[skill] = level
        languages = details.get("languages", ["vi"])
        if not isinstance(languages, list) or not languages or not all(
                isinstance(x, str) and re.fullmatch(r"[a-z]{2}", x) for x in languages):
            problems.append(f"{at(details, 'languages')}: {agent_id}: languages is a list such "
                            "as [vi, en]")
            languages = ["vi"]
        agents[agent_id] = Agent(agent_id, str(details.get("name", agent_id)), checked,
                                 tuple(languages))
    if problems:
        raise AgentsError("\n".join(problems))
    return agents


def all_skills(agents: dict[str, Agent]) -> set[str]:
    return {skill for agent in agents.values() for skill in agent.skills}
