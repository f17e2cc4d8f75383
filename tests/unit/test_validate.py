"""Whole-menu checks, each problem located at the line of the node it is about: nodes nothing
leads to, loops a caller can never leave, announcements that repeat without waiting, variables
nothing sets, retry prompts the catalogue lacks, skills no operator has and audio not built yet.

Then a corpus of broken menu files (``tests/fixtures/menus/``, one mistake an admin makes per
file) that :func:`ivr.menus.load_checked` and ``hotline ivr validate`` must refuse with a precise
location, while the shipped menu passes."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.menu import MAX_FILE_BYTES, Menu, MenuError, Problem, load_menu
from ivr.menus import MenuFiles, load_checked
from ivr.prompts import load_catalogue, load_words
from ivr.validate import check_audio, check_skills, unused_skills

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "dialplans" / "19001122.yaml"
CATALOGUE = ROOT / "prompts" / "catalogue.yaml"
WORDS = ROOT / "prompts" / "words.yaml"
AGENTS = ROOT / "dialplans" / "agents.yaml"
CORPUS = ROOT / "tests" / "fixtures" / "menus"
HOTLINE = Path(sys.executable).with_name("hotline")

Located = list[tuple[int, int, str]]


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "menu.yaml"
    path.write_text(content, encoding="utf-8")
    return path


def problems(tmp_path: Path, content: str, known_prompts: set[str] | None = None) -> Located:
    path = write(tmp_path, content)
    with pytest.raises(MenuError) as caught:
        load_menu(path, known_prompts)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def located(found: Located, expected: Located) -> None:
    """Same problems at the same places; each message contains the expected phrase."""
    assert [(line, column) for line, column, _ in found] == [(l, c) for l, c, _ in expected], (
        found)
    for (_, _, message), (_, _, phrase) in zip(found, expected):
        assert phrase in message


def catalogue() -> set[str]:
    return set(load_catalogue(CATALOGUE))


# --- the graph --------------------------------------------------------------------------------

def test_a_node_nothing_leads_to_is_unreachable(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options: {"1": outages, "2": bye}
  outages: {type: play, next: main}
  orphan:
    type: play
    next: bye
  orphan_menu: {type: menu, options: {"1": orphan}}
  bye: {type: hangup}
"""), [(8, 3, "node 'orphan' is unreachable from 'start' ('main')"),
       (11, 3, "node 'orphan_menu' is unreachable from 'start' ('main')")])


def test_a_node_only_a_global_key_leads_to_is_reachable(tmp_path: Path) -> None:
    menu = load_menu(write(tmp_path, """\
hotline: "19001122"
start: main
keys: {"0": operator}
nodes:
  main: {type: menu, options: {"1": bye}}
  operator: {type: transfer}
  bye: {type: hangup}
"""))
    assert set(menu.nodes) == {"main", "operator", "bye"}


def test_a_loop_of_menus_with_no_hangup_or_transfer(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    options: {"1": bill, "2": after}
    on_no_input: after
    on_invalid: main
  bill: {type: play, next: after}
  after:
    type: menu
    options: {"1": main}
    on_no_input: main
"""), [(4, 3, "node 'main' is in a loop with no exit: no hangup or transfer can follow it"),
       (9, 3, "node 'bill' is in a loop with no exit"),
       (10, 3, "node 'after' is in a loop with no exit")])


def test_only_the_nodes_that_cannot_end_the_call_are_in_the_loop(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main: {type: menu, options: {"1": maze, "2": bye}}
  maze: {type: menu, options: {"1": maze_2}}
  maze_2: {type: menu, options: {"1": maze}, on_no_input: maze}
  bye: {type: hangup}
"""), [(5, 3, "node 'maze' is in a loop with no exit"),
       (6, 3, "node 'maze_2' is in a loop with no exit")])


def test_a_global_key_is_a_way_out_of_a_loop(tmp_path: Path) -> None:
    load_menu(write(tmp_path, """\
hotline: "19001122"
start: main
keys: {"0": operator, "*": repeat}
nodes:
  main: {type: menu, options: {"1": other}}
  other: {type: menu, options: {"1": main}}
  operator: {type: transfer}
"""))


