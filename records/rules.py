"""Request rules: deadline, escalation thresholds and priority per request type.

Read from ``dialplans/requests.yaml``; types not listed use ``defaults``; without a file the
built-in defaults below apply (documented in that file's header and the README).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from .errors import RulesError

REQUEST_TYPES = ("hazard", "outage_report", "billing_complaint", "meter_check",
                 "new_connection", "advice")


@dataclass(frozen=True)
class TypeRule:
    deadline: timedelta = timedelta(hours=48)
    warn_before: timedelta = timedelta(hours=4)
    critical_after: timedelta = timedelta(hours=24)
    priority: int = 0
    forward: bool = True


BUILT_IN = {
    "hazard": TypeRule(timedelta(hours=2), timedelta(minutes=30), timedelta(hours=1), 10),
    "outage_report": TypeRule(timedelta(hours=4), timedelta(hours=1), timedelta(hours=4), 5),
    "billing_complaint": TypeRule(timedelta(days=5), timedelta(days=1), timedelta(days=2), 2),
    "meter_check": TypeRule(timedelta(days=3), timedelta(hours=12), timedelta(days=2)),
    "new_connection": TypeRule(timedelta(days=7), timedelta(days=1), timedelta(days=3)),
    "advice": TypeRule(timedelta(hours=24), timedelta(hours=4), timedelta(hours=24),
                       forward=False),
}


@dataclass(frozen=True)
class RequestRules:
    types: dict[str, TypeRule]

    def rule(self, request_type: str) -> TypeRule:
        return self.types[request_type]

    def escalation_level(self, request_type: str, deadline_age_s: float) -> int:
        """0 on time, 1 deadline near, 2 overdue, 3 overdue by ``critical_after`` or more.

        ``deadline_age_s`` is now minus the deadline (negative while time is left).
        """
        rule = self.types[request_type]
        if deadline_age_s >= rule.critical_after.total_seconds():
            return 3
        if deadline_age_s >= 0:
            return 2
        if -deadline_age_s <= rule.warn_before.total_seconds():
            return 1
        return 0


DEFAULT_RULES = RequestRules(dict(BUILT_IN))

_UNITS = {"m": 60, "h": 3600, "d": 86400}
_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}


def _duration(text: Any) -> timedelta | None:
    value = str(text).strip()
    if len(value) < 2 or value[-1] not in _UNITS or not value[:-1].isdigit():
        return None
    return timedelta(seconds=int(value[:-1]) * _UNITS[value[-1]])


def load_rules(path: Path) -> RequestRules:
    name = str(path)
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DEFAULT_RULES
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise RulesError(f"{name}:{where}: YAML syntax: {exc.problem}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise RulesError(f"{name}:1:1: cannot read the rules: {exc}") from None
    problems: list[str] = []

    def at(mapping: CommentedMap, key: Any) -> str:
        try:
            line, column = mapping.lc.value(key)
        except (KeyError, TypeError, AttributeError):
            line, column = getattr(getattr(mapping, "lc", None), "line", 0), 0
        return f"{name}:{line + 1}:{column + 1}"

    def rule_from(mapping: Any, base: TypeRule, label: str) -> TypeRule:
        if not isinstance(mapping, CommentedMap):
            problems.append(f"{name}: {label} must be a mapping")
            return base
        values: dict[str, Any] = {}
        for key, raw in mapping.items():
            if key in ("deadline", "warn_before", "critical_after"):
                duration = _duration(raw)
                if duration is None or duration.total_seconds() <= 0:
                    problems.append(f"{at(mapping, key)}: {label}.{key}: bad duration {raw!r} "
                                    "(write e.g. 90m, 4h or 5d)")
                else:
                    values[key] = duration
            elif key == "priority":
                if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 10:
                    problems.append(f"{at(mapping, key)}: {label}.priority must be 0-10")
                else:
                    values[key] = raw
            elif key == "forward":
                flag = _BOOLEANS.get(str(raw).lower()) if not isinstance(raw, bool) else raw
                if flag is None:
                    problems.append(f"{at(mapping, key)}: {label}.forward must be yes or no")
                else:
                    values[key] = flag
            else:
                problems.append(f"{at(mapping, key)}: {label}: unknown setting {key!r}")
        return replace(base, **values)

    if not isinstance(document, CommentedMap):
        raise RulesError(f"{name}:1:1: the rules file must be a mapping with 'types'")
    defaults = rule_from(document.get("defaults", CommentedMap()), TypeRule(), "defaults")
    types = {t: defaults for t in REQUEST_TYPES}
    raw_types = document.get("types", CommentedMap())
    if isinstance(raw_types, CommentedMap):
        for request_type, mapping in raw_types.items():
            if request_type not in REQUEST_TYPES:
                problems.append(f"{at(raw_types, request_type)}: unknown request type "
                                f"{request_type!r} (one of {', '.join(REQUEST_TYPES)})")
                continue
            types[request_type] = rule_from(mapping, defaults, f"types.{request_type}")
    if problems:
        raise RulesError("\n".join(problems))
    return RequestRules(types)
