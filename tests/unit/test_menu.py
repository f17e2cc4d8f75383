"""Loading and validating menu files: every problem an admin can make is reported with the file,
the 1-based line and column of the offending text, and what to do; the shipped menu validates
against the shipped prompt catalogue."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from ivr.menu import MAX_FILE_BYTES, MenuError, load_menu, parse_duration_ms
from ivr.prompts import load_catalogue

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "dialplans" / "19001122.yaml"
CATALOGUE = ROOT / "prompts" / "catalogue.yaml"


def problems(tmp_path: Path, content: str | bytes,
             known_prompts: set[str] | None = None) -> list[tuple[int, int, str]]:
    path = tmp_path / "menu.yaml"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with pytest.raises(MenuError) as caught:
        load_menu(path, known_prompts)
    assert all(p.file == str(path) for p in caught.value.problems)
    assert caught.value.code == "ivr.menu_invalid"
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def located(found: list[tuple[int, int, str]], expected: list[tuple[int, int, str]]) -> None:
    """Same problems at the same places; each message contains the expected phrase."""
    assert [(line, column) for line, column, _ in found] == [(l, c) for l, c, _ in expected]
    for (_, _, message), (_, _, phrase) in zip(found, expected):
        assert phrase in message


# Each case: the file as an admin wrote it, and (line, column, phrase) for each problem.
# The comment at the end of a line marks the column the problem must point at.
CASES: dict[str, tuple[str, list[tuple[int, int, str]]]] = {
    "YAML syntax error": ("""\
hotline: "19001122"
start: welcome: main
nodes:
  welcome: {type: hangup}
""", [(2, 15, "YAML syntax: mapping values are not allowed here")]),

    "duplicate node": ("""\
hotline: "19001122"
start: bye
nodes:
  bye: {type: hangup}
  bye: {type: hangup, prompts: [goodbye]}
""", [(5, 3, 'YAML syntax: found duplicate key "bye"')]),

    "retries written as a word": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    retries: two
    options: {"1": bye}
  bye: {type: hangup}
""", [(7, 14, "node 'main': 'retries' must be a whole number 0-9")]),

    "timeout written as a word": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    timeout: soon
    options: {"1": bye}
  bye: {type: hangup}
""", [(7, 14, "node 'main': bad duration 'soon' for 'timeout' (write e.g. 5s or 1500ms")]),

    "timeout out of range": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    timeout: 90s
    options: {"1": bye}
  bye: {type: hangup}
""", [(6, 14, "between 0.5s and 60s")]),

    "options as a list": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    options: [bye]
    on_no_input: bye
  bye: {type: hangup}
""", [(7, 14, "node 'main': a menu needs 'options' (key: node)")]),

    "menu without options": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
""", [(5, 5, "node 'main': a menu needs 'options'")]),

    "unknown node in options": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options:
      "1": bye
      "2": bil
  bye: {type: hangup}
""", [(8, 12, "node 'main': unknown node 'bil'")]),

    "unknown node in next": ("""\
hotline: "19001122"
start: welcome
nodes:
  welcome:
    type: play
    next: mian
""", [(6, 11, "node 'welcome': unknown node 'mian'")]),

    "unknown node in on_no_input": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options: {"1": bye}
    on_no_input: good_bye
  bye: {type: hangup}
""", [(7, 18, "node 'main': unknown node 'good_bye'")]),

    "play node without next": ("""\
hotline: "19001122"
start: welcome
nodes:
  welcome:
    type: play
    prompts: [welcome]
""", [(5, 5, "node 'welcome': missing 'next'")]),

    "unreachable node": ("""\
hotline: "19001122"
start: bye
nodes:
  bye: {type: hangup}
  orphan:
    type: hangup
""", [(5, 3, "node 'orphan' is unreachable from 'start' ('bye')")]),

    "option key A": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options:
      "1": bye
      A: bye
  bye: {type: hangup}
""", [(8, 7, "node 'main': option key 'A' is not one of 0-9 * #")]),

    "option key 12": ("""\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options:
      12: bye
  bye: {type: hangup}
""", [(7, 7, "option key '12' is not one of 0-9 * #")]),

    "unknown field in a node": ("""\
hotline: "19001122"
start: bye
nodes:
  bye:
    type: hangup
    promts: [goodbye]
""", [(6, 5, "node 'bye': 'promts' is not a field of a hangup node")]),

    "field of another kind of node": ("""\
hotline: "19001122"
start: bye
nodes:
  bye:
    type: hangup
    queue: operators
