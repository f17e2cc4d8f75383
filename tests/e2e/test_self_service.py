"""Callers use the shipped 19001122 menu with real keypresses (SIPp, RFC 4733) against the demo
records: what they hear must be what the database holds, and every step lands in the record.

The calls run at the same time (each a SIPp caller); each test checks one caller's record.
Timings follow the synthetic prompts: the welcome lasts about 4.5 s, so the first key at 6 s
interrupts the main menu (barge-in).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select

from records.database import make_engine, make_sessions
from records.demo import DEMO, LOCAL_OFFSET
from records.models import Bill, Customer, Request, TariffTier
from speech.values import say

from .conftest import Hotline, Record, heard, steps

pytestmark = pytest.mark.e2e

KNOWN, UNKNOWN = DEMO.caller_known, DEMO.caller_unknown
WRONG_CODE = "09999999999#"

SCENARIOS: dict[str, dict[str, Any]] = {
    "known_caller_bill": {"caller": KNOWN, "keys": "2", "delay_ms": 6000},
    "known_caller_outages": {"caller": KNOWN, "keys": "1", "delay_ms": 6000},
    "unknown_caller_keys_code": {"caller": UNKNOWN, "keys": "2 01000000001#", "delay_ms": 6000,
                                 "gap_ms": 3000},
    "three_wrong_codes": {"caller": UNKNOWN, "keys": f"2 {WRONG_CODE} {WRONG_CODE} "
                                                     f"{WRONG_CODE} 1",
                          "delay_ms": 6000, "gap_ms": 5000},
    "hazard": {"caller": KNOWN, "keys": "3 1", "delay_ms": 6000, "gap_ms": 2500},
    "request_status": {"caller": UNKNOWN, "keys": f"4 {DEMO.request_number}#", "delay_ms": 6000,
                       "gap_ms": 3000},
    "operator_on_0": {"caller": UNKNOWN, "keys": "0", "delay_ms": 6000},
    # the information and advice lines; a key pressed during an announcement answers the offer
    # that follows it
    "tariffs": {"caller": UNKNOWN, "keys": "5 1", "delay_ms": 6000, "gap_ms": 2500,
                "max_call_s": 150},
    "ways_to_pay": {"caller": KNOWN, "keys": "5 2 1", "delay_ms": 6000, "gap_ms": 2500},
    "new_connection": {"caller": UNKNOWN, "keys": "5 3 1", "delay_ms": 6000, "gap_ms": 2500},
    "advice": {"caller": KNOWN, "keys": "6 1", "delay_ms": 6000, "gap_ms": 2500},
    "english": {"caller": KNOWN, "keys": "9 2", "delay_ms": 6000, "gap_ms": 2500},
    "wrong_key_then_2": {"caller": KNOWN, "keys": "7 2", "delay_ms": 6000, "gap_ms": 2500},
    "presses_nothing": {"caller": UNKNOWN, "keys": "", "max_call_s": 150},
    "hangs_up_mid_welcome": {"caller": UNKNOWN, "keys": "", "delay_ms": 500,
                             "hangup_after_s": 1.0},
}


@pytest.fixture(scope="module")
def calls(hotline: Hotline) -> dict[str, Record]:
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(hotline.call, wait_s=40, **plan)
                   for name, plan in SCENARIOS.items()}
        results = {name: future.result()[0] for name, future in futures.items()}
    missing = [name for name, record in results.items() if record is None]
    assert not missing, f"no finished call record for {missing}"
    return results  # type: ignore[return-value]


@pytest.fixture(scope="module")
def demo(hotline: Hotline) -> dict[str, Any]:
    engine = make_engine(hotline.settings.database_url)
    with make_sessions(engine)() as s:
        customer = s.scalars(select(Customer).where(Customer.code == DEMO.customer_code)).one()
        bills = list(s.scalars(select(Bill).where(Bill.customer_id == customer.id)
                               .order_by(Bill.period.desc())))
        request = s.scalars(select(Request).where(Request.number == DEMO.request_number)).one()
        data = {"latest": bills[0], "unpaid": sum(b.amount for b in bills if not b.paid),
                "request_deadline": request.deadline_at + LOCAL_OFFSET}
    engine.dispose()
    return data


def played(record: Record, node: str) -> list[str]:
    return [p for e in record["path"] if e.get("node") == node for p in e.get("played", [])]


def test_a_known_caller_hears_the_bill_from_the_database(calls: dict[str, Record],
                                                         demo: dict[str, Any]) -> None:
    record = calls["known_caller_bill"]
    latest = demo["latest"]
    assert ["identify", "main", "main:2", "want_bill", "bill_lookup"] == [
        s for s in steps(record) if not s.startswith(("opening", "welcome"))][:5]
    assert played(record, "bill_info") == [
        "bill_latest_is", *say("money", latest.amount, "vi"), "bill_for_consumption",
        *say("kwh", latest.kwh, "vi"), "bill_due_on", *say("date", latest.due_date, "vi"),
        "bill_unpaid"]
    assert played(record, "unpaid_total") == ["unpaid_total_is",
                                              *say("money", demo["unpaid"], "vi")]
    assert {"node": "bill_lookup", "action": "bill_status", "outcome": "found"} in record["path"]
    assert record["outcome"] == "completed"
    assert record["customer_id"] is not None  # the history knows whose call it was


def test_a_known_caller_hears_the_planned_cuts_on_their_feeder_and_area(
        calls: dict[str, Record]) -> None:
    record = calls["known_caller_outages"]
    today = (dt.datetime.now(dt.UTC).replace(tzinfo=None) + LOCAL_OFFSET).date()
    expected = ["outages_intro"]
    for days, start, end in ((1, dt.time(8, 0), dt.time(11, 30)),
                             (3, dt.time(13, 0), dt.time(16, 0))):
        expected += ["outage_on", *say("date", today + dt.timedelta(days=days), "vi"),
                     "outage_from", *say("time", start, "vi"), "outage_to",
                     *say("time", end, "vi")]
    assert played(record, "outages_list") == expected
    assert record["outcome"] == "completed"


def test_an_unknown_caller_keys_a_customer_code(calls: dict[str, Record],
                                               demo: dict[str, Any]) -> None:
    record = calls["unknown_caller_keys_code"]
    assert {"node": "identify", "action": "identify_caller", "outcome": "not_found"} in \
        record["path"]
    assert "ask_code:01000000001" in steps(record)
    assert {"node": "find_customer", "action": "find_customer", "outcome": "found"} in \
        record["path"]
    assert played(record, "bill_info")[1:1 + len(say("money", demo["latest"].amount, "vi"))] == \
        say("money", demo["latest"].amount, "vi")


def test_three_wrong_codes_offer_an_operator(calls: dict[str, Record]) -> None:
    record = calls["three_wrong_codes"]
    assert steps(record).count("ask_code:09999999999") == 3
    assert "offer_operator:1" in steps(record)
    assert record["path"][-1]["node"] == "operator"
    assert record["outcome"] == "queued"
    assert record["queue_status"] == "NO_OPERATOR"  # no operator logged in in this test


def test_a_hazard_creates_a_request_reads_its_number_and_jumps_the_queue(
        calls: dict[str, Record], hotline: Hotline) -> None:
    record = calls["hazard"]
    assert "report_menu:1" in steps(record)
    spoken = played(record, "hazard_number")
    assert spoken[0] == "request_created"
    number = "".join(w.removeprefix("num_") for w in spoken[1:])
    engine = make_engine(hotline.settings.database_url)
    with make_sessions(engine)() as s:
        request = s.scalars(select(Request).where(Request.number == number)).one()
        assert (request.type, request.priority, request.caller_number) == ("hazard", 10, KNOWN)
        assert request.status == "forwarded"
    engine.dispose()
    assert record["path"][-1] == {"node": "hazard_operator",
                                  "played": ["transfer_operator_urgent"]}
    assert record["outcome"] == "queued"


def test_the_status_of_an_earlier_request(calls: dict[str, Record],
                                          demo: dict[str, Any]) -> None:
    record = calls["request_status"]
    deadline = demo["request_deadline"]
    assert f"ask_request:{DEMO.request_number}" in steps(record)
    assert played(record, "request_info") == [
        "request_status_is", "status_forwarded", "request_deadline_is",
        *say("time", deadline.time(), "vi"), "request_on", *say("date", deadline.date(), "vi")]


def test_0_reaches_an_operator_from_the_main_menu(calls: dict[str, Record]) -> None:
    record = calls["operator_on_0"]
    assert "main:0" in steps(record)
    assert record["path"][-1] == {"node": "operator", "played": ["transfer_operator"]}
    assert record["outcome"] == "queued"


def test_the_tariff_is_read_tier_by_tier_from_the_records(calls: dict[str, Record],
                                                          hotline: Hotline) -> None:
    record = calls["tariffs"]
    engine = make_engine(hotline.settings.database_url)
    with make_sessions(engine)() as s:
        tiers = list(s.scalars(select(TariffTier).where(TariffTier.tariff == "residential")
                               .order_by(TariffTier.tier)))
    engine.dispose()
    assert len(tiers) == 6
    expected = ["tariff_intro", *say("date", tiers[0].valid_from, "vi")]
    lower = 0
    for tier in tiers:
        expected += ["tariff_tier", *say("number", tier.tier, "vi")]
        if tier.up_to_kwh is None:
            expected += ["tariff_above", *say("number", lower, "vi")]
        else:
            expected += ["tariff_up_to", *say("number", tier.up_to_kwh, "vi")]
            lower = tier.up_to_kwh
        expected += ["tariff_kwh_unit", *say("money", tier.price, "vi")]
    assert ["main:5", "service_menu:1"] == [s for s in steps(record) if ":" in s][:2]
    assert {"node": "tariff_lookup", "action": "tariff", "outcome": "found"} in record["path"]
    assert played(record, "tariff_list") == expected
    assert record["outcome"] == "completed"


def waited_for(hotline: Hotline, record: Record) -> str | None:
    """The skills the ACD was asked for, as it keeps them with the call."""
    redis = Redis(**hotline.settings.redis_connection())
    try:
        stored = redis.hget(f"acd:call:{record['call_id']}", "skills")
    finally:
        redis.close()
    return stored.decode() if stored is not None else None


@pytest.mark.parametrize(("scenario", "heard", "transfer", "skill"), [
    ("ways_to_pay", ["ways_to_pay"], "billing_operator", "billing"),
    ("new_connection", ["new_connection_info"], "new_connection_operator", "new_connection"),
    ("advice", ["advice_tips"], "advice_operator", "advice"),
])
def test_the_information_lines_hand_the_caller_to_their_skill(
        calls: dict[str, Record], hotline: Hotline, scenario: str, heard: list[str],
        transfer: str, skill: str) -> None:
    record = calls[scenario]
    assert [p for e in record["path"] for p in e.get("played", [])
            if p in heard] == heard
    offer = {"ways_to_pay": "payment_help", "new_connection": "new_connection_help",
             "advice": "advice_help"}[scenario]
    assert f"{offer}:1" in steps(record)
    assert record["path"][-1]["node"] == transfer
    assert record["outcome"] == "queued"
    assert waited_for(hotline, record) == skill


def test_english_callers_hear_english_words(calls: dict[str, Record],
                                            demo: dict[str, Any]) -> None:
    record = calls["english"]
    assert {"node": "english", "language": "en"} in record["path"]
    assert played(record, "bill_info")[:1 + len(say("money", demo["latest"].amount, "en"))] == \
        ["bill_latest_is", *say("money", demo["latest"].amount, "en")]


def test_a_wrong_key_gets_a_retry_prompt(calls: dict[str, Record]) -> None:
    record = calls["wrong_key_then_2"]
    assert "main:7" in steps(record) and "main:2" in steps(record)
    retry = next(e for e in record["path"] if e.get("node") == "main" and
                 e.get("played", [None])[0] == "invalid_choice")
    assert retry["played"] == ["invalid_choice", "main_menu"]


def test_no_input_retries_then_goodbye(calls: dict[str, Record]) -> None:
    record = calls["presses_nothing"]
    assert steps(record)[-7:] == ["main", "(no_input)", "main", "(no_input)", "main",
                                  "(no_input)", "goodbye"]
    assert heard(record).count("no_input") == 2
    assert record["outcome"] == "no_input"


def test_hanging_up_mid_prompt_still_leaves_a_record(calls: dict[str, Record]) -> None:
    record = calls["hangs_up_mid_welcome"]
    assert record["outcome"] == "abandoned"
    assert steps(record)[-1] == "(caller_hung_up)"
    assert record["ended_at"] is not None


def test_every_call_has_exactly_one_record(calls: dict[str, Record], hotline: Hotline) -> None:
    for record in calls.values():
        assert hotline.count_records(record["sip_call_id"]) == 1
