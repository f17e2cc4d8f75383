"""What a simulation is asked: the load, the operators, the callers' behaviour, the routing.

A scenario is a YAML file whose keys are the names of ``hotline acd simulate``'s flags (with
``_`` for ``-``); a flag given on the command line replaces the file's value. Every key is
optional (the defaults below); docs/simulation.md describes each one. Errors name file, line and
column (a flag's error names the flag) and raise :class:`ScenarioError` with all of them.

Load: ``calls_per_hour`` (one number, or 24: one per hour of the day), or ``calls_per_day`` with
an ``hourly_profile`` (24 shares of the day's calls, made to sum to 1).
Operators: ``operators: M`` (M operators who take any call: skill ``general``, every language of
the mix; the operators file is not read) or the ``roster`` (an operators file, default
``dialplans/agents.yaml``) with ``staffing`` (operators logged in: one number, or 24, one per
hour of the day) or ``shifts`` (``{start: 6, end: 14, operators: 20}``, summed per hour).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

ROUTINGS = ("skills", "fifo")
SERVICES = ("exp", "lognormal")
_SKILL = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGE = re.compile(r"[a-z]{2}")


class ScenarioError(Exception):
    code = "acd.scenario_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SkillDemand:
    """The callers who need ``skill``: their share of the callers who reach the queue, and
    their mean handle time (talk + wrap-up; None: the scenario's ``aht``)."""
    skill: str
    share: float
    aht_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    calls_per_hour: tuple[float, ...] = (300.0,) * 24   # by hour of the day
    hours: int = 24
    start_hour: int = 0
    warm_up_hours: int = 0                   # left out of the totals (the centre starts empty)
    operators: int | None = None             # general operators; None: the roster
    roster: Path | None = None               # operators file (None: the caller's default)
    staffing: tuple[int, ...] | None = None  # operators logged in, by hour of the day
    aht_s: float = 180.0                     # mean handle time: talk + wrap-up
    service: str = "exp"                     # talk time distribution
    service_cv: float = 1.0                  # lognormal: standard deviation / mean
    wrap_up_s: float = 0.0
    patience_s: float = math.inf             # mean (exponential) time a waiting caller stays
    threshold_s: float = 20.0                # service level: answered within this
    short_abandon_s: float = 5.0
    skill_mix: tuple[SkillDemand, ...] = (SkillDemand("general", 1.0),)
    languages: tuple[tuple[str, float], ...] = (("vi", 1.0),)
    hazard_share: float = 0.0                # of all callers: a hazard, top priority
    hazard_skill: str = "outage"             # as the menu's hazard_operator node
    hazard_priority: int = 10
    self_service: float = 0.0                # share of callers done in the IVR
    ivr_lines: int = 40
    ivr_time_s: float = 0.0                  # mean (exponential) time in the IVR
    ring_time_s: float = 0.0                 # an operator's phone rings this long before the answer
    no_answer: float = 0.0                   # share of offers an operator lets ring out
    ring_timeout_s: float = 15.0             # the hotline's acd ring timeout
    max_missed: int = 3                      # unanswered offers in a row before the auto-pause
    max_queue: int = 200                     # the hotline's acd_max_queue
    handle_factor: tuple[tuple[int, float], ...] = ()  # talk time x factor by proficiency
    routing: str = "skills"
    seed: int = 1
    description: str = ""
    source: str = ""                         # the file it came from, if any

    @property
    def general_only(self) -> bool:
        return self.operators is not None

    def rate_at(self, hour_of_run: int) -> float:
        """Calls per hour in the given hour of the run."""
        return self.calls_per_hour[(self.start_hour + hour_of_run) % 24]

    def staff_at(self, hour_of_run: int) -> int:
        """Operators logged in during the given hour of the run (``staffing`` must be known:
        see :func:`acd.simulation.run.prepare`)."""
        assert self.staffing is not None
        return self.staffing[(self.start_hour + hour_of_run) % 24]

    def factor(self, level: int) -> float:
        for known, value in self.handle_factor:
            if known == level:
                return value
        return 1.0


# -- reading ----------------------------------------------------------------------------------

Where = Callable[[str], str]


def load(path: Path | None, overrides: dict[str, Any] | None = None,
         default_roster: Path | None = None) -> Scenario:
    """The scenario of ``path`` (None: the defaults) with ``overrides`` (flag values by key,
    already checked by their flag types) in place of the file's values."""
    raw: dict[str, Any] = {}
    where: Where = _nowhere
    folder = Path.cwd()
    if path is not None:
        raw, where = _read(path)
        folder = path.parent
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    # a flag for the load or the operators replaces every way the file gives them
    if "calls_per_hour" in overrides:
        raw.pop("calls_per_day", None)
        raw.pop("hourly_profile", None)
    if "operators" in overrides:
        for key in ("staffing", "shifts", "roster"):
            raw.pop(key, None)
    if "staffing" in overrides:
        raw.pop("operators", None)
        raw.pop("shifts", None)
    flagged = set(overrides)
    raw.update(overrides)
    problems: list[str] = []
    checker = _Checker(raw, lambda key: "" if key in flagged else where(key), problems)
    scenario = checker.scenario(folder, default_roster, str(path) if path else "")
    if problems:
        raise ScenarioError(sorted(problems, key=_position))
    assert scenario is not None
    return scenario


def _position(problem: str) -> tuple[int, int]:
    """A problem's line and column (a flag's problem, which has none, comes first)."""
    match = re.match(r".*?:(\d+):(\d+): ", problem)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _nowhere(key: str) -> str:
    return ""  # a flag's value has no position


def _read(path: Path) -> tuple[dict[str, Any], Where]:
    name = str(path)
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise ScenarioError([f"{name}:{at}: YAML syntax: {exc.problem}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ScenarioError([f"{name}:1:1: cannot read the scenario: {reason}"]) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        example = "calls_per_hour: 300, operators: 20, ..."
        raise ScenarioError([f"{name}:1:1: a scenario is a mapping of settings ({example})"])

    def where(key: str) -> str:
        try:
            line, column = document.lc.value(key)
        except (KeyError, TypeError, AttributeError):
            return f"{name}:1:1: "
        return f"{name}:{line + 1}:{column + 1}: "

    return dict(document), where


_KNOWN = {f.name for f in fields(Scenario)} - {"source", "calls_per_hour",
                                                "aht_s", "wrap_up_s", "patience_s",
                                                "threshold_s", "short_abandon_s",
                                                "ivr_time_s", "ring_time_s",
                                                "ring_timeout_s"}
KEYS = sorted(_KNOWN | {"calls_per_hour", "calls_per_day", "hourly_profile", "shifts", "aht",
                        "wrap_up", "patience", "threshold", "short_abandon", "ivr_time",
                        "ring_time", "ring_timeout"})


class _Checker:
    """Turns the raw values into a :class:`Scenario`, one problem per bad value."""

    def __init__(self, raw: dict[str, Any], where: Where, problems: list[str]) -> None:
        self.raw = raw
        self.where = where
        self.problems = problems

    def bad(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}{key}: {message}")

    # single values

    def number(self, key: str, default: float, *, low: float = 0.0, above: bool = False,
               high: float = math.inf, infinite: bool = False) -> float:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if infinite and (value == "inf" or (isinstance(value, float) and math.isinf(value))):
            return math.inf
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value) or value < low or (above and value == low) or \
                value > high:
            span = (f"more than {low:g}" if above else f"{low:g} or more") + \
                (f" and at most {high:g}" if math.isfinite(high) else "")
            self.bad(key, f"a number {span}{' (or inf)' if infinite else ''}, not {value!r}")
            return default
        return float(value)

    def whole(self, key: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low or \
                (high is not None and value > high):
            self.bad(key, f"a whole number {low}{f'-{high}' if high is not None else ' or more'}"
                          f", not {value!r}")
            return default
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw.get(key, default)
        if value not in choices:
            self.bad(key, f"one of {', '.join(choices)}, not {value!r}")
            return default
        return str(value)

    def by_hour(self, key: str, whole: bool) -> tuple[float, ...] | None:
        """One number for every hour, or a list of 24 (hour 0 first)."""
        value = self.raw[key]
        values = [value] * 24 if not isinstance(value, list | CommentedSeq) else list(value)
        kind = "whole numbers" if whole else "numbers"
        if len(values) != 24 or any(isinstance(v, bool) or not isinstance(v, int | float) or
                                    (whole and not isinstance(v, int)) or not math.isfinite(v)
                                    or v < 0 for v in values):
            self.bad(key, f"one number, or a list of 24 {kind} 0 or more (hour 0 to 23)")
            return None
        return tuple(float(v) for v in values)

    def shares(self, key: str, pattern: re.Pattern[str], what: str
               ) -> list[tuple[str, Any]] | None:
        value = self.raw.get(key)
        if not isinstance(value, dict) or not value or not all(
                isinstance(k, str) and pattern.fullmatch(k) for k in value):
            example = "{general: 0.7, billing: 0.3}" if what == "skills" else \
                "{vi: 0.97, en: 0.03}"
            self.bad(key, f"a mapping of {what} to shares, e.g. {example}")
            return None
        return list(value.items())

    # the whole scenario

    def scenario(self, folder: Path, default_roster: Path | None, source: str
                 ) -> Scenario | None:
        raw = self.raw
        for key in raw:
            if key not in KEYS:
                self.bad(key, f"unknown setting (one of {', '.join(KEYS)})")
        d = Scenario()
        rates = self.load()
        operators, roster, staffing = self.operators(folder, default_roster)
        aht = self.number("aht", d.aht_s, above=True)
        wrap_up = self.number("wrap_up", d.wrap_up_s)
        mix = self.skill_mix(wrap_up)
        if wrap_up >= aht:
            self.bad("wrap_up", f"the wrap-up ({wrap_up:g} s) is part of the handle time "
                                f"(aht {aht:g} s): it must be shorter")
        languages = d.languages
        if "languages" in raw:
            found = self.shares("languages", _LANGUAGE, "languages")
            if found is not None:
                languages = tuple(self.normalised("languages", found))
        factors: tuple[tuple[int, float], ...] = ()
        if "handle_factor" in raw:
            factors = self.factors()
        hazard_skill = raw.get("hazard_skill", d.hazard_skill)
        if not isinstance(hazard_skill, str) or not _SKILL.fullmatch(hazard_skill):
            self.bad("hazard_skill", f"a skill name, not {hazard_skill!r}")
            hazard_skill = d.hazard_skill
        description = raw.get("description", "")
        values: dict[str, Any] = {
            "hours": self.whole("hours", d.hours, low=1),
            "start_hour": self.whole("start_hour", d.start_hour, high=23),
            "warm_up_hours": self.whole("warm_up_hours", d.warm_up_hours),
            "service": self.choice("service", d.service, SERVICES),
            "service_cv": self.number("service_cv", d.service_cv, above=True, high=10),
            "patience_s": self.number("patience", d.patience_s, above=True, infinite=True),
            "threshold_s": self.number("threshold", d.threshold_s),
            "short_abandon_s": self.number("short_abandon", d.short_abandon_s),
            "hazard_share": self.number("hazard_share", d.hazard_share, high=1),
            "hazard_priority": self.whole("hazard_priority", d.hazard_priority, high=10),
            "self_service": self.number("self_service", d.self_service, high=1),
            "ivr_lines": self.whole("ivr_lines", d.ivr_lines, low=1),
            "ivr_time_s": self.number("ivr_time", d.ivr_time_s),
            "ring_time_s": self.number("ring_time", d.ring_time_s),
            "no_answer": self.number("no_answer", d.no_answer, high=0.99),
            "ring_timeout_s": self.number("ring_timeout", d.ring_timeout_s, above=True),
            "max_missed": self.whole("max_missed", d.max_missed, low=1),
            "max_queue": self.whole("max_queue", d.max_queue, low=1),
            "routing": self.choice("routing", d.routing, ROUTINGS),
            "seed": self.whole("seed", d.seed, low=-(2 ** 63)),
        }
        if values["warm_up_hours"] >= values["hours"]:
            self.bad("warm_up_hours", f"fewer than the hours simulated ({values['hours']})")
        if self.problems or rates is None:
            return None
        return Scenario(calls_per_hour=rates, operators=operators, roster=roster,
                        staffing=staffing, aht_s=aht, wrap_up_s=wrap_up, skill_mix=mix,
                        languages=languages, handle_factor=factors, hazard_skill=hazard_skill,
                        description=str(description), source=source,
                        **values)

    def load(self) -> tuple[float, ...] | None:
        raw = self.raw
        if "calls_per_hour" in raw:
            for other in ("calls_per_day", "hourly_profile"):
                if other in raw:
                    self.bad(other, "give calls_per_hour, or calls_per_day (with an "
                                    "hourly_profile), not both")
            return self.by_hour("calls_per_hour", whole=False)
        if "calls_per_day" in raw:
            per_day = self.number("calls_per_day", 0.0)
            profile: tuple[float, ...] | None = (1.0,) * 24
            if "hourly_profile" in raw:
                profile = self.by_hour("hourly_profile", whole=False)
                if profile is not None and not sum(profile):
                    self.bad("hourly_profile", "the shares of the hours add up to nothing")
                    profile = None
            if profile is None:
                return None
            total = sum(profile)
            return tuple(per_day * share / total for share in profile)
        if "hourly_profile" in raw:
            self.bad("hourly_profile", "shares of calls_per_day: give calls_per_day too")
            return None
        return Scenario().calls_per_hour

    def operators(self, folder: Path, default_roster: Path | None
                  ) -> tuple[int | None, Path | None, tuple[int, ...] | None]:
        raw = self.raw
        if "operators" in raw:
            for other in ("staffing", "shifts", "roster"):
                if other in raw:
                    self.bad(other, "operators (M operators who take any call) replaces the "
                                    "roster: give one or the other")
            count = self.whole("operators", 1, low=1)
            return count, None, (count,) * 24
        roster = default_roster
        if "roster" in raw:
            if not isinstance(raw["roster"], str) or not raw["roster"]:
                self.bad("roster", "the path of an operators file (e.g. ../agents.yaml)")
            else:
                roster = folder / raw["roster"]
        staffing: tuple[int, ...] | None = None
        if "staffing" in raw and "shifts" in raw:
            self.bad("shifts", "give staffing or shifts, not both")
        elif "staffing" in raw:
            values = self.by_hour("staffing", whole=True)
            staffing = tuple(int(v) for v in values) if values is not None else None
        elif "shifts" in raw:
            staffing = self.shifts()
        return None, roster, staffing

    def shifts(self) -> tuple[int, ...] | None:
        value = self.raw["shifts"]
        example = "a list of {start: 6, end: 14, operators: 20} (hours 0-24; a shift may " \
                  "run past midnight: {start: 22, end: 6, ...})"
        if not isinstance(value, list) or not value:
            self.bad("shifts", example)
            return None
        per_hour = [0] * 24
        for shift in value:
            if not isinstance(shift, dict) or set(shift) != {"start", "end", "operators"} or \
                    not all(isinstance(shift[k], int) and not isinstance(shift[k], bool)
                            for k in shift) or not 0 <= shift["start"] <= 23 or \
                    not 0 <= shift["end"] <= 24 or shift["operators"] < 0 or \
                    shift["start"] == shift["end"] % 24:
                self.bad("shifts", example)
                return None
            hour = shift["start"]
            while hour != shift["end"] % 24:
                per_hour[hour] += shift["operators"]
                hour = (hour + 1) % 24
        return tuple(per_hour)

    def skill_mix(self, wrap_up: float) -> tuple[SkillDemand, ...]:
        if "skill_mix" not in self.raw:
            return Scenario().skill_mix
        found = self.shares("skill_mix", _SKILL, "skills")
        if found is None:
            return Scenario().skill_mix
        shares: list[tuple[str, Any]] = []
        handle: dict[str, float] = {}
        for skill, value in found:
            if isinstance(value, dict):
                if set(value) - {"share", "aht"} or "share" not in value:
                    self.bad("skill_mix", f"{skill}: a share, or {{share: 0.3, aht: 240}}")
                    continue
                aht = value.get("aht")
                if aht is not None:
                    if isinstance(aht, bool) or not isinstance(aht, int | float) or \
                            aht <= wrap_up:
                        self.bad("skill_mix", f"{skill}: aht is seconds, more than the "
                                              f"wrap-up ({wrap_up:g} s)")
                    else:
                        handle[skill] = float(aht)
                value = value["share"]
            shares.append((skill, value))
        normalised = self.normalised("skill_mix", shares)
        return tuple(SkillDemand(skill, share, handle.get(skill)) for skill, share in normalised)

    def normalised(self, key: str, shares: list[tuple[str, Any]]) -> list[tuple[str, float]]:
        if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
               or v < 0 for _, v in shares) or not sum(v for _, v in shares):
            self.bad(key, "shares are numbers 0 or more, not all 0 (they are made to sum to 1)")
            return [(name, 1.0 / len(shares)) for name, _ in shares]
        total = sum(v for _, v in shares)
        return [(name, v / total) for name, v in shares]

    def factors(self) -> tuple[tuple[int, float], ...]:
        value = self.raw["handle_factor"]
        if not isinstance(value, dict) or not all(
                isinstance(k, int) and 0 <= k <= 5 and not isinstance(v, bool) and
                isinstance(v, int | float) and 0 < v < 100 for k, v in value.items()):
            self.bad("handle_factor", "a mapping of proficiency (0-5; 0: an operator without the "
                                      "skill) to a factor on the talk time, e.g. {5: 0.8, 1: 1.3}")
            return ()
        return tuple(sorted((int(k), float(v)) for k, v in value.items()))