""", [(6, 5, "node 'bye': 'queue' is not a field of a hangup node")]),

    "unknown node type": ("""\
hotline: "19001122"
start: bye
nodes:
  bye:
    type: hangoff
""", [(5, 11, ("node 'bye': 'type' must be one of play, menu, collect, confirm, action, "
           "language, condition, transfer, hangup, got 'hangoff'"))]),

    "node that is not a mapping": ("""\
hotline: "19001122"
start: bye
nodes:
  bye: hangup
""", [(4, 8, "node 'bye' must be a mapping")]),

    "bad node id": ("""\
hotline: "19001122"
start: good-bye
nodes:
  good-bye: {type: hangup}
""", [(4, 3, "bad node id 'good-bye'")]),

    "unknown top-level key": ("""\
hotline: "19001122"
start: bye
greeting: welcome
nodes:
  bye: {type: hangup}
""", [(3, 1, "unknown top-level key 'greeting'")]),

    "missing start": ("""\
# the 19001122 menu
hotline: "19001122"
nodes:
  bye: {type: hangup}
""", [(2, 1, "'start' must name a node, got None")]),

    "start names no node": ("""\
hotline: "19001122"
start: welcom
nodes:
  bye: {type: hangup}
""", [(2, 8, "'start' must name a node, got 'welcom'")]),

    "missing nodes": ("""\
hotline: "19001122"
start: welcome
""", [(1, 1, "missing 'nodes': a mapping of node id to node")]),

    "empty nodes": ("""\
hotline: "19001122"
start: welcome
nodes: {}
""", [(3, 8, "missing 'nodes'")]),

    "missing hotline": ("""\
start: bye
nodes:
  bye: {type: hangup}
""", [(1, 1, "missing 'hotline' (the number this menu answers)")]),

    "empty file": ("", [(1, 1, "a menu file must be a mapping with 'hotline', 'start' and 'nodes'")]),
    "comments only": ("# nothing here yet\n", [(1, 1, "a menu file must be a mapping")]),
    "a list, not a mapping": ("- welcome\n- main\n", [(1, 1, "a menu file must be a mapping")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_problem_is_located(tmp_path: Path, case: str) -> None:
    content, expected = CASES[case]
    located(problems(tmp_path, content), expected)


def test_missing_prompts_are_located_in_flow_and_block_lists_and_plain_text(
        tmp_path: Path) -> None:
    known = set(load_catalogue(CATALOGUE))
    content = """\
hotline: "19001122"
start: welcome
nodes:
  welcome:
    type: play
    prompts: [welcome, welcom_2]
    next: main
  main:
    type: menu
    prompts: main_menu_v2
    options: {"1": bye}
    no_input_prompts: [no_input]
    invalid_prompts: [invalid_choice, try_again]
  bye:
    type: hangup
    prompts:
      - goodbye
      - good_bye
"""
    located(problems(tmp_path, content, known), [
        (6, 24, "node 'welcome': missing prompt 'welcom_2' (add it to prompts/catalogue.yaml"),
        (10, 14, "node 'main': missing prompt 'main_menu_v2'"),
        (13, 39, "node 'main': missing prompt 'try_again'"),
        (18, 9, "node 'bye': missing prompt 'good_bye'"),
    ])


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    content = """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    retries: 10
    options:
      "1": bil
      B: bye
  bye:
    type: hangup
    next: main
