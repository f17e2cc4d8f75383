"""Reading a menu file's YAML with every problem located.

A :class:`Reader` records a :class:`Problem` at the 1-based line and column of whatever is
wrong and reads the scalars all parts of a menu use (text, durations, whole numbers); the prompt
items (:mod:`ivr.menu_items`), conditions (:mod:`ivr.menu_conditions`), node kinds
(:mod:`ivr.menu_nodes`) and the document (:mod:`ivr.menu`) build on it. :func:`ivr.menu.load_menu`
raises what was found as one :class:`MenuError`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?")
#: A variable, or a field of one: ``customer_code``, ``bill.unpaid_total``.
VAR_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")


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


_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}


def parse_bool(value: Any) -> bool | None:
    """YAML 1.2 reads yes/no as text; admins write them anyway."""
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(str(value).lower()) if isinstance(value, str) else None


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


class Reader:
    """The problems found in one menu file, each at its place, and checked reading of scalars."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    # -- locations --------------------------------------------------------------------------

    def problem(self, where: Any, message: str, key: Any = None) -> None:
        line, column = 0, 0
        if isinstance(where, (CommentedMap, CommentedSeq)):
            line, column = where.lc.line, where.lc.col
            if key is not None:
                try:
                    if isinstance(where, CommentedMap):
                        line, column = where.lc.value(key) if key in where else where.lc.key(key)
                    else:
                        line, column = where.lc.item(key)
                except (KeyError, TypeError, IndexError):
                    pass
        elif isinstance(where, tuple):
            line, column = where
        self.problems.append(Problem(self.path, line + 1, column + 1, message))

    def key_position(self, mapping: CommentedMap, key: Any) -> tuple[int, int]:
        try:
            return tuple(mapping.lc.key(key))  # type: ignore[return-value]
        except (KeyError, TypeError):
            return (mapping.lc.line, mapping.lc.col)

    # -- values ---------------------------------------------------------------------------------

    def text(self, raw: CommentedMap, label: str, name: str, *, required: bool) -> str | None:
        value = raw.get(name)
        if value is None:
            if required:
                self.problem(raw, f"{label}: missing {name!r}")
            return None
        if not isinstance(value, str):
            self.problem(raw, f"{label}: {name!r} must be text", name)
            return None
        return value

    def duration(self, raw: CommentedMap, name: str, low: int, high: int, label: str
                 ) -> int | None:
        value = parse_duration_ms(raw[name])
        if value is None or not low <= value <= high:
            self.problem(raw, f"{label}: bad duration {raw[name]!r} for {name!r} (write e.g. "
                         f"5s or 1500ms, between {low / 1000:g}s and {high / 1000:g}s)", name)
            return None
        return value

    def choice(self, raw: CommentedMap, name: str, choices: Iterable[str], label: str) -> Any:
        """``raw[name]`` when it is one of ``choices``; else a problem and None."""
        value = raw[name]
        if value not in choices:
            self.problem(raw, f"{label}: {name} is one of {', '.join(choices)}", name)
            return None
        return value

    def count(self, raw: CommentedMap, name: str, low: int, high: int, label: str) -> int | None:
        value = raw[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problem(raw, f"{label}: {name!r} must be a whole number {low}-{high}", name)
            return None
        return value
