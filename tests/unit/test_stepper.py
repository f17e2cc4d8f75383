"""The menu stepper, scenario by scenario: what the caller did (a key, a digit string, silence) or
what a self-service action answered, what the IVR does next, and what the call's path records.

The shipped 19001122 menu is loaded against the shipped prompt catalogue; the parts of the menu
language it does not use (confirm nodes, language nodes, calendar conditions, phone numbers, ...)
are exercised on small menus written here."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.menu import ACTIONS, Menu, load_menu
from ivr.prompts import load_catalogue, load_words
from ivr.stepper import (
    ALL_KEYS,
    Act,
    Acted,
    CallState,
    Effect,
    Event,
    Finish,
    Heard,
    Prompt,
    start,
    step,
)
from records.calls import OUTCOMES
from records.lookups import luhn_digit
from speech import values as speech

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "dialplans" / "19001122.yaml"
CATALOGUE = ROOT / "prompts" / "catalogue.yaml"
WORDS = ROOT / "prompts" / "words.yaml"

TUESDAY = dt.datetime(2026, 3, 10, 10, 0)  # an ordinary working morning
NEW_YEAR = dt.datetime(2026, 1, 1, 9, 0)   # listed under 'holidays' in the shipped menu
CALLER = "0909123456"


def request_number(first_seven: str) -> str:
    """A request number as the records hand them out: seven digits and a Luhn check digit."""
    return first_seven + luhn_digit(first_seven)


REQUEST = request_number("2026001")                   # 20260014
MISTYPED = REQUEST[:-1] + str((int(REQUEST[-1]) + 1) % 10)  # the check digit is off by one
CODE = "00123456789"                                  # a customer code as keyed: PE implied

# -- small menus for what the shipped menu does not use -------------------------------------------

PHONE_CHECK = """\
hotline: "19001122"
start: ask_phone
keys: {"0": operator, "*": repeat, "#": back}
nodes:
  ask_phone:
    type: collect
    prompts: [enter_phone]
    min_digits: 9
    max_digits: 11
    validate: phone
    store: phone
    next: read_back
  read_back:
    type: play
    prompts: [you_entered, {say: digits, value: phone}]
    next: confirm_phone
  confirm_phone:
    type: confirm
    prompts: [press_1_if_right_2_to_retry]
    retries: 1
    yes: thanks
    no: ask_phone
    on_invalid: operator
  thanks: {type: hangup, prompts: [thanks]}
  operator: {type: transfer, prompts: [transfer_operator]}
"""

METER_READING = """\
hotline: "19001122"
start: ask_reading
keys: {"0": operator, "*": repeat, "#": back}
timeout: 6s
nodes:
  ask_reading:
    type: collect
    prompts: [enter_meter_reading]
    min_digits: 4
    max_digits: 6
    terminator: null
    inter_digit_timeout: 2s
    retries: 1
    store: reading
    next: read_back
    on_invalid: operator
  read_back: {type: hangup, prompts: [reading_is, {say: digits, value: reading}]}
  operator: {type: transfer, prompts: [transfer_operator]}
"""

ENGLISH_LINE = """\
hotline: "19001122"
start: to_english
languages: [vi, en]
nodes:
  to_english: {type: language, language: en, next: welcome}
  welcome: {type: play, prompts: [welcome, {say: digits, value: caller}], next: operator}
  operator: {type: transfer, prompts: [transfer_operator], language: vi, skills: [general]}
"""

OPENING_HOURS = """\
hotline: "19001122"
start: route
nodes:
  route:
    type: condition
    branches:
      - when: {dates: [2026-12-24, 2026-12-31]}
        goto: eve
      - when: {days: [sat, sun]}
        goto: weekend
      - when: {time: "22:00-06:00"}
        goto: night
      - when: {days: [mon, tue, wed, thu, fri], time: "08:00-17:00"}
        goto: office
    otherwise: evening
  eve: {type: hangup, prompts: [eve]}
  weekend: {type: hangup, prompts: [weekend]}
  night: {type: hangup, prompts: [night]}
  office: {type: hangup, prompts: [office]}
  evening: {type: hangup, prompts: [evening]}
"""

BILL_CHECKS = """\
hotline: "19001122"
start: lookup
nodes:
  lookup:
    type: action
    action: bill_status
    next: check
  check:
    type: condition
    branches:
      - when: {var: bill.unpaid_total, gt: 1000000}
        goto: large_debt
      - when: {var: bill.status, eq: paid}
        goto: paid
      - when: {var: bill.unpaid_count, eq: 0}
        goto: paid
      - when: {var: bill.due_date, exists: no}
        goto: no_date
    otherwise: unpaid
  large_debt: {type: hangup, prompts: [large_debt]}
  paid: {type: hangup, prompts: [paid]}
  no_date: {type: hangup, prompts: [no_date]}
  unpaid: {type: hangup, prompts: [unpaid]}
"""

ANY_OUTCOME = """\
hotline: "19001122"
start: find
nodes:
  find:
    type: action
    action: identify_caller
    set: {lookups: "+1", source: caller_id}
    on: {found: known, unavailable: sorry}
    next: unknown
  known: {type: hangup, prompts: [known]}
  unknown: {type: hangup, prompts: [unknown]}
  sorry: {type: transfer, prompts: [sorry]}
"""

COUNTED_VISITS = """\
hotline: "19001122"
start: main
keys: {"*": repeat}
nodes:
  main:
    type: menu
    prompts: [main_menu]
    options: {"1": info}
  info:
    type: condition
    set: {visits: "+1", topic: info}
    branches:
      - when: {var: visits, gt: 2}
        goto: enough
    otherwise: info_text
  info_text: {type: play, prompts: [info], next: main}
  enough: {type: hangup, prompts: [goodbye]}
"""

SHORT_NEWS = """\
hotline: "19001122"
start: news
keys: {"0": operator}
nodes:
  news: {type: play, prompts: [news], next: headline}
  headline: {type: play, keys: no, prompts: [headline], next: operator}
  operator: {type: transfer, prompts: [transfer_operator], skills: [outage], priority: 5}