def test_a_node_without_the_global_keys_gets_no_way_out_from_them(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
keys: {"0": operator}
nodes:
  main: {type: menu, options: {"1": locked}}
  locked:
    type: menu
    keys: no
    options: {"1": locked}
  operator: {type: transfer}
"""), [(6, 3, "node 'locked' is in a loop with no exit")])


def test_an_announcement_that_repeats_without_waiting(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main: {type: menu, options: {"1": news, "2": bye}}
  news: {type: play, next: check}
  check:
    type: condition
    branches:
      - when: {holiday: yes}
        goto: bye
    otherwise: news
  bye: {type: hangup}
"""), [(6, 3, "a loop with no exit: check -> news -> check never waits for the caller")])


def test_a_lookup_that_retries_itself_without_waiting(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: lookup
nodes:
  lookup:
    type: action
    action: bill_status
    on: {found: bye, unavailable: sorry}
    next: bye
  sorry: {type: play, next: switch}
  switch: {type: language, language: en, next: lookup}
  bye: {type: hangup}
"""), [(4, 3, "a loop with no exit: lookup -> sorry -> switch -> lookup never waits")])


def test_a_loop_through_a_menu_waits_for_the_caller(tmp_path: Path) -> None:
    load_menu(write(tmp_path, """\
hotline: "19001122"
start: news
nodes:
  news: {type: play, next: again}
  again: {type: menu, options: {"1": news, "2": bye}}
  bye: {type: hangup}
"""))


# --- variables --------------------------------------------------------------------------------

def test_variables_nothing_sets(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main:
    type: play
    prompts: [bill_latest_is, {say: money, value: bil.amount}, {choose: mood, prompts: {x: a}}]
    next: check
  check:
    type: condition
    branches:
      - when: {var: tries, gt: 2}
        goto: bye
    otherwise: find
  find:
    type: action
    action: find_customer
    args: {code: $customer_code}
    next: list
  list:
    type: play
    prompts: [{each: outages, prompts: [{say: date, value: item.date}]}]
    next: bye
  bye: {type: hangup}
"""), [(4, 3, "node 'main': unknown variable 'bil.amount' (known: caller, customer, features, language)"),
       (4, 3, "node 'main': unknown variable 'mood'"),
       (8, 3, "node 'check': unknown variable 'tries'"),
       (14, 3, "node 'find': unknown variable 'customer_code'"),
       (19, 3, "node 'list': unknown variable 'outages'")])


def test_variables_from_actions_collects_sets_and_each_are_known(tmp_path: Path) -> None:
    load_menu(write(tmp_path, """\
hotline: "19001122"
start: code
nodes:
  code: {type: collect, store: customer_code, next: find}
  find:
    type: action
    action: find_customer
    args: {code: $customer_code}
    set: {tries: "+1"}
    next: outages
  outages:
    type: action
    action: planned_outages
    next: list
  list:
    type: play
    prompts:
      - {say: digits, value: caller}
      - {choose: language, prompts: {vi: a, en: b}}
      - {say: number, value: tries}
      - each: outages
        prompts: [{say: date, value: item.date}, {say: digits, value: customer.code}]
    next: bye
  bye: {type: hangup}
"""))


def test_item_outside_a_list_is_unknown(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main: {type: play, prompts: [{say: date, value: item.date}], next: bye}
  bye: {type: hangup}
"""), [(4, 3, "node 'main': unknown variable 'item.date'")])


def test_a_variable_that_only_starts_like_item_is_checked(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: outages
nodes:
  outages: {type: action, action: planned_outages, next: list}
  list:
    type: play
    prompts: [{each: outages, prompts: [{say: number, value: itemcount}]}]
    next: bye
  bye: {type: hangup}
"""), [(5, 3, "node 'list': unknown variable 'itemcount'")])


