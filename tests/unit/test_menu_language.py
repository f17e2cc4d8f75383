"""The v2 menu language as admins write it: actions and their outcomes, spoken values, choices and
lists, variables set on the way, conditions on the calendar and on variables, languages,
transfers, digit collection, global keys and holidays. Every mistake is reported with the file,
the 1-based line and column of the offending text and a phrase that says what to write instead;
what is right loads into the dataclasses the stepper reads. (The v1 basics are in test_menu.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.menu import (
    Branch,
    Choose,
    Each,
    Menu,
    MenuError,
    Say,
    When,
    load_menu,
)

Located = list[tuple[int, int, str]]


def problems(tmp_path: Path, content: str) -> Located:
    path = tmp_path / "menu.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


def located(found: Located, expected: Located) -> None:
    """Same problems at the same places; each message contains the expected phrase."""
    assert [(line, column) for line, column, _ in found] == [(l, c) for l, c, _ in expected], (
        found)
    for (_, _, message), (_, _, phrase) in zip(found, expected):
        assert phrase in message


def loads(tmp_path: Path, content: str) -> Menu:
    path = tmp_path / "menu.yaml"
    path.write_text(content, encoding="utf-8")
    return load_menu(path)


HEAD = 'hotline: "19001122"\nstart: main\nnodes:\n'  # node text starts on line 4

# Each case: the nodes (or the whole file) as an admin wrote them, and (line, column, phrase)
# for each problem. A comment at the end of a line says what the column points at.
CASES: dict[str, tuple[str, Located]] = {
    # -- actions --
    "unknown action": (HEAD + """\
  main:
    type: action
    action: find_custmer          # the value
    next: bye
  bye: {type: hangup}
""", [(6, 13, ("node 'main': unknown action 'find_custmer' (one of identify_caller, "
               "find_customer, bill_status, planned_outages, create_request, request_status, "
               "tariff)"))]),

    "action without 'action'": (HEAD + """\
  main:
    type: action
    next: bye
  bye: {type: hangup}
""", [(5, 5, "node 'main': unknown action None")]),

    "missing action argument": (HEAD + """\
  main:
    type: action
    action: find_customer         # the action that needs it
    next: bye
  bye: {type: hangup}
""", [(6, 13, "node 'main': action find_customer needs argument 'code'")]),

    "argument the action does not take": (HEAD + """\
  main:
    type: action
    action: find_customer
    args: {code: $customer_code, days: 3}   # days
    next: bye
  bye: {type: hangup}
  get_code: {type: collect, store: customer_code, next: main}
""", [(7, 34, "node 'main': action find_customer takes no argument 'days'")]),

    "argument that is a list": (HEAD + """\
  main:
    type: action
    action: create_request
    args: {type: [hazard]}        # the mapping, then the list
    next: bye
  bye: {type: hangup}
""", [(7, 11, "action create_request needs argument 'type'"),
      (7, 18, "node 'main': argument 'type' is text, a number or $variable")]),

    "argument with a bad variable": (HEAD + """\
  main:
    type: action
    action: request_status
    args: {number: $Request-Number}
    next: bye
  bye: {type: hangup}
""", [(7, 20, "node 'main': bad variable '$Request-Number'")]),

    "args as a list": (HEAD + """\
  main:
    type: action
    action: bill_status
    args: [customer]
    next: bye
  bye: {type: hangup}
""", [(7, 11, "node 'main': 'args' is a mapping")]),

    "unknown outcome": (HEAD + """\
  main:
    type: action
    action: bill_status
    on:
      found: bye
      lost: bye                   # the outcome
    next: bye
  bye: {type: hangup}
""", [(9, 7, ("node 'main': action bill_status has no outcome 'lost' (it has found, no_bill, "
              "no_customer, unavailable)"))]),

    "outcomes leading nowhere": (HEAD + """\
  main:
    type: action
    action: bill_status           # the action
    on:
      found: bye
      no_bill: bye
  bye: {type: hangup}
""", [(6, 13, ("node 'main': outcomes no_customer, unavailable lead nowhere: add them under "
               "'on' or give a 'next'"))]),

    "on as a list": (HEAD + """\
  main:
    type: action
    action: bill_status
    on: [bye]
    next: bye
  bye: {type: hangup}