"""

INLINE = {"phone": PHONE_CHECK, "meter": METER_READING, "english": ENGLISH_LINE,
          "hours": OPENING_HOURS, "bill": BILL_CHECKS, "outcome": ANY_OUTCOME,
          "visits": COUNTED_VISITS, "news": SHORT_NEWS}


def silent_chain(length: int) -> str:
    """A valid menu that passes ``length`` condition nodes before it says goodbye."""
    lines = ['hotline: "19001122"', "start: hop_0", "nodes:"]
    lines += [f"  hop_{i}: {{type: condition, otherwise: hop_{i + 1}}}" for i in range(length)]
    lines.append(f"  hop_{length}: {{type: hangup, prompts: [goodbye]}}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def menus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Menu]:
    folder = tmp_path_factory.mktemp("menus")
    loaded = {"shipped": load_menu(SHIPPED, set(load_catalogue(CATALOGUE)))}
    for name, text in INLINE.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        loaded[name] = load_menu(folder / f"{name}.yaml")
    return loaded


# --- effects and path entries, spelled the way the stepper gives them --------------------------

def vi(*ids: str) -> tuple[str, ...]:
    return tuple(f"vi/{i}" for i in ids)


def en(*ids: str) -> tuple[str, ...]:
    return tuple(f"en/{i}" for i in ids)


def said(kind: str, value: Any, language: str = "vi") -> list[str]:
    """The word ids speech.values reads ``value`` with."""
    return speech.say(kind, value, language)


def play(sounds: tuple[str, ...]) -> Prompt:
    return Prompt(sounds, keys=ALL_KEYS)


def ask(sounds: tuple[str, ...], timeout_ms: int = 5000) -> Prompt:
    return Prompt(sounds, keys=ALL_KEYS, timeout_ms=timeout_ms)


def collect(sounds: tuple[str, ...], *, digits: int, timeout_ms: int = 8000,
            terminator: str | None = "#", gap_ms: int = 4000, stop: str = "*") -> Prompt:
    return Prompt(sounds, keys=ALL_KEYS, timeout_ms=timeout_ms,
                  max_digits=digits + (1 if terminator else 0), terminator=terminator,
                  inter_digit_ms=gap_ms, stop_keys=stop)


def act(action: str, **args: Any) -> Act:
    return Act(action, args)


def played(node: str, *prompts: str) -> dict[str, Any]:
    return {"node": node, "played": list(prompts)}


def pressed(node: str, key: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": key, **more}


def silence(node: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": None, "event": "no_input", **more}


def wrong(node: str, key: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": key, "event": "invalid", **more}


def went(node: str, target: str) -> dict[str, Any]:
    return {"node": node, "goto": target}


def acted(node: str, action: str, outcome: str) -> dict[str, Any]:
    return {"node": node, "action": action, "outcome": outcome}


def collected(node: str, digits: str) -> dict[str, Any]:
    return {"node": node, "key": digits, "event": "collected"}


def global_key(node: str, key: str, event: str = "global") -> dict[str, Any]:
    return {"node": node, "key": key, "event": event}


def skipped(node: str, key: str) -> dict[str, Any]:
    """A key pressed during an announcement that no menu follows: recorded, then ignored."""
    return {"node": node, "key": key, "event": "skipped"}


# shipped menu: what the caller hears
WELCOME = play(vi("welcome"))
HOLIDAY = play(vi("holiday_greeting"))
MAIN = ask(vi("main_menu"))
MAIN_EN = ask(en("main_menu"))
MAIN_AFTER_SILENCE = ask(vi("no_input", "main_menu"))
MAIN_AFTER_WRONG_KEY = ask(vi("invalid_choice", "main_menu"))
REPORT_MENU = ask(vi("report_menu"))
AFTER_INFO = ask(vi("after_info"), timeout_ms=4000)
OFFER_OPERATOR = ask(vi("offer_operator"))
ASK_CODE = collect(vi("enter_customer_code"), digits=11)
ASK_CODE_AGAIN = collect(vi("customer_code_invalid", "enter_customer_code"), digits=11)
ASK_CODE_AFTER_SILENCE = collect(vi("no_input", "enter_customer_code"), digits=11)
ASK_REQUEST = collect(vi("enter_request_number"), digits=8)
ASK_REQUEST_AGAIN = collect(vi("request_number_invalid", "enter_request_number"), digits=8)
NOT_FOUND = play(vi("customer_not_found"))
UNAVAILABLE = play(vi("records_unavailable"))
HAZARD = play(vi("hazard_warning"))
NO_OUTAGES = play(vi("no_planned_outages"))
NO_BILL = play(vi("no_bill_found"))
OPERATOR = Finish(vi("transfer_operator"), outcome="queued", route="queue", queue="operators",
                  skills=("general",))
OPERATOR_EN = Finish(en("transfer_operator"), outcome="queued", route="queue",
                     queue="operators", skills=("general",), language="en")
URGENT = Finish(vi("transfer_operator_urgent"), outcome="queued", route="queue",
                queue="operators", skills=("outage",), priority=10)
GOODBYE = Finish(vi("goodbye"), outcome="completed", route="hangup")
GOODBYE_NO_INPUT = Finish(vi("goodbye"), outcome="no_input", route="hangup")
METER = collect(vi("enter_meter_reading"), digits=6, timeout_ms=6000, terminator=None,
                gap_ms=2000, stop="*#")
METER_AGAIN = collect(vi("invalid_choice", "enter_meter_reading"), digits=6, timeout_ms=6000,
                      terminator=None, gap_ms=2000, stop="*#")
# what the actions do
IDENTIFY = act("identify_caller")
BILL_LOOKUP = act("bill_status")
OUTAGES_LOOKUP = act("planned_outages", days="7")
FIND_CODE = act("find_customer", code="PE" + CODE)
HAZARD_REQUEST = act("create_request", type="hazard")
OUTAGE_REPORT = act("create_request", type="outage_report")
REQUEST_LOOKUP = act("request_status", number=REQUEST)

# what the actions answer
CUSTOMER = {"id": 7, "code": "PE" + CODE, "name": "Nguyễn Văn An", "area": "Q1",
            "feeder": "F12", "district_company": "Điện lực Sài Gòn"}
KNOWN = Acted("found", {"customer": CUSTOMER, "customers": [CUSTOMER]})
STRANGER = Acted("not_found")
BILL = Acted("found", {"bill": {
    "period": dt.date(2026, 2, 1), "kwh": 342, "amount": 1_250_000,
    "due_date": dt.date(2026, 3, 20), "status": "unpaid", "paid_date": None,
    "unpaid_total": 1_250_000, "unpaid_count": 1}})
PAID_BILL = Acted("found", {"bill": {
    "period": dt.date(2026, 2, 1), "kwh": 95, "amount": 180_500,
    "due_date": dt.date(2026, 3, 20), "status": "paid", "paid_date": dt.date(2026, 3, 2),
    "unpaid_total": 0, "unpaid_count": 0}})
OUTAGES = [
    {"date": dt.date(2026, 3, 11), "starts_at": dt.time(8, 0), "ends_at": dt.time(11, 30)},
    {"date": dt.date(2026, 3, 12), "starts_at": dt.time(13, 0), "ends_at": dt.time(17, 0)},
    {"date": dt.date(2026, 3, 14), "starts_at": dt.time(7, 30), "ends_at": dt.time(9, 0)},
    {"date": dt.date(2026, 3, 15), "starts_at": dt.time(22, 0), "ends_at": dt.time(23, 45)},
]
CREATED_HAZARD = Acted("created", {"request": {
    "number": "00123457", "type": "hazard", "status": "forwarded",
    "deadline_date": dt.date(2026, 3, 10), "deadline_time": dt.time(12, 0)}})
CREATED_REPORT = Acted("created", {"request": {
    "number": REQUEST, "type": "outage_report", "status": "open",
    "deadline_date": dt.date(2026, 3, 11), "deadline_time": dt.time(17, 30)}})
FOUND_REQUEST = Acted("found", {"request": {
    "number": REQUEST, "type": "outage_report", "status": "in_progress",
    "deadline_date": dt.date(2026, 3, 11), "deadline_time": dt.time(17, 30), "overdue": False}})


def bill_sounds(bill: dict[str, Any]) -> tuple[str, ...]:
    return vi("bill_latest_is", *said("money", bill["amount"]), "bill_for_consumption",
              *said("kwh", bill["kwh"]), "bill_due_on", *said("date", bill["due_date"]),
              f"bill_{bill['status']}")


def outage_sounds(outage: dict[str, Any], language: str = "vi") -> list[str]:
    return ["outage_on", *said("date", outage["date"], language), "outage_from",
            *said("time", outage["starts_at"], language), "outage_to",
            *said("time", outage["ends_at"], language)]


def ids(sounds: tuple[str, ...]) -> list[str]:
    return [sound.split("/", 1)[1] for sound in sounds]


BILL_SOUNDS = bill_sounds(BILL.values["bill"])
UNPAID_SOUNDS = vi("unpaid_total_is", *said("money", 1_250_000))
OUTAGE_SOUNDS = vi("outages_intro", *outage_sounds(OUTAGES[0]), *outage_sounds(OUTAGES[1]),
                   *outage_sounds(OUTAGES[2]))
HAZARD_NUMBER_SOUNDS = vi("request_created", *said("digits", "00123457"))
REPORT_SOUNDS = vi("request_created", *said("digits", REQUEST), "request_deadline_is",
                   *said("time", dt.time(17, 30)), "request_on",
                   *said("date", dt.date(2026, 3, 11)))
STATUS_SOUNDS = vi("request_status_is", "status_in_progress", "request_deadline_is",
                   *said("time", dt.time(17, 30)), "request_on",
                   *said("date", dt.date(2026, 3, 11)))

# every shipped call begins the same way on an ordinary day
OPENING = [went("opening", "welcome"), played("welcome", "welcome")]
KNOWN_CALLER_PATH = OPENING + [acted("identify", "identify_caller", "found"),
                               played("main", "main_menu")]
STRANGER_PATH = OPENING + [acted("identify", "identify_caller", "not_found"),
                           played("main", "main_menu")]


@dataclass(frozen=True)
class Scenario:
    menu: str
    events: list[Event | str | None]  # what happened at each effect; a str or None is Heard
    effects: list[Effect]  # start's effect, then one per event
    path: list[dict[str, Any]]
    final: dict[str, Any] | None = None  # CallState fields to check at the end
    now: dt.datetime = TUESDAY
    notes: str = field(default="", compare=False)


SCENARIOS = {
    # -- every option of the main menu, for a caller the calling number identifies --
    "shipped: a known caller, 1, hears the planned outages (three of four)": Scenario(
        "shipped", [None, KNOWN, "1", Acted("found", {"outages": OUTAGES}), None, "2"],
        [WELCOME, IDENTIFY, MAIN, OUTAGES_LOOKUP, play(OUTAGE_SOUNDS), AFTER_INFO, GOODBYE],
        KNOWN_CALLER_PATH + [
            pressed("main", "1"), went("want_outages", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "found"),
            played("outages_list", *ids(OUTAGE_SOUNDS)), played("after_info", "after_info"),
            pressed("after_info", "2"), played("served_goodbye", "goodbye")]),
    "shipped: a known caller, 1, no planned outages": Scenario(
        "shipped", [None, KNOWN, "1", Acted("none", {"outages": []}), None],
        [WELCOME, IDENTIFY, MAIN, OUTAGES_LOOKUP, NO_OUTAGES, AFTER_INFO],
        KNOWN_CALLER_PATH + [
            pressed("main", "1"), went("want_outages", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "none"),
            played("no_outages", "no_planned_outages"), played("after_info", "after_info")]),
    "shipped: a known caller, 1, the records are down: apology, then an operator": Scenario(
        "shipped", [None, KNOWN, "1", Acted("unavailable"), None],
        [WELCOME, IDENTIFY, MAIN, OUTAGES_LOOKUP, UNAVAILABLE, OPERATOR],
        KNOWN_CALLER_PATH + [
            pressed("main", "1"), went("want_outages", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "unavailable"),
            played("records_unavailable", "records_unavailable"),
            played("operator", "transfer_operator")],
        {"node": "operator", "gave_up": None}),
    "shipped: a known caller, 2, hears the bill read straight away": Scenario(
        "shipped", [None, KNOWN, "2", BILL, None, None, "1"],
        [WELCOME, IDENTIFY, MAIN, BILL_LOOKUP, play(BILL_SOUNDS), play(UNPAID_SOUNDS),
         AFTER_INFO, MAIN],
        KNOWN_CALLER_PATH + [
            pressed("main", "2"), went("want_bill", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", *ids(BILL_SOUNDS)), went("unpaid_check", "unpaid_total"),
            played("unpaid_total", *ids(UNPAID_SOUNDS)), played("after_info", "after_info"),
            pressed("after_info", "1"), played("main", "main_menu")]),
    "shipped: a known caller with a paid bill hears no unpaid total": Scenario(
        "shipped", [None, KNOWN, "2", PAID_BILL, None],
        [WELCOME, IDENTIFY, MAIN, BILL_LOOKUP, play(bill_sounds(PAID_BILL.values["bill"])),
         AFTER_INFO],
        KNOWN_CALLER_PATH + [
            pressed("main", "2"), went("want_bill", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", *ids(bill_sounds(PAID_BILL.values["bill"]))),
            went("unpaid_check", "after_info"), played("after_info", "after_info")]),
    "shipped: a known caller, 3 then 1: a hazard is recorded and goes to the top of the queue":
    Scenario(
        "shipped", [None, KNOWN, "3", "1", None, CREATED_HAZARD, None],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, HAZARD, HAZARD_REQUEST,
         play(HAZARD_NUMBER_SOUNDS), URGENT],
        KNOWN_CALLER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            pressed("report_menu", "1"), played("hazard_warning", "hazard_warning"),
            acted("create_hazard", "create_request", "created"),
            played("hazard_number", *ids(HAZARD_NUMBER_SOUNDS)),
            played("hazard_operator", "transfer_operator_urgent")]),
    "shipped: a hazard while the records are down still reaches an operator at once": Scenario(
        "shipped", [None, KNOWN, "3", "1", None, Acted("unavailable")],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, HAZARD, HAZARD_REQUEST, URGENT],
        KNOWN_CALLER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            pressed("report_menu", "1"), played("hazard_warning", "hazard_warning"),
            acted("create_hazard", "create_request", "unavailable"),
            played("hazard_operator", "transfer_operator_urgent")]),
    "shipped: the hazard number cannot be cut short by a global key": Scenario(
        "shipped", [None, KNOWN, "3", "1", None, CREATED_HAZARD, "0"],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, HAZARD, HAZARD_REQUEST,
         play(HAZARD_NUMBER_SOUNDS), URGENT],
        KNOWN_CALLER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            pressed("report_menu", "1"), played("hazard_warning", "hazard_warning"),
            acted("create_hazard", "create_request", "created"),
            played("hazard_number", *ids(HAZARD_NUMBER_SOUNDS)), skipped("hazard_number", "0"),
            played("hazard_operator", "transfer_operator_urgent")]),
    "shipped: a known caller, 3 then 2: an outage report, its number and deadline": Scenario(
        "shipped", [None, KNOWN, "3", "2", CREATED_REPORT, None],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, OUTAGE_REPORT, play(REPORT_SOUNDS), AFTER_INFO],
        KNOWN_CALLER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            pressed("report_menu", "2"), went("want_report", "create_outage_report"),
            acted("create_outage_report", "create_request", "created"),
            played("report_number", *ids(REPORT_SOUNDS)), played("after_info", "after_info")]),
    "shipped: 4, a request number with the terminator, its status and deadline": Scenario(
        "shipped", [None, STRANGER, "4", REQUEST + "#", FOUND_REQUEST, None],
        [WELCOME, IDENTIFY, MAIN, ASK_REQUEST, REQUEST_LOOKUP, play(STATUS_SOUNDS), AFTER_INFO],
        STRANGER_PATH + [
            pressed("main", "4"), played("ask_request", "enter_request_number"),
            collected("ask_request", REQUEST), acted("request_lookup", "request_status", "found"),
            played("request_info", *ids(STATUS_SOUNDS)), played("after_info", "after_info")]),
    "shipped: 4, a wrong check digit is caught before any lookup": Scenario(
        "shipped", [None, STRANGER, "4", MISTYPED + "#", REQUEST],
        [WELCOME, IDENTIFY, MAIN, ASK_REQUEST, ASK_REQUEST_AGAIN, REQUEST_LOOKUP],
        STRANGER_PATH + [
            pressed("main", "4"), played("ask_request", "enter_request_number"),
            wrong("ask_request", MISTYPED),
            played("ask_request", "request_number_invalid", "enter_request_number"),
            collected("ask_request", REQUEST)]),
    "shipped: 4, an unknown request three times: an operator is offered": Scenario(
        "shipped", [None, STRANGER, "4", REQUEST, Acted("not_found"), None, REQUEST,
                    Acted("not_found"), None, REQUEST, Acted("not_found"), "1"],
        [WELCOME, IDENTIFY, MAIN, ASK_REQUEST, REQUEST_LOOKUP, play(vi("request_not_found")),
         ASK_REQUEST, REQUEST_LOOKUP, play(vi("request_not_found")), ASK_REQUEST,
         REQUEST_LOOKUP, OFFER_OPERATOR, OPERATOR],
        STRANGER_PATH + [
            pressed("main", "4"), played("ask_request", "enter_request_number"),
            *[entry for _ in range(2) for entry in (
                collected("ask_request", REQUEST),
                acted("request_lookup", "request_status", "not_found"),
                went("request_unknown", "request_not_found"),
                played("request_not_found", "request_not_found"),
                played("ask_request", "enter_request_number"))],
            collected("ask_request", REQUEST),
            acted("request_lookup", "request_status", "not_found"),
            went("request_unknown", "offer_operator"), played("offer_operator", "offer_operator"),
            pressed("offer_operator", "1"), played("operator", "transfer_operator")]),
    # -- a caller the calling number does not identify keys a customer code --
    "shipped: a stranger, 2, keys the code with #, then hears the bill": Scenario(
        "shipped", [None, STRANGER, "2", CODE + "#", KNOWN, BILL],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, FIND_CODE, BILL_LOOKUP, play(BILL_SOUNDS)],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"), collected("ask_code", CODE),
            acted("find_customer", "find_customer", "found"), went("route_service", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", *ids(BILL_SOUNDS))]),
    "shipped: a stranger, 1, keys the code without # (all 11 digits end it)": Scenario(
        "shipped", [None, STRANGER, "1", CODE, KNOWN, Acted("none", {"outages": []})],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, FIND_CODE, OUTAGES_LOOKUP, NO_OUTAGES],
        STRANGER_PATH + [
            pressed("main", "1"), went("want_outages", "ask_code"),
            played("ask_code", "enter_customer_code"), collected("ask_code", CODE),
            acted("find_customer", "find_customer", "found"),
            went("route_service", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "none"),
            played("no_outages", "no_planned_outages")]),
    "shipped: a stranger, 3 then 2, keys the code, and the report is made": Scenario(
        "shipped", [None, STRANGER, "3", "2", CODE + "#", KNOWN, CREATED_REPORT],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, ASK_CODE, FIND_CODE, OUTAGE_REPORT,
         play(REPORT_SOUNDS)],
        STRANGER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            pressed("report_menu", "2"), went("want_report", "ask_code"),
            played("ask_code", "enter_customer_code"), collected("ask_code", CODE),
            acted("find_customer", "find_customer", "found"),
            went("route_service", "create_outage_report"),
            acted("create_outage_report", "create_request", "created"),
            played("report_number", *ids(REPORT_SOUNDS))]),
    "shipped: codes of 10 and 12 digits fail the length check, then an operator": Scenario(
        "shipped", [None, STRANGER, "2", CODE[:-1] + "#", CODE + "1", CODE[:-1]],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, ASK_CODE_AGAIN, ASK_CODE_AGAIN, OFFER_OPERATOR],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"),
            wrong("ask_code", CODE[:-1]),
            played("ask_code", "customer_code_invalid", "enter_customer_code"),
            wrong("ask_code", CODE + "1"),
            played("ask_code", "customer_code_invalid", "enter_customer_code"),
            wrong("ask_code", CODE[:-1], exhausted=True),
            played("offer_operator", "offer_operator")],
        {"node": "offer_operator", "gave_up": "invalid_input", "attempts": 0}),
    "shipped: three unknown codes: the counter offers an operator": Scenario(
        "shipped", [None, STRANGER, "2", CODE, STRANGER, None, CODE, Acted("invalid"), None,
                    CODE, STRANGER, "2"],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, FIND_CODE, NOT_FOUND, ASK_CODE, FIND_CODE,
         NOT_FOUND, ASK_CODE, FIND_CODE, OFFER_OPERATOR, MAIN],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"),
            collected("ask_code", CODE), acted("find_customer", "find_customer", "not_found"),
            went("code_unknown", "code_not_found"),
            played("code_not_found", "customer_not_found"),
            played("ask_code", "enter_customer_code"),
            collected("ask_code", CODE), acted("find_customer", "find_customer", "invalid"),
            went("code_unknown", "code_not_found"),
            played("code_not_found", "customer_not_found"),
            played("ask_code", "enter_customer_code"),
            collected("ask_code", CODE), acted("find_customer", "find_customer", "not_found"),
            went("code_unknown", "offer_operator"), played("offer_operator", "offer_operator"),
            pressed("offer_operator", "2"), played("main", "main_menu")]),
    "shipped: digits keyed during the apology start the next code, even a 0": Scenario(
        "shipped", [None, STRANGER, "2", CODE, STRANGER, "0", CODE + "#"],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, FIND_CODE, NOT_FOUND,
         replace(ASK_CODE, sounds=(), timeout_ms=4000, prefix="0"), FIND_CODE],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"),
            collected("ask_code", CODE), acted("find_customer", "find_customer", "not_found"),
            went("code_unknown", "code_not_found"),
            played("code_not_found", "customer_not_found"),
            pressed("ask_code", "0", type_ahead=True), collected("ask_code", CODE)],
        notes="the channel hands back the typed-ahead prefix with the digits that follow"),
    "shipped: silence at the code goes back to the main menu": Scenario(
        "shipped", [None, STRANGER, "2", None, None, None],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, ASK_CODE_AFTER_SILENCE, ASK_CODE_AFTER_SILENCE,
         MAIN],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"),
            silence("ask_code"), played("ask_code", "no_input", "enter_customer_code"),
            silence("ask_code"), played("ask_code", "no_input", "enter_customer_code"),
            silence("ask_code", exhausted=True), played("main", "main_menu")]),
    "shipped: the code lookup is down: apology, then an operator": Scenario(
        "shipped", [None, STRANGER, "2", CODE, Acted("unavailable"), None],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, FIND_CODE, UNAVAILABLE, OPERATOR],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"), collected("ask_code", CODE),
            acted("find_customer", "find_customer", "unavailable"),
            played("records_unavailable", "records_unavailable"),
            played("operator", "transfer_operator")]),
    "shipped: the caller id lookup is down: the menu goes on without a customer": Scenario(
        "shipped", [None, Acted("unavailable"), "2"],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE],
        OPENING + [acted("identify", "identify_caller", "unavailable"),
                   played("main", "main_menu"), pressed("main", "2"),
                   went("want_bill", "ask_code"), played("ask_code", "enter_customer_code")]),
    # -- English --
    "shipped: 9 switches every sound to English, and the operator to an English speaker":
    Scenario(
        "shipped", [None, KNOWN, "9", "2", PAID_BILL, None, "0"],
        [WELCOME, IDENTIFY, MAIN, MAIN_EN, BILL_LOOKUP,
         play(en("bill_latest_is", *said("money", 180_500, "en"), "bill_for_consumption",
                 *said("kwh", 95, "en"), "bill_due_on", *said("date", dt.date(2026, 3, 20), "en"),
                 "bill_paid")),
         ask(en("after_info"), timeout_ms=4000), OPERATOR_EN],
        KNOWN_CALLER_PATH + [
            pressed("main", "9"), {"node": "english", "language": "en"},
            played("main", "main_menu"), pressed("main", "2"), went("want_bill", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", "bill_latest_is", *said("money", 180_500, "en"),
                   "bill_for_consumption", *said("kwh", 95, "en"), "bill_due_on",
                   *said("date", dt.date(2026, 3, 20), "en"), "bill_paid"),
            went("unpaid_check", "after_info"), played("after_info", "after_info"),
            global_key("after_info", "0"), played("operator", "transfer_operator")]),
    "shipped: English outages": Scenario(
        "shipped", [None, KNOWN, "9", "1", Acted("found", {"outages": OUTAGES[3:]})],
        [WELCOME, IDENTIFY, MAIN, MAIN_EN, OUTAGES_LOOKUP,
         play(en("outages_intro", *outage_sounds(OUTAGES[3], "en")))],
        KNOWN_CALLER_PATH + [
            pressed("main", "9"), {"node": "english", "language": "en"},
            played("main", "main_menu"), pressed("main", "1"),
            went("want_outages", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "found"),
            played("outages_list", "outages_intro", *outage_sounds(OUTAGES[3], "en"))]),
    # -- the global keys --
    "shipped: 0 at the main menu reaches an operator": Scenario(
        "shipped", [None, KNOWN, "0"], [WELCOME, IDENTIFY, MAIN, OPERATOR],
        KNOWN_CALLER_PATH + [global_key("main", "0"), played("operator", "transfer_operator")]),
    "shipped: 0 during the welcome reaches an operator after the caller lookup": Scenario(
        "shipped", ["0", KNOWN], [WELCOME, IDENTIFY, OPERATOR],
        OPENING + [acted("identify", "identify_caller", "found"),
                   {"node": "main", "key": "0", "event": "global", "type_ahead": True},
                   played("operator", "transfer_operator")]),
    "shipped: 0 during the bill reaches an operator": Scenario(
        "shipped", [None, KNOWN, "2", BILL, "0"],
        [WELCOME, IDENTIFY, MAIN, BILL_LOOKUP, play(BILL_SOUNDS), OPERATOR],
        KNOWN_CALLER_PATH + [
            pressed("main", "2"), went("want_bill", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", *ids(BILL_SOUNDS)), global_key("bill_info", "0"),
            played("operator", "transfer_operator")]),
    "shipped: 0 at the code prompt is a digit, not the operator": Scenario(
        "shipped", [None, STRANGER, "2", "0"],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, ASK_CODE_AGAIN],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"), wrong("ask_code", "0"),
            played("ask_code", "customer_code_invalid", "enter_customer_code")],
        notes="a digit at a collect node is a digit, not the global 0"),
    "shipped: * repeats the main menu and gives back its retries": Scenario(
        "shipped", [None, KNOWN, "7", "8", "*", "7", "8", "7"],
        [WELCOME, IDENTIFY, MAIN, MAIN_AFTER_WRONG_KEY, MAIN_AFTER_WRONG_KEY, MAIN,
         MAIN_AFTER_WRONG_KEY, MAIN_AFTER_WRONG_KEY, OFFER_OPERATOR],
        KNOWN_CALLER_PATH + [
            wrong("main", "7"), played("main", "invalid_choice", "main_menu"),
            wrong("main", "8"), played("main", "invalid_choice", "main_menu"),
            global_key("main", "*", "repeat"), played("main", "main_menu"),
            wrong("main", "7"), played("main", "invalid_choice", "main_menu"),
            wrong("main", "8"), played("main", "invalid_choice", "main_menu"),
            wrong("main", "7", exhausted=True), played("offer_operator", "offer_operator")]),
    "shipped: * while keying a code repeats the code prompt": Scenario(
        "shipped", [None, STRANGER, "2", "123#", "*"],
        [WELCOME, IDENTIFY, MAIN, ASK_CODE, ASK_CODE_AGAIN, ASK_CODE],
        STRANGER_PATH + [
            pressed("main", "2"), went("want_bill", "ask_code"),
            played("ask_code", "enter_customer_code"), wrong("ask_code", "123"),
            played("ask_code", "customer_code_invalid", "enter_customer_code"),
            global_key("ask_code", "*", "repeat"), played("ask_code", "enter_customer_code")],
        {"node": "ask_code", "attempts": 0, "back": ("main",)}),
    "shipped: # goes back from the report menu to the main menu": Scenario(
        "shipped", [None, KNOWN, "3", "#", "#"],
        [WELCOME, IDENTIFY, MAIN, REPORT_MENU, MAIN, MAIN],
        KNOWN_CALLER_PATH + [
            pressed("main", "3"), played("report_menu", "report_menu"),
            global_key("report_menu", "#", "back"), played("main", "main_menu"),
            global_key("main", "#", "back"), played("main", "main_menu")],
        {"node": "main", "back": ()}),
    "shipped: # at the first menu, with nothing to go back to, repeats it": Scenario(
        "shipped", [None, KNOWN, "8", "#", None],
        [WELCOME, IDENTIFY, MAIN, MAIN_AFTER_WRONG_KEY, MAIN, MAIN_AFTER_SILENCE],
        KNOWN_CALLER_PATH + [
            wrong("main", "8"), played("main", "invalid_choice", "main_menu"),
            global_key("main", "#", "back"), played("main", "main_menu"),
            silence("main"), played("main", "no_input", "main_menu")],
        {"node": "main", "attempts": 1, "back": ()}),
    # -- the calendar --
    "shipped: a listed holiday is greeted before the welcome": Scenario(
        "shipped", [None, None, KNOWN], [HOLIDAY, WELCOME, IDENTIFY, MAIN],
        [went("opening", "holiday_greeting"), played("holiday_greeting", "holiday_greeting"),
         played("welcome", "welcome"), acted("identify", "identify_caller", "found"),
         played("main", "main_menu")],
        now=NEW_YEAR),
    "shipped: the day after the holiday is an ordinary day": Scenario(
        "shipped", [None], [WELCOME, IDENTIFY], OPENING,
        now=NEW_YEAR + dt.timedelta(days=1)),
    # -- giving up --
    "shipped: silence at the main menu until goodbye": Scenario(
        "shipped", [None, KNOWN, None, None, None],
        [WELCOME, IDENTIFY, MAIN, MAIN_AFTER_SILENCE, MAIN_AFTER_SILENCE, GOODBYE_NO_INPUT],
        KNOWN_CALLER_PATH + [
            silence("main"), played("main", "no_input", "main_menu"),
            silence("main"), played("main", "no_input", "main_menu"),
            silence("main", exhausted=True), played("goodbye", "goodbye")],
        {"node": "goodbye", "gave_up": "no_input"}),
    "shipped: wrong keys at the main menu until an operator is offered": Scenario(
        "shipped", [None, KNOWN, "8", "8", "7", None],
        [WELCOME, IDENTIFY, MAIN, MAIN_AFTER_WRONG_KEY, MAIN_AFTER_WRONG_KEY, OFFER_OPERATOR,
         ask(vi("no_input", "offer_operator"))],
        KNOWN_CALLER_PATH + [
            wrong("main", "8"), played("main", "invalid_choice", "main_menu"),
            wrong("main", "8"), played("main", "invalid_choice", "main_menu"),
            wrong("main", "7", exhausted=True), played("offer_operator", "offer_operator"),
            silence("offer_operator"), played("offer_operator", "no_input", "offer_operator")]),
    "shipped: served, then silence at the last menu: the call completed": Scenario(
        "shipped", [None, KNOWN, "1", Acted("none", {"outages": []}), None, None, None],
        [WELCOME, IDENTIFY, MAIN, OUTAGES_LOOKUP, NO_OUTAGES, AFTER_INFO,
         ask(vi("no_input", "after_info"), timeout_ms=4000), GOODBYE],
        KNOWN_CALLER_PATH + [
            pressed("main", "1"), went("want_outages", "outages_lookup"),
            acted("outages_lookup", "planned_outages", "none"),
            played("no_outages", "no_planned_outages"), played("after_info", "after_info"),
            silence("after_info"), played("after_info", "no_input", "after_info"),
            silence("after_info", exhausted=True), played("served_goodbye", "goodbye")]),
    # -- type-ahead --
    "shipped: a key during the bill answers the menu after it": Scenario(
        "shipped", [None, KNOWN, "2", PAID_BILL, "1"],
        [WELCOME, IDENTIFY, MAIN, BILL_LOOKUP, play(bill_sounds(PAID_BILL.values["bill"])),
         MAIN],
        KNOWN_CALLER_PATH + [
            pressed("main", "2"), went("want_bill", "bill_lookup"),
            acted("bill_lookup", "bill_status", "found"),
            played("bill_info", *ids(bill_sounds(PAID_BILL.values["bill"]))),
            went("unpaid_check", "after_info"), pressed("after_info", "1", type_ahead=True),
            played("main", "main_menu")]),
    "shipped: a key during the welcome waits out the lookup and answers the menu": Scenario(
        "shipped", ["1", KNOWN], [WELCOME, IDENTIFY, OUTAGES_LOOKUP],
        OPENING + [acted("identify", "identify_caller", "found"),
                   {"node": "main", "key": "1", "type_ahead": True},
                   went("want_outages", "outages_lookup")]),
    # -- small menus --
    "phone: a number keyed in international form is read back and confirmed": Scenario(
        "phone", ["84909123456#", None, "1"],
        [collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         play(vi("you_entered", *said("digits", "0909123456"))),
         ask(vi("press_1_if_right_2_to_retry")), Finish(vi("thanks"), "completed", "hangup")],
        [played("ask_phone", "enter_phone"), collected("ask_phone", "84909123456"),
         played("read_back", "you_entered", *said("digits", "0909123456")),
         played("confirm_phone", "press_1_if_right_2_to_retry"),
         pressed("confirm_phone", "1"), played("thanks", "thanks")]),
    "phone: not a phone number is asked again": Scenario(
        "phone", ["123456789", "1900112233"],
        [collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         collect(vi("invalid_choice", "enter_phone"), digits=11, timeout_ms=5000, gap_ms=3000),
         collect(vi("invalid_choice", "enter_phone"), digits=11, timeout_ms=5000, gap_ms=3000)],
        [played("ask_phone", "enter_phone"), wrong("ask_phone", "123456789"),
         played("ask_phone", "invalid_choice", "enter_phone"), wrong("ask_phone", "1900112233"),
         played("ask_phone", "invalid_choice", "enter_phone")]),
    "phone: 2 at the confirmation asks again; # there returns to the last menu, itself":
    Scenario(
        "phone", ["0909123456", None, "2", "0912345678", None, "#"],
        [collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         play(vi("you_entered", *said("digits", "0909123456"))),
         ask(vi("press_1_if_right_2_to_retry")),
         collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         play(vi("you_entered", *said("digits", "0912345678"))),
         ask(vi("press_1_if_right_2_to_retry")),
         ask(vi("press_1_if_right_2_to_retry"))],
        [played("ask_phone", "enter_phone"), collected("ask_phone", "0909123456"),
         played("read_back", "you_entered", *said("digits", "0909123456")),
         played("confirm_phone", "press_1_if_right_2_to_retry"),
         pressed("confirm_phone", "2"), played("ask_phone", "enter_phone"),
         collected("ask_phone", "0912345678"),
         played("read_back", "you_entered", *said("digits", "0912345678")),
         played("confirm_phone", "press_1_if_right_2_to_retry"),
         global_key("confirm_phone", "#", "back"),
         played("confirm_phone", "press_1_if_right_2_to_retry")],
        {"node": "confirm_phone", "back": ()},
        notes="'back' returns to the menu where the caller last chose; collect nodes are "
              "not on the back stack"),
    "phone: a key during the read-back answers the confirmation (type-ahead)": Scenario(
        "phone", ["0909123456", "1"],
        [collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         play(vi("you_entered", *said("digits", "0909123456"))),
         Finish(vi("thanks"), "completed", "hangup")],
        [played("ask_phone", "enter_phone"), collected("ask_phone", "0909123456"),
         played("read_back", "you_entered", *said("digits", "0909123456")),
         pressed("confirm_phone", "1", type_ahead=True), played("thanks", "thanks")]),
    "phone: a wrong key typed ahead counts as the confirmation's first miss": Scenario(
        "phone", ["0909123456", "3", "4"],
        [collect(("vi/enter_phone",), digits=11, timeout_ms=5000, gap_ms=3000),
         play(vi("you_entered", *said("digits", "0909123456"))),
         ask(vi("invalid_choice", "press_1_if_right_2_to_retry")),
         Finish(vi("transfer_operator"), "queued", "queue", queue="operators")],
        [played("ask_phone", "enter_phone"), collected("ask_phone", "0909123456"),
         played("read_back", "you_entered", *said("digits", "0909123456")),
         wrong("confirm_phone", "3", type_ahead=True),
         played("confirm_phone", "invalid_choice", "press_1_if_right_2_to_retry"),
         wrong("confirm_phone", "4", exhausted=True), played("operator", "transfer_operator")]),
    "meter: without a terminator the digits are taken as keyed, # is the back key": Scenario(
        "meter", ["012345"],
        [METER,
         Finish(vi("reading_is", *said("digits", "012345")), "completed", "hangup")],
        [played("ask_reading", "enter_meter_reading"), collected("ask_reading", "012345"),
         played("read_back", "reading_is", *said("digits", "012345"))]),
    "meter: a # after the digits is no terminator here, then too few digits": Scenario(
        "meter", ["1234#", "123"],
        [METER, METER_AGAIN, Finish(vi("transfer_operator"), "queued", "queue",
                                    queue="operators")],
        [played("ask_reading", "enter_meter_reading"), wrong("ask_reading", "1234#"),
         played("ask_reading", "invalid_choice", "enter_meter_reading"),
         wrong("ask_reading", "123", exhausted=True), played("operator", "transfer_operator")]),
    "meter: # with no menu before it repeats the question, then too many digits": Scenario(
        "meter", ["12#", "#", "1234567"], [METER, METER_AGAIN, METER, METER_AGAIN],
        [played("ask_reading", "enter_meter_reading"), wrong("ask_reading", "12#"),
         played("ask_reading", "invalid_choice", "enter_meter_reading"),
         global_key("ask_reading", "#", "back"), played("ask_reading", "enter_meter_reading"),
         wrong("ask_reading", "1234567"),
         played("ask_reading", "invalid_choice", "enter_meter_reading")],
        {"node": "ask_reading", "attempts": 1}),
    "english: a language node switches the sounds; the transfer asks for a vi operator":
    Scenario(
        "english", [None],
        [play(en("welcome", *said("digits", CALLER, "en"))),
         Finish(en("transfer_operator"), "queued", "queue", queue="operators",
                skills=("general",), language="vi")],
        [{"node": "to_english", "language": "en"},
         played("welcome", "welcome", *said("digits", CALLER, "en")),
         played("operator", "transfer_operator")],
        {"node": "operator", "language": "en"}),
    "outcome: a known outcome goes where 'on' says": Scenario(
        "outcome", [KNOWN], [IDENTIFY, Finish(vi("known"), "completed", "hangup")],
        [acted("find", "identify_caller", "found"), played("known", "known")]),
    "outcome: an outcome not under 'on' goes to 'next'": Scenario(
        "outcome", [Acted("many", {"customers": [CUSTOMER, CUSTOMER]})],
        [IDENTIFY, Finish(vi("unknown"), "completed", "hangup")],
        [acted("find", "identify_caller", "many"), played("unknown", "unknown")]),
    "outcome: an outcome no action has also goes to 'next'": Scenario(
        "outcome", [Acted("timeout")], [IDENTIFY, Finish(vi("unknown"), "completed", "hangup")],
        [acted("find", "identify_caller", "timeout"), played("unknown", "unknown")]),
    "visits: a +1 counter on a condition ends the third visit": Scenario(
        "visits", ["1", None, "1", "*", "1"],
        [ask(vi("main_menu")), play(vi("info")), ask(vi("main_menu")), play(vi("info")),
         play(vi("info")), Finish(vi("goodbye"), "completed", "hangup")],
        [played("main", "main_menu"), pressed("main", "1"), went("info", "info_text"),
         played("info_text", "info"), played("main", "main_menu"), pressed("main", "1"),
         went("info", "info_text"), played("info_text", "info"),
         global_key("info_text", "*", "repeat"), played("info_text", "info"),
         pressed("main", "1", type_ahead=True), went("info", "enough"),
         played("enough", "goodbye")]),
    "news: 0 during an announcement is the global key": Scenario(
        "news", ["0"],
        [play(vi("news")), Finish(vi("transfer_operator"), "queued", "queue", queue="operators",
                                  skills=("outage",), priority=5)],
        [played("news", "news"), global_key("news", "0"), played("operator", "transfer_operator")]),
    "news: 0 is no global key where the node says 'keys: no'": Scenario(
        "news", [None, "0"],
        [play(vi("news")), play(vi("headline")),
         Finish(vi("transfer_operator"), "queued", "queue", queue="operators",
                skills=("outage",), priority=5)],
        [played("news", "news"), played("headline", "headline"), skipped("headline", "0"),
         played("operator", "transfer_operator")]),
    "news: a key skipped before a transfer": Scenario(
        "news", ["5", "7"],
        [play(vi("news")), play(vi("headline")),
         Finish(vi("transfer_operator"), "queued", "queue", queue="operators",
                skills=("outage",), priority=5)],
        [played("news", "news"), skipped("news", "5"), played("headline", "headline"),
         skipped("headline", "7"), played("operator", "transfer_operator")]),
}


def run(menu: Menu, events: list[Event | str | None], now: dt.datetime = TUESDAY
        ) -> tuple[list[Effect], list[dict[str, Any]], CallState]:
    state, effect, path = start(menu, caller=CALLER, now=now)
    effects: list[Effect] = [effect]
    for event in events:
        if not isinstance(event, (Heard, Acted)):
            event = Heard(event)
        expected = Act if isinstance(event, Acted) else Prompt
        assert isinstance(effect, expected), f"{event} after {effect}"
        state, effect, entries = step(menu, state, event, now)
        effects.append(effect)
        path += entries
    return effects, path, state


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(menus: dict[str, Menu], name: str) -> None:
    scenario = SCENARIOS[name]
    effects, path, state = run(menus[scenario.menu], scenario.events, scenario.now)
    assert effects == scenario.effects
    assert path == scenario.path
    json.dumps(path)  # the path is stored as JSON with the call
    if scenario.final is not None:
        assert {name: getattr(state, name) for name in scenario.final} == scenario.final


# --- single behaviours ----------------------------------------------------------------------------

def test_a_call_starts_with_the_caller_and_the_first_language(menus: dict[str, Menu]) -> None:
    state, effect, path = start(menus["shipped"], caller=CALLER, now=TUESDAY)
    assert (state.node, state.language, dict(state.vars)) == (
        "welcome", "vi", {"caller": CALLER, "language": "vi",
                          "features": {"products": "off"}})
    assert effect == WELCOME and path == OPENING


def test_a_call_can_start_in_english(menus: dict[str, Menu]) -> None:
    state, effect, _ = start(menus["shipped"], caller=CALLER, now=TUESDAY, language="en")
    assert effect == play(en("welcome"))
    assert state.vars["language"] == "en"


def test_the_actions_answers_become_variables(menus: dict[str, Menu]) -> None:
    _, _, state = run(menus["shipped"], [None, STRANGER, "2", CODE + "#", KNOWN])
    assert state.vars["customer_code"] == "PE" + CODE
    assert state.vars["customer"] == CUSTOMER
    assert state.vars["service"] == "bill"


def test_the_code_counter_counts_each_unknown_code(menus: dict[str, Menu]) -> None:
    _, _, state = run(menus["shipped"], [None, STRANGER, "2", CODE, STRANGER, None, CODE,
                                         STRANGER])
    assert state.vars["code_tries"] == 2
    assert state.node == "code_not_found"


def test_a_set_on_an_action_node_applies_before_it_runs(menus: dict[str, Menu]) -> None:
    state, effect, _ = start(menus["outcome"], now=TUESDAY)
    assert effect == IDENTIFY
    assert (state.vars["lookups"], state.vars["source"]) == (1, "caller_id")


def test_the_bill_is_spoken_word_by_word(menus: dict[str, Menu]) -> None:
    """The sounds pinned once without speech.values: 1 250 000 đồng, 342 kWh, 20 March 2026."""
    effects, _, _ = run(menus["shipped"], [None, KNOWN, "2", BILL])
    assert effects[-1] == play(vi(
        "bill_latest_is", "num_1", "million", "num_2", "hundred", "num_5", "tens", "thousand",
        "dong", "bill_for_consumption", "num_3", "hundred", "num_4", "tens", "num_2",
        "kilowatt_hour", "bill_due_on", "day", "num_2", "tens", "month", "num_3", "year",
        "num_2", "thousand", "num_0", "hundred", "num_2", "tens", "num_6", "bill_unpaid"))


def test_outages_are_read_three_at_most_with_dates_and_times(menus: dict[str, Menu]) -> None:
    """The first outage pinned once without speech.values: 11 March 2026, 08:00 to 11:30."""
    effects, _, _ = run(menus["shipped"], [None, KNOWN, "1",
                                           Acted("found", {"outages": OUTAGES})])
    sounds = effects[-1].sounds  # type: ignore[union-attr]
    assert sounds[:22] == vi(
        "outages_intro", "outage_on", "day", "num_10", "num_1", "month", "num_3", "year",
        "num_2", "thousand", "num_0", "hundred", "num_2", "tens", "num_6", "outage_from",
        "num_8", "hour", "outage_to", "num_10", "num_1", "hour")
    assert sounds[22:26] == vi("num_3", "tens", "minute", "outage_on")
    assert sounds.count("vi/outage_on") == 3  # the fourth (15 March) is not read
    assert sounds == OUTAGE_SOUNDS


@pytest.mark.parametrize("now, prompt", [
    (dt.datetime(2026, 3, 10, 10, 0), "office"),     # Tuesday
    (dt.datetime(2026, 3, 10, 8, 0), "office"),      # the start is inside
    (dt.datetime(2026, 3, 10, 16, 59), "office"),
    (dt.datetime(2026, 3, 10, 17, 0), "evening"),    # the end is outside
    (dt.datetime(2026, 3, 10, 7, 59), "evening"),
    (dt.datetime(2026, 3, 10, 21, 59), "evening"),
    (dt.datetime(2026, 3, 10, 22, 0), "night"),      # 22:00-06:00 crosses midnight
    (dt.datetime(2026, 3, 10, 23, 59), "night"),
    (dt.datetime(2026, 3, 11, 0, 0), "night"),
    (dt.datetime(2026, 3, 11, 5, 59), "night"),
    (dt.datetime(2026, 3, 11, 6, 0), "evening"),
    (dt.datetime(2026, 3, 14, 10, 0), "weekend"),    # Saturday
    (dt.datetime(2026, 3, 15, 23, 0), "weekend"),    # Sunday night: days come first
    (dt.datetime(2026, 3, 16, 3, 0), "night"),       # Monday before dawn
    (dt.datetime(2026, 12, 24, 10, 0), "eve"),       # a Thursday, listed under dates
    (dt.datetime(2026, 12, 31, 23, 30), "eve"),
    (dt.datetime(2027, 12, 24, 10, 0), "office"),    # dates are whole dates, not yearly
], ids=lambda v: v.strftime("%a %Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else v)
def test_conditions_on_the_calendar(menus: dict[str, Menu], now: dt.datetime,
                                    prompt: str) -> None:
    _, effect, path = start(menus["hours"], now=now)
    assert effect == Finish(vi(prompt), "completed", "hangup")
    assert path == [went("route", prompt), played(prompt, prompt)]


@pytest.mark.parametrize("bill, prompt", [
    ({"unpaid_total": 1_000_001, "status": "unpaid", "unpaid_count": 3}, "large_debt"),
    ({"unpaid_total": 1_000_000, "status": "unpaid", "unpaid_count": 2,
      "due_date": dt.date(2026, 3, 20)}, "unpaid"),                        # gt is strict
    ({"unpaid_total": "2000000", "status": "unpaid"}, "large_debt"),       # text numbers count
    ({"unpaid_total": "a lot", "status": "paid"}, "paid"),                 # not a number: no
    ({"unpaid_total": None, "status": "paid"}, "paid"),
    ({"unpaid_total": 0, "status": "unpaid", "unpaid_count": 0}, "paid"),  # eq compares text
    ({"unpaid_total": 5, "status": "unpaid", "unpaid_count": 1}, "no_date"),
    ({"unpaid_total": 5, "status": "unpaid", "unpaid_count": 1, "due_date": ""}, "no_date"),
    ({"unpaid_total": 5, "status": "unpaid", "unpaid_count": 1,
      "due_date": dt.date(2026, 3, 20)}, "unpaid"),
    ({}, "no_date"),
])
def test_conditions_on_variables(menus: dict[str, Menu], bill: dict[str, Any],
                                 prompt: str) -> None:
    state, effect, _ = start(menus["bill"], now=TUESDAY)
    assert effect == BILL_LOOKUP
    _, effect, path = step(menus["bill"], state, Acted("found", {"bill": bill}), TUESDAY)
    assert effect == Finish(vi(prompt), "completed", "hangup")
    assert path == [acted("lookup", "bill_status", "found"), went("check", prompt),
                    played(prompt, prompt)]


def test_the_code_prompt_reads_eleven_digits_and_a_hash(menus: dict[str, Menu]) -> None:
    effects, _, _ = run(menus["shipped"], [None, STRANGER, "2"])
    assert effects[-1] == Prompt(("vi/enter_customer_code",), keys=ALL_KEYS, timeout_ms=8000,
                                 max_digits=12, terminator="#", inter_digit_ms=4000,
                                 stop_keys="*")
    effects, _, _ = run(menus["shipped"], [None, STRANGER, "4"])
    assert effects[-1] == Prompt(("vi/enter_request_number",), keys=ALL_KEYS, timeout_ms=8000,
                                 max_digits=9, terminator="#", inter_digit_ms=4000,
                                 stop_keys="*")


def test_a_repeat_does_not_count_an_attempt(menus: dict[str, Menu]) -> None:
    effects, _, state = run(menus["shipped"], [None, KNOWN, None, "*"])
    assert effects[-1] == MAIN
    assert state.attempts == 0


@pytest.mark.parametrize("length", [1, 10, 50 - 1])
def test_a_chain_of_conditions_within_the_hop_limit(tmp_path: Path, length: int) -> None:
    (tmp_path / "chain.yaml").write_text(silent_chain(length), encoding="utf-8")
    menu = load_menu(tmp_path / "chain.yaml")
    _, effect, path = start(menu, now=TUESDAY)
    assert effect == Finish(vi("goodbye"), "completed", "hangup")
    assert len(path) == length + 1


def test_the_hop_limit_cannot_end_a_call_on_a_menu_the_validator_accepts(
        tmp_path: Path) -> None:
    (tmp_path / "chain.yaml").write_text(silent_chain(50), encoding="utf-8")
    menu = load_menu(tmp_path / "chain.yaml")  # accepted: no loop, every node reachable
    _, effect, _ = start(menu, now=TUESDAY)
    assert effect == Finish(vi("goodbye"), "completed", "hangup")


def test_a_collected_number_can_be_read_as_a_number(tmp_path: Path) -> None:
    (tmp_path / "reading.yaml").write_text(METER_READING.replace(
        "{say: digits, value: reading}", "{say: number, value: reading}"), encoding="utf-8")
    menu = load_menu(tmp_path / "reading.yaml")
    state, _, _ = start(menu, now=TUESDAY)
    _, effect, _ = step(menu, state, Heard("1234"), TUESDAY)
    assert effect == Finish(vi("reading_is", *said("number", 1234)), "completed", "hangup")


@pytest.mark.parametrize("node, event, kind", [
    ("welcome", Acted("found"), "play"),
    ("main", Acted("found"), "menu"),
])
def test_an_action_answer_where_no_action_ran_is_refused(menus: dict[str, Menu], node: str,
                                                         event: Acted, kind: str) -> None:
    with pytest.raises(ValueError, match=f"node '{node}' \\({kind}\\) ran no action"):
        step(menus["shipped"], CallState(node), event, TUESDAY)


@pytest.mark.parametrize("node, kind", [("identify", "action"), ("operator", "transfer"),
                                        ("goodbye", "hangup")])
def test_keys_where_the_ivr_does_not_listen_are_refused(menus: dict[str, Menu], node: str,
                                                        kind: str) -> None:
    with pytest.raises(ValueError, match=f"node '{node}' \\({kind}\\) takes no keys"):
        step(menus["shipped"], CallState(node), Heard("1"), TUESDAY)


def test_stepping_is_pure(menus: dict[str, Menu]) -> None:
    menu = menus["shipped"]
    before = repr(menu)
    state = CallState("main", attempts=1, back=("report_menu",))
    first = step(menu, state, Heard("7"), TUESDAY)
    assert step(menu, state, Heard("7"), TUESDAY) == first
    assert state == CallState("main", attempts=1, back=("report_menu",))
    assert repr(menu) == before


# --- any caller, any answers ------------------------------------------------------------------

STATUSES = ["open", "forwarded", "in_progress", "resolved", "closed", "cancelled"]
money = st.integers(0, 10**12)
days = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
times = st.times()
customers = st.fixed_dictionaries({
    "id": st.integers(1, 10**6), "code": st.just("PE" + CODE), "name": st.text(max_size=20),
    "area": st.sampled_from(["Q1", "Q3"]), "feeder": st.sampled_from(["F1", "F12"])})
outages = st.lists(st.fixed_dictionaries({"date": days, "starts_at": times, "ends_at": times}),
                   min_size=1, max_size=6)
requests = st.fixed_dictionaries({
    "number": st.text("0123456789", min_size=8, max_size=8),
    "status": st.sampled_from(STATUSES + ["unknown"]), "deadline_date": days,
    "deadline_time": times})
bills = st.fixed_dictionaries({
    "amount": money, "kwh": st.integers(0, 10**6), "due_date": days,
    "status": st.sampled_from(["paid", "unpaid"]), "unpaid_total": money,
    "unpaid_count": st.integers(0, 24)})
ANSWERS: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    ("identify_caller", "found"): customers.map(lambda c: {"customer": c, "customers": [c]}),
    ("identify_caller", "many"): st.lists(customers, min_size=2, max_size=3).map(
        lambda cs: {"customers": cs}),
    ("find_customer", "found"): customers.map(lambda c: {"customer": c}),
    ("bill_status", "found"): bills.map(lambda b: {"bill": b}),
    ("bill_status", "no_bill"): st.just({"bill": {"unpaid_total": 0, "unpaid_count": 0}}),
    ("planned_outages", "found"): outages.map(lambda o: {"outages": o,
                                                         "outage_count": len(o)}),
    ("planned_outages", "none"): st.just({"outages": []}),
    ("create_request", "created"): requests.map(lambda r: {"request": r}),
    ("request_status", "found"): requests.map(lambda r: {"request": r}),
}
keys = st.one_of(
    st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(["1", "2", "3", "4"]), st.none(),
    st.sampled_from(list(ALL_KEYS)),
    st.text("0123456789", min_size=1, max_size=13).flatmap(
        lambda d: st.sampled_from([d, d + "#", d + "*"])),
    st.sampled_from([CODE, CODE + "#", REQUEST, REQUEST + "#", MISTYPED + "#"]))


def answer(data: st.DataObject, action: str) -> Acted:
    """Any outcome of the action, the ones that serve the caller more often."""
    outcomes = sorted(ACTIONS[action].outcomes)
    outcomes += [o for o in outcomes if o in ("found", "created", "none", "not_found")] * 3
    outcome = data.draw(st.sampled_from(outcomes))
    values = data.draw(ANSWERS.get((action, outcome), st.just({})))
    return Acted(outcome, values)


@pytest.fixture(scope="module")
def sound_ids() -> dict[str, set[str]]:
    catalogue = set(load_catalogue(CATALOGUE))
    return {lang: catalogue | set(entries) for lang, entries in load_words(WORDS).items()}


@given(data=st.data(), language=st.sampled_from(["vi", "en"]),
       now=st.one_of(st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 31)),
                     st.sampled_from([NEW_YEAR, dt.datetime(2026, 9, 2, 23, 59)])))
@settings(max_examples=300, deadline=None)
def test_any_caller_on_the_shipped_menu_is_served_or_let_go(
        menus: dict[str, Menu], sound_ids: dict[str, set[str]], data: st.DataObject,
        now: dt.datetime, language: str) -> None:
    """Whatever the caller keys and the records answer, nothing raises, every sound exists, and
    once the caller stops pressing keys the call ends within a few steps. (A caller who keeps
    choosing may stay: '*' and the menus themselves loop by design.)"""
    menu = menus["shipped"]
    state, effect, path = start(menu, caller=CALLER, now=now, language=language)
    effects = [effect]
    for pressing in [True] * 40 + [False] * 30:
        if isinstance(effect, Finish):
            break
        if isinstance(effect, Act):
            event: Event = answer(data, effect.action)
        else:
            event = Heard(data.draw(keys) if pressing else None)
        state, effect, entries = step(menu, state, event, now)
        effects.append(effect)
        path += entries
    assert isinstance(effect, Finish), "a silent caller is still in the menu after 30 steps"
    assert effect.outcome in OUTCOMES and effect.route in ("hangup", "queue")
    assert effect.route == "hangup" or effect.queue == "operators"
    for sound in (s for e in effects if not isinstance(e, Act) for s in e.sounds):
        lang, sound_id = sound.split("/", 1)
        assert sound_id in sound_ids[lang], f"{sound} has no prompt or word"
    assert all(entry["node"] in menu.nodes for entry in path)
    json.dumps(path)