def test_every_variable_an_action_sets_is_known(tmp_path: Path) -> None:
    load_menu(write(tmp_path, """\
hotline: "19001122"
start: outages
nodes:
  outages: {type: action, action: planned_outages, next: count}
  count: {type: play, prompts: [{say: number, value: outage_count}], next: bye}
  bye: {type: hangup}
"""))


# --- default retry prompts ----------------------------------------------------------------------

def test_a_default_retry_prompt_missing_from_the_catalogue(tmp_path: Path) -> None:
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    options: {"1": code}
  code:
    type: collect
    prompts: [enter_customer_code]
    store: customer_code
    no_input_prompts: [enter_customer_code]   # its own: only the default invalid prompt
    next: bye
  bye: {type: hangup}
""", catalogue() - {"no_input", "invalid_choice"}), [
        (4, 3, ("node 'main': missing prompt 'no_input' (the default no_input_prompts; add it "
               "to prompts/catalogue.yaml or set no_input_prompts)")),
        (4, 3, ("node 'main': missing prompt 'invalid_choice' (the default invalid_prompts; "
               "add it to prompts/catalogue.yaml or set invalid_prompts)")),
        (8, 3, "node 'code': missing prompt 'invalid_choice' (the default invalid_prompts"),
    ])


def test_a_missing_prompt_the_admin_wrote_is_reported_first(tmp_path: Path) -> None:
    """The graph is checked once every node loads: fix the file, then hear about defaults."""
    located(problems(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    options: {"1": bye}
    no_input_prompts: [no_input]
  bye: {type: hangup}
""", catalogue() - {"no_input", "invalid_choice"}), [
        (8, 24, "node 'main': missing prompt 'no_input' (add it to prompts/catalogue.yaml")])


# --- operators' skills --------------------------------------------------------------------------

SKILLED = """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    options: {"1": meters, "2": billing, "3": operator}
  meters:
    type: transfer
    prompts: [transfer_operator]
    skills: [metering, general]
  billing: {type: transfer, prompts: [transfer_operator], skills: [billing, solar]}
  operator: {type: transfer, prompts: [transfer_operator], skills: [general]}
"""


def test_a_skill_no_operator_has_is_located_at_the_transfer(tmp_path: Path) -> None:
    path = write(tmp_path, SKILLED)
    with pytest.raises(MenuError) as caught:
        load_checked(MenuFiles(path, CATALOGUE, AGENTS))
    assert caught.value.problems == [
        Problem(str(path), 8, 3, f"node 'meters': no operator has skill 'metering' (see "
                                 f"{AGENTS})"),
        Problem(str(path), 12, 3, f"node 'billing': no operator has skill 'solar' (see "
                                  f"{AGENTS})"),
    ]


def test_check_skills_compares_with_the_skills_given(tmp_path: Path) -> None:
    menu = load_menu(write(tmp_path, SKILLED))
    assert check_skills(menu, {"metering", "general", "billing", "solar"}, "agents.yaml") == []
    assert [str(p) for p in check_skills(menu, {"general", "billing"}, "agents.yaml")] == [
        f"{menu.source}:8:3: node 'meters': no operator has skill 'metering' (see agents.yaml)",
        f"{menu.source}:12:3: node 'billing': no operator has skill 'solar' (see agents.yaml)",
    ]


def test_a_skill_no_menu_path_reaches_is_a_warning_that_names_its_operators(
        tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents:\n"
                      "  op01: {name: An, skills: {general: 3, advice: 2}, languages: [vi]}\n"
                      "  op02: {name: Bình, skills: {general: 3, advice: 4, metering: 1,\n"
                      "         billing: 2, solar: 1}, languages: [vi]}\n", encoding="utf-8")
    path = write(tmp_path, SKILLED)
    menu = load_checked(MenuFiles(path, CATALOGUE, agents))  # served all the same
    assert [str(w) for w in menu.warnings] == [
        (f"{path}:1:1: warning: no menu path reaches skill 'advice' of op01, op02 ({agents}): "
         "add a transfer with 'skills: [advice]', or take the skill out of that file")]


