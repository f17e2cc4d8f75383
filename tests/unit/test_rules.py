"""Request rules from dialplans/requests.yaml: deadlines, escalation thresholds, priorities."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from records.errors import RulesError
from records.rules import BUILT_IN, DEFAULT_RULES, REQUEST_TYPES, load_rules

SHIPPED = Path(__file__).parents[2] / "dialplans" / "requests.yaml"


def test_the_shipped_rules_match_the_documented_defaults() -> None:
    rules = load_rules(SHIPPED)
    assert set(rules.types) == set(REQUEST_TYPES)
    for request_type in REQUEST_TYPES:
        assert rules.rule(request_type) == BUILT_IN[request_type], request_type


def test_no_file_means_the_built_in_rules(tmp_path: Path) -> None:
    assert load_rules(tmp_path / "missing.yaml") == DEFAULT_RULES


@pytest.mark.parametrize("age_s, level", [(-3 * 3600, 0), (-1801, 0), (-1800, 1), (-1, 1),
                                          (0, 2), (3599, 2), (3600, 3), (86400 * 5, 3)])
def test_escalation_levels_for_a_hazard(age_s: float, level: int) -> None:
    assert DEFAULT_RULES.escalation_level("hazard", age_s) == level


def test_types_not_listed_take_the_file_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("defaults: {deadline: 10h, priority: 1}\ntypes:\n  hazard: {deadline: 1h}\n")
    rules = load_rules(path)
    assert rules.rule("advice").deadline == timedelta(hours=10)
    assert rules.rule("advice").priority == 1
    assert rules.rule("hazard").deadline == timedelta(hours=1)
    assert rules.rule("hazard").priority == 1  # inherited from the file's defaults


@pytest.mark.parametrize("text, where, phrase", [
    ("types:\n  hazard: {deadline: soon}\n", "2:22", "bad duration 'soon'"),
    ("types:\n  pizza: {deadline: 1h}\n", "2:10", "unknown request type 'pizza'"),
    ("types:\n  hazard:\n    priority: 11\n", "3:15", "priority must be 0-10"),
    ("types:\n  hazard:\n    forward: maybe\n", "3:14", "forward must be yes or no"),
    ("types:\n  hazard:\n    colour: red\n", "3:13", "unknown setting 'colour'"),
    ("types: [\n", "2:1", "YAML syntax"),
    ("- a list\n", "1:1", "must be a mapping"),
])
def test_broken_rules_name_file_line_and_column(tmp_path: Path, text: str, where: str,
                                                phrase: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert f"{path}:{where}" in str(caught.value)
    assert phrase in str(caught.value)
