"""Conditions of ``condition`` nodes: holidays, days of the week, times, dates and variables.

    branches:
      - when: {holiday: yes}
        goto: closed
      - when: {var: bill.unpaid_total, gt: 0}
        goto: unpaid
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from .menu_reader import VAR_PATH, Reader, parse_bool, parse_date

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RANGE = re.compile(r"([01]\d|2[0-4]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)")


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


class ConditionReader(Reader):
    """Reads the ``when`` of a branch."""

    def when(self, raw: Any, parent: CommentedMap, label: str) -> When | None:
        if not isinstance(raw, CommentedMap) or not raw:
            self.problem(parent, f"{label}: 'when' is a mapping of conditions", "when")
            return None
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "holiday" and parse_bool(value) is not None:
                values["holiday"] = parse_bool(value)
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
            elif key == "dates" and isinstance(value, list) and all(parse_date(d) for d in value):
                values["dates"] = frozenset(parse_date(d) for d in value)  # type: ignore[misc]
            elif key == "var" and isinstance(value, str) and VAR_PATH.fullmatch(value):
                values["var"] = value
            elif key == "exists" and parse_bool(value) is not None:
                values["exists"] = parse_bool(value)
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