def test_a_transfer_counts_only_when_a_call_can_reach_it(tmp_path: Path) -> None:
    menu = load_menu(write(tmp_path, SKILLED))
    operators = {"general": ["op01"], "billing": ["op02"], "solar": ["op02"],
                 "metering": [f"op{n:02d}" for n in range(3, 10)]}
    assert unused_skills(menu, operators, "agents.yaml") == []
    cut = Menu(menu.hotline, menu.start, {**menu.nodes, "main": replace(
        menu.nodes["main"], options={"1": "operator"})}, menu.source, menu.version)
    assert [w.message for w in unused_skills(cut, operators, "agents.yaml")] == [
        ("warning: no menu path reaches skill 'billing' of op02 (agents.yaml): add a transfer "
         "with 'skills: [billing]', or take the skill out of that file"),
        ("warning: no menu path reaches skill 'metering' of op03, op04, op05, op06, op07 and 2 "
         "more (agents.yaml): add a transfer with 'skills: [metering]', or take the skill out "
         "of that file"),
        ("warning: no menu path reaches skill 'solar' of op02 (agents.yaml): add a transfer "
         "with 'skills: [solar]', or take the skill out of that file")]


def test_a_broken_operators_file_is_a_problem_of_the_menu(tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    agents.write_text("agents:\n  op01: {name: An, skills: {general: 9}, languages: [vi]}\n",
                      encoding="utf-8")
    with pytest.raises(MenuError, match="the operators file is broken: .*proficiency"):
        load_checked(MenuFiles(SHIPPED, CATALOGUE, agents))


# --- audio --------------------------------------------------------------------------------------

def built_sounds(folder: Path, prompts: set[str]) -> Path:
    """A sounds folder as ``hotline prompts build`` leaves it: every prompt and word, vi and en."""
    for language, words in load_words(WORDS).items():
        (folder / language).mkdir(parents=True)
        for sound in prompts | set(words):
            (folder / language / f"{sound}.wav").write_bytes(b"RIFF")
    return folder


def test_the_shipped_menu_passes_with_every_sound_built(tmp_path: Path) -> None:
    menu = load_menu(SHIPPED, catalogue())
    sounds = built_sounds(tmp_path / "sounds", menu.prompt_ids())
    assert load_checked(MenuFiles(SHIPPED, CATALOGUE, AGENTS, sounds)).version == menu.version


def test_a_missing_prompt_and_a_missing_word_are_reported(tmp_path: Path) -> None:
    menu = load_menu(SHIPPED, catalogue())
    sounds = built_sounds(tmp_path / "sounds", menu.prompt_ids())
    (sounds / "vi" / "goodbye.wav").unlink()
    (sounds / "en" / "num_7.wav").unlink()
    with pytest.raises(MenuError) as caught:
        load_checked(MenuFiles(SHIPPED, CATALOGUE, AGENTS, sounds))
    assert sorted(p.message for p in caught.value.problems) == [
        "no en audio for word 'num_7': run 'hotline prompts build'",
        "no vi audio for prompt 'goodbye': run 'hotline prompts build'",
    ]
    goodbye = next(p for p in caught.value.problems if "goodbye" in p.message)
    assert (goodbye.line, goodbye.column) == menu.positions["goodbye"]  # the node that plays it


def test_words_are_needed_only_by_a_menu_that_speaks_values(tmp_path: Path) -> None:
    menu = load_menu(write(tmp_path, """\
hotline: "19001122"
start: main
nodes:
  main: {type: menu, prompts: [main_menu], options: {"1": bye}}
  bye: {type: hangup, prompts: [goodbye]}
"""))
    sounds = tmp_path / "sounds"
    for language in ("vi", "en"):
        (sounds / language).mkdir(parents=True)
        for prompt in ("main_menu", "goodbye", "no_input", "invalid_choice"):
            (sounds / language / f"{prompt}.wav").write_bytes(b"RIFF")
    assert check_audio(menu, sounds, {"vi": {"num_1"}, "en": {"num_1"}}) == []
    (sounds / "en" / "no_input.wav").unlink()
    assert [p.message for p in check_audio(menu, sounds, {"vi": {"num_1"}})] == [
        "no en audio for prompt 'no_input': run 'hotline prompts build'"]


def test_a_missing_prompt_is_located_at_a_node_that_plays_it(tmp_path: Path) -> None:
    menu = load_menu(SHIPPED, catalogue())
    sounds = built_sounds(tmp_path / "sounds", menu.prompt_ids())
    (sounds / "vi" / "hazard_warning.wav").unlink()
    found = check_audio(menu, sounds, {})
    assert [(p.line, p.column) for p in found] == [menu.positions["hazard_warning"]]


def test_a_language_without_prompts_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, """\
hotline: "19001122"
start: main
languages: [vi, fr]
nodes:
  main: {type: language, language: fr, next: number}
  number: {type: hangup, prompts: [goodbye, {say: digits, value: caller}]}
""")
    with pytest.raises(MenuError) as caught:
        load_checked(MenuFiles(path, CATALOGUE, AGENTS))
    # the languages line, and the node that switches to the refused language
    assert [(p.line, p.column) for p in caught.value.problems] == [(3, 12), (5, 36)]