"""
    found = problems(tmp_path, content)
    located(found, [
        (6, 14, "'retries' must be a whole number 0-9"),
        (8, 12, "unknown node 'bil'"),
        (9, 7, "option key 'B'"),
        (12, 5, "'next' is not a field of a hangup node"),
    ])
    path = tmp_path / "menu.yaml"
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert str(caught.value).splitlines() == [f"{path}:{line}:{column}: {message}"
                                              for line, column, message in found]


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    content = b'hotline: "19001122"\nstart: bye\n# ch\xe0o\nnodes:\n  bye: {type: hangup}\n'
    located(problems(tmp_path, content), [(3, 5, "not UTF-8 text: save the file as UTF-8")])


def test_non_utf8_column_counts_characters_like_every_other_location(tmp_path: Path) -> None:
    content = 'hotline: "19001122"\n# Tổng đài '.encode() + b"\xe0\n"
    # '# Tổng đài ' is 11 characters (15 bytes): the bad byte is the 12th character
    located(problems(tmp_path, content), [(2, 12, "not UTF-8 text")])


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    content = b"# " + b"x" * (MAX_FILE_BYTES - 2) + b"\n"
    assert len(content) == MAX_FILE_BYTES + 1
    located(problems(tmp_path, content),
            [(1, 1, f"file is {MAX_FILE_BYTES + 1} bytes; a menu may be at most {MAX_FILE_BYTES}")])


def test_a_file_exactly_at_the_size_limit_is_parsed(tmp_path: Path) -> None:
    # the parser stops at the first error, so a large file with an early mistake stays cheap
    content = b'hotline: "19001122"\nstart: welcome: main\n'
    content += b"#" * (MAX_FILE_BYTES - len(content) - 1) + b"\n"
    assert len(content) == MAX_FILE_BYTES
    located(problems(tmp_path, content), [(2, 15, "YAML syntax")])


def test_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match="cannot read the file: No such file or directory"):
        load_menu(tmp_path / "absent.yaml")


# --- product bugs, pinned -----------------------------------------------------------------------

def test_a_numeric_node_id_is_a_located_problem_not_a_crash(tmp_path: Path) -> None:
    content = """\
hotline: "19001122"
start: welcome
nodes:
  welcome: {type: play, next: "1"}
  1: {type: hangup}
"""
    located(problems(tmp_path, content), [(4, 31, "unknown node '1'"), (5, 3, "bad node id 1")])


def test_an_infinite_timeout_is_a_located_problem_not_a_crash(tmp_path: Path) -> None:
    content = """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    timeout: .inf
    options: {"1": bye}
  bye: {type: hangup}
"""
    located(problems(tmp_path, content), [(6, 14, "bad duration")])


def test_a_key_given_twice_as_number_and_text_does_not_shift_later_locations(
        tmp_path: Path) -> None:
    content = """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options:
      1: bye
      "1": bye
      "2": nowhere
  bye: {type: hangup}
"""
    located(problems(tmp_path, content), [
        (8, 7, "key '1' is used twice"),
        (9, 12, "unknown node 'nowhere'"),
    ])


# --- the shipped menu -------------------------------------------------------------------------

def test_the_shipped_menu_validates_against_the_prompt_catalogue() -> None:
    catalogue = load_catalogue(CATALOGUE)
    menu = load_menu(SHIPPED, set(catalogue))
    assert (menu.hotline, menu.start, menu.source) == ("19001122", "opening", str(SHIPPED))
    assert menu.version == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()[:12]
    assert menu.prompt_ids() <= set(catalogue)
    assert menu.languages == ("vi", "en")
    assert menu.keys == {"0": "operator", "*": "repeat", "#": "back"}
    main = menu.node("main")
    assert (main.kind, main.options, main.timeout_ms, main.retries) == (
        "menu", {"1": "want_outages", "2": "want_bill", "3": "report_menu", "4": "ask_request",
                 "5": "service_menu", "6": "advice_tips", "7": "products_info",
                 "9": "english"}, 5000, 2)
    assert (main.on_no_input, main.on_invalid) == ("goodbye", "offer_operator")
    assert menu.node("goodbye").kind == "hangup"
    hazard = menu.node("hazard_operator")
    assert (hazard.kind, hazard.skills, hazard.priority) == ("transfer", ("outage",), 10)


def test_the_version_changes_with_the_bytes_of_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "19001122.yaml"
    copy.write_bytes(SHIPPED.read_bytes() + b"# reviewed\n")
    assert load_menu(copy).version != load_menu(SHIPPED).version


# --- durations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, ms", [
    ("5s", 5000), ("1500ms", 1500), ("2m", 120000), ("0.5s", 500), ("1.5", 1500),
    (" 5s ", 5000), ("5 s", 5000), ("0", 0), (5, 5000), (0.75, 750), (0, 0),
    ("1.5ms", 1),
])
def test_durations(value: Any, ms: int) -> None:
    assert parse_duration_ms(value) == ms


@pytest.mark.parametrize("value", [
    "soon", "", "5S", "5sec", "-1s", "1e3", ".5s", "5.s", "5s5", None, True, False, -1, -0.5,
    float("nan"), [5], {"s": 5},
])
def test_not_durations(value: Any) -> None:
    assert parse_duration_ms(value) is None


@pytest.mark.parametrize("value", [float("inf"), "9" * 400 + "s"], ids=["inf", "400 nines"])
def test_infinity_is_not_a_duration(value: Any) -> None:
    assert parse_duration_ms(value) is None
