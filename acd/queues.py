"""How calls are routed and when a queue overflows, as admins set it in the operators file
(``dialplans/agents.yaml``, beside ``agents:``; both sections are optional):

    routing:
      min_proficiency: 3          # at first a caller needs operators this good at the skills
      relax:                      # ... and less as the wait grows
        - {after: 30, min_proficiency: 2}
        - {after: 90, any_skill: true}   # then any operator who speaks the language
      sticky_wait: 20             # wait this long for the operator who served the caller last
    queues:                       # per skill (the call's first skill); default: the others
      default: {max_wait: 600, on_max_wait: callback}
      outage:  {max_queue: 80, on_queue_full: callback}

Overflow rules: ``max_wait`` (seconds on hold), ``max_queue`` (callers waiting for the skill)
and "no operator logged in who could ever take the call"; each leads to ``callback`` (the caller
keeps their place and is called back) or ``announce`` (an apology, call later). A callback
needs an outbound trunk and a caller number to call; without them the caller hears the
announcement. Errors name file, line and column and raise :class:`~acd.agents.AgentsError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .agents import AgentsError, read_file
from .decision import Policy, Relaxation

ACTIONS = ("callback", "announce")


@dataclass(frozen=True)
class QueueRules:
    max_wait_s: float | None = None   # None: only the dialplan's own limit (ACD_MAX_WAIT)
    max_queue: int | None = None      # None: the hotline's acd_max_queue
    on_max_wait: str = "callback"
    on_queue_full: str = "announce"
    on_no_operator: str = "announce"


@dataclass(frozen=True)
class Routing:
    policy: Policy = field(default_factory=Policy)
    queues: dict[str, QueueRules] = field(default_factory=dict)

    def rules(self, skill: str) -> QueueRules:
        return self.queues.get(skill) or self.queues.get("default") or QueueRules()


def load_routing(path: Path) -> Routing:
    document, at = read_file(path)
    if not isinstance(document, CommentedMap):
        return Routing()
    problems: list[str] = []
    policy = _policy(document.get("routing"), document, at, problems)
    queues: dict[str, QueueRules] = {}
    raw = document.get("queues")
    if raw is not None and not isinstance(raw, CommentedMap):
        problems.append(f"{at(document, 'queues')}: queues map a skill (or default) to rules")
        raw = None
    for skill, details in (raw or {}).items():
        if not isinstance(details, CommentedMap):
            problems.append(f"{at(raw, skill)}: queue {skill}: give max_wait, max_queue, "
                            "on_max_wait, on_queue_full, on_no_operator")
            continue
        queues[str(skill)] = _rules(str(skill), details, at, problems)
    if problems:
        raise AgentsError("\n".join(sorted(problems, key=_position)))
    return Routing(policy, queues)


def _position(problem: str) -> tuple[int, int]:
    match = re.search(r":(\d+):(\d+): ", problem)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _number(value: Any, *, whole: bool = False) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    if whole and not isinstance(value, int):
        return None
    return float(value)


def _rules(skill: str, details: CommentedMap, at: Any, problems: list[str]) -> QueueRules:
    known = {"max_wait", "max_queue", "on_max_wait", "on_queue_full", "on_no_operator"}
    for key in details:
        if key not in known:
            problems.append(f"{at(details, key, True)}: queue {skill}: unknown rule {key!r} (one of "
                            f"{', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    if "max_wait" in details:
        wait = _number(details["max_wait"])
        if wait is None or wait < 1:
            problems.append(f"{at(details, 'max_wait')}: queue {skill}: max_wait is seconds "
                            "(1 or more)")
        values["max_wait_s"] = wait
    if "max_queue" in details:
        size = _number(details["max_queue"], whole=True)
        if size is None:
            problems.append(f"{at(details, 'max_queue')}: queue {skill}: max_queue is a whole "
                            "number of callers")
        values["max_queue"] = int(size) if size is not None else None
    for key in ("on_max_wait", "on_queue_full", "on_no_operator"):
        if key in details:
            if details[key] not in ACTIONS:
                problems.append(f"{at(details, key)}: queue {skill}: {key} is callback or "
                                "announce")
            else:
                values[key] = details[key]
    return QueueRules(**values)


def _policy(raw: Any, document: CommentedMap, at: Any, problems: list[str]) -> Policy:
    if raw is None:
        return Policy()
    if not isinstance(raw, CommentedMap):
        problems.append(f"{at(document, 'routing')}: routing has min_proficiency, relax and "
                        "sticky_wait")
        return Policy()
    default = Policy()
    minimum = raw.get("min_proficiency", default.min_proficiency)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 1 <= minimum <= 5:
        problems.append(f"{at(raw, 'min_proficiency')}: min_proficiency is 1-5")
        minimum = default.min_proficiency
    sticky = _number(raw.get("sticky_wait", default.sticky_wait_s))
    if sticky is None:
        problems.append(f"{at(raw, 'sticky_wait')}: sticky_wait is seconds (0 turns it off)")
        sticky = default.sticky_wait_s
    steps = default.steps
    if "relax" in raw:
        steps = _steps(raw["relax"], raw, at, problems)
    return Policy(min_proficiency=minimum, steps=steps, sticky_wait_s=sticky)


def _steps(raw: Any, parent: CommentedMap, at: Any, problems: list[str]
           ) -> tuple[Relaxation, ...]:
    if not isinstance(raw, CommentedSeq):
        problems.append(f"{at(parent, 'relax')}: relax is a list of steps such as "
                        "{after: 30, min_proficiency: 2}")
        return ()
    steps: list[Relaxation] = []
    last = -1.0
    for index, step in enumerate(raw):
        where = at(raw, index)
        if not isinstance(step, CommentedMap) or "after" not in step:
            problems.append(f"{where}: a relax step needs after (seconds) and min_proficiency "
                            "or any_skill")
            continue
        unknown = set(step) - {"after", "min_proficiency", "any_skill"}
        if unknown:
            problems.append(f"{at(step, min(unknown), True)}: unknown in a relax step: "
                            f"{', '.join(sorted(unknown))}")
        after = _number(step["after"])
        if after is None or after <= last:
            problems.append(f"{at(step, 'after')}: after is seconds, later than the step "
                            "before")
            continue
        last = after
        minimum = step.get("min_proficiency")
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)
                                    or not 1 <= minimum <= 5):
            problems.append(f"{at(step, 'min_proficiency')}: min_proficiency is 1-5")
            minimum = None
        any_skill = step.get("any_skill", False)
        if not isinstance(any_skill, bool):
            problems.append(f"{at(step, 'any_skill')}: any_skill is true or false")
            any_skill = False
        if minimum is None and not any_skill:
            problems.append(f"{where}: a relax step lowers min_proficiency or allows any_skill")
        steps.append(Relaxation(after, min_proficiency=minimum, any_skill=any_skill))
    return tuple(steps)