# --- a corpus of broken files ---------------------------------------------------------------------

# Each file in tests/fixtures/menus: (line, column, phrase) for each problem load_checked reports.
BROKEN: dict[str, Located] = {
    "syntax-error.yaml": [(10, 10, "YAML syntax: expected ',' or '}', but got ':'")],
    "wrong-types.yaml": [
        (8, 14, "node 'main': 'retries' must be a whole number 0-9"),
        (9, 14, "node 'main': bad duration 'soon' for 'timeout'"),
        (14, 17, "node 'ask_code': 'max_digits' must be a whole number 1-30"),
        (20, 13, "node 'operator': 'skills' is a list of skill names"),
        (21, 15, "node 'operator': 'priority' must be a whole number 0-10")],
    "dangling-references.yaml": [
        (4, 13, "global key '0': unknown node 'operater' (a node, 'repeat' or 'back')"),
        (9, 45, "node 'main': unknown node 'bil'"),
        (10, 18, "node 'main': unknown node 'good_bye'"),
        (20, 15, "node 'check': unknown node 'holiday_greeting'")],
    "missing-prompts.yaml": [
        (7, 26, "node 'main': missing prompt 'main_menu_v2' (add it to prompts/catalogue.yaml"),
        (9, 39, "node 'main': missing prompt 'try_again'"),
        (19, 44, "node 'bill_info': missing prompt 'bill_overdue'"),
        (29, 61, "node 'outages_list': missing prompt 'outage_ends'")],
    "unreachable-node.yaml": [(9, 3, "node 'old_bill_info' is unreachable from 'start'")],
    "loop-with-no-exit.yaml": [
        (5, 3, "node 'main' is in a loop with no exit: no hangup or transfer can follow it"),
        (11, 3, "node 'report_menu' is in a loop with no exit"),
        (17, 3, "node 'after_info' is in a loop with no exit")],
    "silent-loop.yaml": [
        (13, 3, ("a loop with no exit: again -> outage_info -> again never waits for the "
                "caller"))],
    "non-utf8.yaml": [(1, 4, "not UTF-8 text: save the file as UTF-8")],
    "empty.yaml": [(1, 1, "a menu file must be a mapping with 'hotline', 'start' and 'nodes'")],
    "list-not-mapping.yaml": [(1, 1, "a menu file must be a mapping")],
    "duplicate-keys.yaml": [(10, 3, 'YAML syntax: found duplicate key "goodbye"')],
    "tabs.yaml": [(7, 1, "YAML syntax: found character '\\t' that cannot start any token")],
    "unknown-skill.yaml": [(9, 3, "node 'meters': no operator has skill 'metering'")],
    "unknown-variable.yaml": [
        (9, 3, "node 'check': unknown variable 'bill_total' (known: bill, caller, features, language)"),
        (15, 3, "node 'unpaid': unknown variable 'bil.unpaid_total'")],
    "reserved-node-name.yaml": [(10, 3, "'repeat' is reserved for the global keys")],
    "bad-conditions.yaml": [
        (8, 22, "node 'hours': bad condition days: ['monday', 'fri', 'funday']"),
        (8, 51, "node 'hours': bad condition time: '8:00-17:00'"),
        (10, 22, "node 'hours': bad condition time: '22:00-30:00'"),
        (12, 15, "node 'hours': exists/gt/eq need 'var'")],
    "action-outcomes.yaml": [
        (7, 13, "node 'find': outcomes invalid, many, unavailable lead nowhere"),
        (11, 7, "node 'find': action identify_caller has no outcome 'unknown'")],
    "impossible-date.yaml": [(6, 3, "holiday '2026-02-30' is not a date")],
}