""", [(7, 9, "node 'main': 'on' maps outcomes to nodes")]),

    "outcome leading to a number": (HEAD + """\
  main:
    type: action
    action: create_request
    args: {type: hazard}
    on: {created: 5}              # the 5
    next: bye
  bye: {type: hangup}
""", [(8, 19, "node 'main': outcome 'created' needs a node name")]),

    "outcome leading to an unknown node": (HEAD + """\
  main:
    type: action
    action: create_request
    args: {type: hazard}
    on:
      created: hazard_numbr       # the value
    next: bye
  bye: {type: hangup}
""", [(9, 16, "node 'main': unknown node 'hazard_numbr'")]),

    # -- spoken values, choices, lists --
    "bad say kind": (HEAD + """\
  main:
    type: play
    prompts: [bill_latest_is, {say: euros, value: bill.amount}]   # euros
    next: bye
  bye: {type: hangup}
""", [(6, 37, "node 'main': say is one of number, money, kwh, date, time, duration, digits")]),

    "bad value variable": (HEAD + """\
  main:
    type: play
    prompts:
      - bill_latest_is
      - {say: money, value: Bill-Amount}   # the variable
    next: bye
  bye: {type: hangup}
""", [(8, 29, "node 'main': value is a variable such as bill.unpaid_total")]),

    "say with a missing or an extra field": (HEAD + """\
  main:
    type: play
    prompts:
      - {say: money, value: bill.amount, unit: dong}
      - {say: money}
    next: bye
  bye: {type: hangup}
""", [(7, 9, "node 'main': a spoken value is {say: KIND, value: variable"),
      (8, 9, "node 'main': a spoken value is {say: KIND, value: variable")]),

    "choose shapes": (HEAD + """\
  main:
    type: play
    prompts:
      - choose: bill.status       # prompts as a list
        prompts: [bill_paid, bill_unpaid]
      - choose: bill.status       # 'else' is not a field
        prompts: {paid: bill_paid}
        else: bill_unpaid
      - choose: [bill.status]     # a list to choose by
        prompts: {paid: bill_paid}
      - choose: bill.status
        prompts: {paid: 7}        # the 7
        otherwise: [bill_unpaid]  # the list
    next: bye
  bye: {type: hangup}
""", [(7, 9, ("node 'main': a choice is {choose: variable, prompts: {value: prompt}, otherwise: "
             "prompt")),
      (9, 9, "node 'main': a choice is {choose: variable"),
      (12, 9, "node 'main': a choice is {choose: variable"),
      (15, 25, "node 'main': prompt ids are text"),
      (16, 20, "node 'main': prompt ids are text")]),

    "each shapes": (HEAD + """\
  main:
    type: play
    prompts:
      - each: outages
        max: 0                    # the 0
        prompts: [outage_on]
      - each: outages             # 'limit' is not a field
        limit: 3
        prompts: [outage_on]
      - each: outages
        max: yes                  # the yes
        prompts: [outage_on, {say: date}]   # the say without a value
      - {each: outages, max: 3, prompts: 5}  # the 5
      - {each: [outages], prompts: [outage_on]}
    next: bye
  bye: {type: hangup}
""", [(8, 14, "node 'main': max is a whole number 1-20"),
      (10, 9, "node 'main': a list is {each: variable, max: N, prompts: [...]"),
      (14, 14, "node 'main': max is a whole number 1-20"),
      (15, 30, "node 'main': a spoken value is {say: KIND, value: variable"),
      (16, 42, "node 'main': 'prompts' must be a list of prompt ids"),
      (17, 9, "node 'main': a list is {each: variable, max: N, prompts: [...]")]),

    "a prompt that is none of the four": (HEAD + """\
  main:
    type: play
    prompts:
      - {play: welcome}
      - 42
    next: bye
  bye: {type: hangup}
""", [(7, 9, "node 'main': a prompt is an id, {say: ...}, {choose: ...} or {each: ...}"),
      (8, 9, "node 'main': prompt ids are text")]),

    "bad retry prompts": (HEAD + """\
  main:
    type: menu
    options: {"1": bye}
    no_input_prompts: {say: money}
    invalid_prompts: [invalid_choice, {say: digits, value: 12}]
  bye: {type: hangup}
""", [(7, 23, "node 'main': 'no_input_prompts' must be a list of prompt ids"),
      (8, 60, "node 'main': value is a variable such as bill.unpaid_total")]),

    # -- set --
    "set as a list": (HEAD + """\
  main:
    type: play
    set: [tries]                  # the list
    next: bye
  bye: {type: hangup}
""", [(6, 10, "node 'main': 'set' maps variable names to values ('+1' counts up)")]),

    "set names and values": (HEAD + """\
  main:
    type: play
    set:
      Tries: 1                    # names are lower case
      language: en                # built in: a language node changes it
      caller: "0909123456"        # built in
      tries: [1]                  # the list
      done: yes                   # text 'yes' under YAML 1.2: allowed
      flag: true                  # a boolean
      count: "+1"
      service: bill
      level: 2
    next: bye
  bye: {type: hangup}
""", [(7, 7, "node 'main': cannot set 'Tries' (a variable name such as tries)"),
      (8, 7, "node 'main': cannot set 'language'"),
      (9, 7, "node 'main': cannot set 'caller'"),
      (10, 14, "node 'main': 'tries' is set to text, a number or '+1'"),
      (12, 13, "node 'main': 'flag' is set to text, a number or '+1'")]),

    # -- conditions --
    "bad conditions": (HEAD + """\
  main:
    type: condition
    branches:
      - when: {time: "25:00-26:00"}    # the value
        goto: bye
      - when: {time: "24:30-06:00"}
        goto: bye
      - when: {time: "8:00-17:00"}     # two digits for the hour
        goto: bye
      - when: {days: [mon, funday]}
        goto: bye
      - when: {days: []}
        goto: bye
      - when: {dates: ["2026-02-30"]}
        goto: bye
      - when: {dates: "2026-01-01"}    # not a list
        goto: bye
      - when: {var: bill.amount, gt: many}
        goto: bye
      - when: {var: bill.amount, gt: yes}
        goto: bye
      - when: {var: Bill.Amount, exists: yes}
        goto: bye
      - when: {var: bill.status, eq: [paid]}
        goto: bye
      - when: {holiday: maybe}
        goto: bye
      - when: {weather: rain}
        goto: bye
    otherwise: bye
  bye: {type: hangup}
""", [(7, 22, ("node 'main': bad condition time: '25:00-26:00' (holiday: yes/no, days: [mon, "
               "...], time: 'HH:MM-HH:MM', dates: [YYYY-MM-DD], var: name with exists/gt/eq)")),
      (9, 22, "node 'main': time '24:30-06:00' is past 24:00"),
      (11, 22, "node 'main': bad condition time: '8:00-17:00'"),
      (13, 22, "node 'main': bad condition days: ['mon', 'funday']"),
      (15, 22, "node 'main': bad condition days: []"),
      (17, 23, "node 'main': bad condition dates: ['2026-02-30']"),
      (19, 23, "node 'main': bad condition dates: '2026-01-01'"),
      (21, 38, "node 'main': bad condition gt: 'many'"),
      (23, 38, "node 'main': bad condition gt: 'yes'"),
      (25, 15, "node 'main': exists/gt/eq need 'var'"),
      (25, 21, "node 'main': bad condition var: 'Bill.Amount'"),
      (27, 38, "node 'main': bad condition eq: ['paid']"),
      (29, 25, "node 'main': bad condition holiday: 'maybe'"),
      (31, 25, "node 'main': bad condition weather: 'rain'")]),

    "bad branches": (HEAD + """\
  main:
    type: condition
    branches:
      - when: {}                  # the empty mapping
        goto: bye
      - when: {exists: yes}       # no var
        goto: bye
      - goto: bye                 # no when
      - when: {holiday: yes}      # three fields
        goto: bye
        otherwise: bye
      - when: {holiday: yes}
        goto: [bye]               # the list
      - when: {holiday: yes}
        goto: nowhere             # the name
    otherwise: bye
  bye: {type: hangup}
""", [(7, 15, "node 'main': 'when' is a mapping of conditions"),
      (9, 15, "node 'main': exists/gt/eq need 'var'"),
      (11, 9, "node 'main': branch 3 needs exactly 'when' and 'goto'"),
      (12, 9, "node 'main': branch 4 needs exactly 'when' and 'goto'"),
      (16, 15, "node 'main': 'goto' needs a node name"),
      (18, 15, "node 'main': unknown node 'nowhere'")]),

    "branches as a mapping, no otherwise": (HEAD + """\
  main:
    type: condition               # the node: otherwise is missing
    branches: {holiday: bye}      # the mapping
  bye: {type: hangup}