def test_the_corpus_and_its_expectations_match() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(BROKEN)
    assert len(BROKEN) >= 12


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_file_is_refused_with_a_location(name: str) -> None:
    path = CORPUS / name
    with pytest.raises(MenuError) as caught:
        load_checked(MenuFiles(path, CATALOGUE, AGENTS))
    assert all(p.file == str(path) for p in caught.value.problems)
    located([(p.line, p.column, p.message) for p in caught.value.problems], BROKEN[name])


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    nodes = "".join(f"  n{i}: {{type: play, prompts: [welcome], next: n{i + 1}}}\n"
                    for i in range(25_000))
    path.write_text(f'hotline: "19001122"\nstart: n0\nnodes:\n{nodes}', encoding="utf-8")
    size = path.stat().st_size
    assert size > MAX_FILE_BYTES
    with pytest.raises(MenuError) as caught:
        load_checked(MenuFiles(path, CATALOGUE, AGENTS))
    assert caught.value.problems == [Problem(str(path), 1, 1, f"file is {size} bytes; a menu "
                                                              f"may be at most {MAX_FILE_BYTES}")]


def test_the_shipped_menu_passes_every_check() -> None:
    menu = load_checked(MenuFiles(SHIPPED, CATALOGUE, AGENTS))
    assert menu.hotline == "19001122" and "main" in menu.nodes
    assert menu.warnings == ()  # every operator's skill is reached by some menu path


# --- hotline ivr validate -----------------------------------------------------------------------

def validate(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HOTLINE), "ivr", "validate", path], cwd=ROOT, check=False,
                          text=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("name", ["dangling-references.yaml", "tabs.yaml", "unknown-skill.yaml"])
def test_the_command_refuses_a_broken_file_with_its_locations(name: str) -> None:
    relative = f"tests/fixtures/menus/{name}"
    result = validate(relative)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"{len(BROKEN[name])} problem(s); the file was not accepted"
    for line_text, (line, column, phrase) in zip(lines, BROKEN[name]):
        assert line_text.startswith(f"{relative}:{line}:{column}: ")
        assert phrase in line_text
    assert result.stdout == ""


def test_the_command_accepts_a_menu_with_warnings_and_shows_them(tmp_path: Path) -> None:
    path = write(tmp_path, SKILLED.replace("skills: [metering, general]", "skills: [general]")
                 .replace("skills: [billing, solar]", "skills: [general]"))
    result = validate(str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: OK (") and "4 warning(s))" in result.stdout
    assert [line.split(": warning: ")[1].split(" of ")[0] for line in
            result.stderr.splitlines()] == ["no menu path reaches skill 'advice'",
                                            "no menu path reaches skill 'billing'",
                                            "no menu path reaches skill 'new_connection'",
                                            "no menu path reaches skill 'outage'"]


def test_the_command_accepts_the_shipped_menu() -> None:
    result = validate("dialplans/19001122.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dialplans/19001122.yaml: OK (")
    assert result.stderr == ""