""", [(5, 5, "node 'main': missing 'otherwise'"),
      (6, 15, "node 'main': 'branches' is a list of {when: ..., goto: node}")]),

    # -- languages --
    "language not in languages": (HEAD + """\
  main:
    type: language
    language: fr                  # the value
    next: op
  op:
    type: transfer
    language: de                  # the value
  other:
    type: language                # the node: no language at all
    next: op
""", [(6, 15, "node 'main': language is one of vi, en"),
      (10, 15, "node 'op': language is one of vi, en"),
      (12, 5, "node 'other': language is one of vi, en")]),

    "languages of a one-language menu": ("""\
hotline: "19001122"
start: main
languages: [en]
nodes:
  main: {type: language, language: vi, next: bye}   # vi is not offered
  bye: {type: hangup}
""", [(5, 36, "node 'main': language is one of en")]),

    "languages that are not codes": ("""\
hotline: "19001122"
start: main
languages: [vi, english]
nodes:
  main: {type: hangup}
""", [(3, 12, "'languages' is a list of the languages prompts exist in: vi, en")]),

    "no languages": ("""\
hotline: "19001122"
start: main
languages: []
nodes:
  main: {type: hangup}
""", [(3, 12, "'languages' is a list of the languages prompts exist in: vi, en")]),

    # -- transfers and hangups --
    "transfer priority 11": (HEAD + """\
  main:
    type: transfer
    priority: 11                  # the value
""", [(6, 15, "node 'main': 'priority' must be a whole number 0-10")]),

    "transfer priority as text, skills as text, queue as a list": (HEAD + """\
  main:
    type: transfer
    priority: high
    skills: general
    queue: [operators]
""", [(6, 15, "node 'main': 'priority' must be a whole number 0-10"),
      (7, 13, "node 'main': 'skills' is a list of skill names"),
      (8, 12, "node 'main': 'queue' must be text")]),

    "hangup outcome": (HEAD + """\
  main: {type: hangup, outcome: finished}   # the value
""", [(4, 33, ("node 'main': outcome is one of completed, no_input, invalid_input, abandoned, "
              "queued"))]),

    # -- collect --
    "collect min_digits larger than max_digits": (HEAD + """\
  main:
    type: collect
    min_digits: 12                # the value
    max_digits: 8
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 17, "node 'main': min_digits is larger than max_digits")]),

    "collect min_digits above the default max_digits": (HEAD + """\
  main:
    type: collect
    min_digits: 25                # the default max_digits is 20
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 17, "node 'main': min_digits is larger than max_digits")]),

    "collect terminator x": (HEAD + """\
  main:
    type: collect
    terminator: x                 # the value
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 17, "node 'main': terminator is '#', '*' or null")]),

    "collect terminator that is a digit": (HEAD + """\
  main:
    type: collect
    terminator: 5
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 17, "node 'main': terminator is '#', '*' or null")]),

    "collect validate unknown": (HEAD + """\
  main:
    type: collect
    validate: iban                # the value
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 15, "node 'main': validate is one of digits, customer_code, request_number, phone")]),

    "collect store and next": (HEAD + """\
  main:
    type: collect                 # the node: no next
    store: Customer-Code          # the value
  other:
    type: collect                 # the node: no store
    next: main
""", [(5, 5, "node 'main': missing 'next'"),
      (6, 12, "node 'main': 'store' is a variable name such as customer_code"),
      (8, 5, "node 'other': missing 'store'")]),

    "collect digit counts and gap out of range": (HEAD + """\
  main:
    type: collect
    min_digits: 0
    max_digits: 31
    inter_digit_timeout: 45s
    store: code
    next: bye
  bye: {type: hangup}
""", [(6, 17, "node 'main': 'min_digits' must be a whole number 1-30"),
      (7, 17, "node 'main': 'max_digits' must be a whole number 1-30"),
      (8, 26, ("node 'main': bad duration '45s' for 'inter_digit_timeout' (write e.g. 5s or "
               "1500ms, between 0.5s and 30s)"))]),

    # -- confirm --
    "confirm without yes and no": (HEAD + """\
  main:
    type: confirm                 # the node
    prompts: [is_that_right]
    yes: [bye]                    # the list
  bye: {type: hangup}
""", [(5, 5, "node 'main': missing 'no'"),
      (7, 10, "node 'main': 'yes' must be text")]),

    "confirm fields on another node": (HEAD + """\
  main:
    type: play
    next: bye
    yes: bye                      # the key
  bye: {type: hangup}
""", [(7, 5, "node 'main': 'yes' is not a field of a play node")]),

    # -- global keys --
    "global key to an unknown node": ("""\
hotline: "19001122"
start: main
keys:
  "0": operatr                    # the value
  "*": repeat
  A: main                         # the key
  "#": [back]                     # the value
nodes:
  main: {type: hangup}
""", [(4, 8, "global key '0': unknown node 'operatr' (a node, 'repeat' or 'back')"),
      (6, 3, "global key 'A' is not one of 0-9 * #"),
      (7, 8, "global key '#': unknown node ['back']")]),

    "keys as a list": ("""\
hotline: "19001122"
start: main
keys: ["0"]                       # the list
nodes:
  main: {type: hangup}
""", [(3, 7, "'keys' maps a key to a node, 'repeat' or 'back'")]),

    "reserved node names": ("""\
hotline: "19001122"
start: main
nodes:
  main: {type: play, next: repeat}
  repeat: {type: play, next: back}   # the name
  back: {type: hangup}               # the name
""", [(5, 3, "'repeat' is reserved for the global keys; name the node otherwise"),
      (6, 3, "'back' is reserved for the global keys; name the node otherwise")]),

    "node keys that are not yes or no": (HEAD + """\
  main:
    type: menu
    keys: sometimes               # the value
    options: {"1": bye}
  bye: {type: hangup}
""", [(6, 11, "node 'main': 'keys' is yes or no (do the global keys work here?)")]),

    # -- holidays and top-level defaults --
    "holidays with bad dates": ("""\
hotline: "19001122"
start: main
holidays:
  2026-01-01: Tết Dương lịch
  "2026-13-01": Tết               # the key
  first of may: Quốc tế Lao động  # the key
nodes:
  main: {type: hangup}
""", [(5, 3, "holiday '2026-13-01' is not a date (write YYYY-MM-DD)"),
      (6, 3, "holiday 'first of may' is not a date (write YYYY-MM-DD)")]),

    "holidays as a list": ("""\
hotline: "19001122"
start: main
holidays: [2026-01-01]
nodes:
  main: {type: hangup}
""", [(3, 11, "'holidays' maps dates (YYYY-MM-DD) to names")]),

    "top-level timeout and retries": ("""\
hotline: "19001122"
start: main
timeout: forever
retries: 12
nodes:
  main: {type: hangup}
""", [(3, 10, "top level: bad duration 'forever' for 'timeout'"),
      (4, 10, "top level: 'retries' must be a whole number 0-9")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_problem_is_located(tmp_path: Path, case: str) -> None:
    content, expected = CASES[case]
    located(problems(tmp_path, content), expected)


# --- what is right loads into what the stepper reads -------------------------------------------

EVERYTHING = """\
hotline: "19001122"
start: opening
languages: [vi, en]
timeout: 4s
retries: 3
keys: {"0": operator, "*": repeat, "#": back}
holidays:
  2026-01-01: Tết Dương lịch
  "2026-09-02": Quốc khánh
nodes:
  opening:
    type: condition
    set: {visits: "+1", service: bill, level: 2}
    branches:
      - when: {holiday: yes}
        goto: closed
      - when: {days: [Sat, sunday], time: "22:00-06:00"}
        goto: closed
      - when: {dates: [2026-12-24, "2026-12-31"], time: "00:00-24:00"}
        goto: closed
      - when: {var: visits, gt: 2, exists: yes}
        goto: operator
      - when: {var: service, eq: 7}
        goto: operator
    otherwise: identify
  identify:
    type: action
    action: planned_outages
    args: {days: 7}
    on: {found: outages, unavailable: operator}
    next: ask_code
  outages:
    type: play
    keys: no
    prompts:
      - outages_intro
      - {each: outages, max: 2, prompts: [outage_on, {say: date, value: item.date}]}
      - choose: level
        prompts: {1: one_outage, 2: two_outages}
        otherwise: many_outages
    next: ask_code
  ask_code:
    type: collect
    prompts: [enter_customer_code]
    min_digits: 11
    max_digits: 11
    terminator: null
    inter_digit_timeout: 1500ms
    validate: customer_code
    store: customer_code
    next: check
  check:
    type: confirm
    keys: off
    prompts: [you_entered, {say: digits, value: customer_code}]
    yes: find
    no: ask_code
  find:
    type: action
    action: find_customer
    args: {code: $customer_code}
    next: english
  english: {type: language, language: en, next: operator}
  operator: {type: transfer, language: vi, skills: [billing, general], priority: 10}
  closed: {type: hangup, prompts: [closed], outcome: completed}
"""


def test_every_v2_field_loads(tmp_path: Path) -> None:
    menu = loads(tmp_path, EVERYTHING)
    assert (menu.languages, menu.keys) == (("vi", "en"), {"0": "operator", "*": "repeat",
                                                           "#": "back"})
    assert menu.holidays == {dt.date(2026, 1, 1): "Tết Dương lịch",
                             dt.date(2026, 9, 2): "Quốc khánh"}
    opening = menu.node("opening")
    assert opening.sets == {"visits": "+1", "service": "bill", "level": "2"}
    assert opening.branches == (
        Branch(When(holiday=True), "closed"),
        Branch(When(days=frozenset({5, 6}), time=(22 * 60, 6 * 60)), "closed"),
        Branch(When(dates=frozenset({dt.date(2026, 12, 24), dt.date(2026, 12, 31)}),
                    time=(0, 1440)), "closed"),
        Branch(When(var="visits", gt=2.0, exists=True), "operator"),
        Branch(When(var="service", eq="7"), "operator"),
    )
    identify = menu.node("identify")
    assert (identify.action, identify.args, identify.on, identify.next) == (
        "planned_outages", {"days": "7"}, {"found": "outages", "unavailable": "operator"},
        "ask_code")
    outages = menu.node("outages")
    assert outages.global_keys is False
    assert outages.prompts == (
        "outages_intro",
        Each("outages", 2, ("outage_on", Say("date", "item.date"))),
        Choose("level", (("1", "one_outage"), ("2", "two_outages")), "many_outages"),
    )
    code = menu.node("ask_code")
    assert (code.min_digits, code.max_digits, code.terminator, code.inter_digit_ms,
            code.validate, code.store, code.timeout_ms, code.retries) == (
        11, 11, None, 1500, "customer_code", "customer_code", 4000, 3)
    check = menu.node("check")
    assert (check.kind, check.options, check.global_keys) == (
        "confirm", {"1": "find", "2": "ask_code"}, False)
    assert menu.node("english").language == "en"
    operator = menu.node("operator")
    assert (operator.queue, operator.skills, operator.priority, operator.language) == (
        "operators", ("billing", "general"), 10, "vi")
    assert menu.node("closed").outcome == "completed"
    assert menu.say_kinds() == {"date", "digits"}
    assert {"one_outage", "two_outages", "many_outages", "outage_on"} <= menu.prompt_ids()


@pytest.mark.parametrize("written, value", [
    ("yes", True), ("no", False), ("true", True), ("false", False), ("on", True),
    ("off", False), ("Yes", True), ("NO", False), ("True", True), ('"yes"', True),
])
def test_yes_and_no_are_booleans(tmp_path: Path, written: str, value: bool) -> None:
    """YAML 1.2 reads yes/no/on/off as text; the menu language reads them as booleans."""
    menu = loads(tmp_path, HEAD + f"""\
  main:
    type: condition
    keys: {written}
    branches:
      - when: {{holiday: {written}}}
        goto: bye
      - when: {{var: caller, exists: {written}}}
        goto: bye
    otherwise: bye
  bye: {{type: hangup}}
""")
    main = menu.node("main")
    assert main.global_keys is value
    assert [b.when for b in main.branches] == [When(holiday=value),
                                               When(var="caller", exists=value)]


def test_the_defaults_of_a_node(tmp_path: Path) -> None:
    menu = loads(tmp_path, HEAD + """\
  main: {type: collect, store: digits, next: bye}
  bye: {type: hangup}
""")
    main = menu.node("main")
    assert (main.min_digits, main.max_digits, main.terminator, main.inter_digit_ms,
            main.validate, main.timeout_ms, main.retries, main.global_keys) == (
        1, 20, "#", 3000, "digits", 5000, 2, True)
    assert (main.no_input_prompts, main.invalid_prompts) == (("no_input",), ("invalid_choice",))
    assert menu.languages == ("vi", "en") and menu.keys == {} and menu.holidays == {}
    assert menu.node("bye").outcome is None  # completed, unless a menu ran out of retries


def test_a_time_range_may_end_at_midnight(tmp_path: Path) -> None:
    menu = loads(tmp_path, HEAD + """\
  main:
    type: condition
    branches:
      - when: {time: "18:00-24:00"}
        goto: bye
    otherwise: bye
  bye: {type: hangup}
""")
    assert menu.node("main").branches[0].when.time == (18 * 60, 24 * 60)


def test_every_outcome_under_on_needs_no_next(tmp_path: Path) -> None:
    menu = loads(tmp_path, HEAD + """\
  main:
    type: action
    action: create_request
    args: {type: outage_report, note: "$caller"}
    on: {created: bye, unavailable: bye}
  bye: {type: hangup}
""")
    assert menu.node("main").next is None
    assert menu.node("main").args == {"type": "outage_report", "note": "$caller"}


# --- product bugs, pinned -------------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    ("""\
hotline: "19001122"
start: main
holidays:
  2026-02-30: Tết
nodes:
  main: {type: hangup}
""", (4, 3, "holiday '2026-02-30' is not a date")),
    (HEAD + """\
  main:
    type: condition
    branches:
      - when: {dates: [2026-01-01, 2026-02-30]}
        goto: bye
    otherwise: bye
  bye: {type: hangup}
""", (7, 23, "bad condition dates")),
], ids=["holidays", "dates"])
def test_an_impossible_unquoted_date_is_located(tmp_path: Path, content: str,
                                                expected: tuple[int, int, str]) -> None:
    located(problems(tmp_path, content), [expected])


def test_shape_messages_show_the_shape_an_admin_can_copy(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
  main:
    type: play
    prompts:
      - {say: money}
      - {choose: bill.status, prompts: [bill_paid]}
      - {each: outages, limit: 3}
    next: bye
  bye: {type: hangup}
""")
    assert [message.split(": ", 1)[1] for _, _, message in found] == [
        "a spoken value is {say: KIND, value: variable}",
        "a choice is {choose: variable, prompts: {value: prompt}, otherwise: prompt}",
        "a list is {each: variable, max: N, prompts: [...]}",
    ]


# -- features and options offered only when a condition holds -----------------------------------

SWITCHED = """\
hotline: "19001122"
start: main
features:
  products: no
  night_line: yes
nodes:
  main:
    type: menu
    prompts:
      - {choose: features.products, prompts: {"on": main_menu_with_products}, otherwise: main_menu}
    options:
      "1": bye
      "7": {goto: bye, when: {var: features.products, eq: "on"}}
  bye: {type: hangup}
"""


def test_features_load_with_the_options_they_gate(tmp_path: Path) -> None:
    menu = loads(tmp_path, SWITCHED)
    assert menu.features == {"products": False, "night_line": True}
    main = menu.node("main")
    assert main.options == {"1": "bye", "7": "bye"}
    assert main.option_when == {"7": When(var="features.products", eq="on")}


@pytest.mark.parametrize(("change", "expected"), [
    (("products: no", "products: maybe"), [(4, 13, "feature 'products' is yes or no")]),
    (("products: no", "Products: no"), [(4, 3, "bad feature name 'Products'"),
                                         (7, 3, "unknown feature 'features.products'")]),
    (("features.products, eq", "features.solar, eq"),
     [(7, 3, ("node 'main': unknown feature 'features.solar' (the menu's 'features' are: "
             "night_line, products)"))]),
    (("{choose: features.products,", "{choose: features,"),
     [(7, 3, "node 'main': unknown feature 'features'")]),
    (('"7": {goto: bye, when:', '"7": {go: bye, when:'),
     [(13, 12, "option '7' is a node, or {goto: node, when: {...}}")]),
    (('"7": {goto: bye, when:', '"7": {goto: nowhere, when:'),
     [(13, 19, "node 'main': unknown node 'nowhere'")]),
    (('when: {var: features.products, eq: "on"}', "when: {at: noon}"),
     [(13, 35, "bad condition at: 'noon'")]),
])
def test_feature_mistakes_are_located(tmp_path: Path, change: tuple[str, str],
                                      expected: Located) -> None:
    assert change[0] in SWITCHED
    located(problems(tmp_path, SWITCHED.replace(*change)), expected)
