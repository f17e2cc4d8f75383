"""A caller dials 19001122 and walks the shipped menu with real keypresses (SIPp, RFC 4733).

The calls of this module run at the same time (each is a separate SIPp caller); each test then
checks one caller's record: the path of menu steps and keys, the prompts played, the outcome.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .conftest import Hotline, Record, heard, steps

pytestmark = pytest.mark.e2e

SCENARIOS: dict[str, dict[str, Any]] = {
    "presses_1": {"keys": "1", "delay_ms": 5500},
    "presses_2": {"keys": "2", "delay_ms": 5500},
    "types_ahead_1_during_welcome": {"keys": "1", "delay_ms": 800},
    "presses_nothing": {"keys": "", "max_call_s": 120},
    "presses_9_then_2": {"keys": "9 2", "delay_ms": 5500, "gap_ms": 2500},
    "presses_garbage_until_goodbye": {"keys": "7 8 *", "delay_ms": 5500, "gap_ms": 1500},
    "hangs_up_mid_welcome": {"keys": "", "delay_ms": 500, "hangup_after_s": 1.0},
}


@pytest.fixture(scope="module")
def calls(hotline: Hotline) -> dict[str, Record]:
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(hotline.call, wait_s=30, **plan)
                   for name, plan in SCENARIOS.items()}
        results = {name: future.result()[0] for name, future in futures.items()}
    missing = [name for name, record in results.items() if record is None]
    assert not missing, f"no finished call record for {missing}"
    return results  # type: ignore[return-value]


def test_option_1_reads_the_outage_schedule_then_says_goodbye(calls: dict[str, Record]) -> None:
    record = calls["presses_1"]
    assert steps(record) == ["welcome", "main", "main:1", "outage_schedule", "goodbye"]
    assert heard(record) == ["welcome", "main_menu", "outage_schedule_info", "goodbye"]
    assert record["outcome"] == "completed"
    assert record["caller_number"] == "0909000111"
    assert record["ended_at"] >= record["started_at"]


def test_option_2_reads_the_bill_information(calls: dict[str, Record]) -> None:
    record = calls["presses_2"]
    assert steps(record) == ["welcome", "main", "main:2", "bill", "goodbye"]
    assert record["outcome"] == "completed"


def test_a_key_during_the_welcome_answers_the_menu(calls: dict[str, Record]) -> None:
    record = calls["types_ahead_1_during_welcome"]
    assert steps(record) == ["welcome", "main:1", "outage_schedule", "goodbye"]
    assert record["path"][1].get("type_ahead") is True


def test_no_input_retries_then_goodbye(calls: dict[str, Record]) -> None:
    record = calls["presses_nothing"]
    assert steps(record) == ["welcome", "main", "(no_input)", "main", "(no_input)", "main",
                             "(no_input)", "goodbye"]
    assert heard(record).count("no_input") == 2
    assert record["path"][-2].get("exhausted") is True
    assert record["outcome"] == "no_input"


def test_an_invalid_key_gets_a_retry_prompt(calls: dict[str, Record]) -> None:
    record = calls["presses_9_then_2"]
    assert steps(record) == ["welcome", "main", "main:9", "main", "main:2", "bill", "goodbye"]
    assert record["path"][2]["event"] == "invalid"
    assert record["path"][3]["played"] == ["invalid_choice", "main_menu"]
    assert record["outcome"] == "completed"


def test_garbage_keys_exhaust_the_retries(calls: dict[str, Record]) -> None:
    record = calls["presses_garbage_until_goodbye"]
    assert steps(record) == ["welcome", "main", "main:7", "main", "main:8", "main", "main:*",
                             "goodbye"]
    assert record["outcome"] == "invalid_input"


def test_hanging_up_mid_prompt_still_leaves_a_record(calls: dict[str, Record],
                                                     hotline: Hotline) -> None:
    record = calls["hangs_up_mid_welcome"]
    assert record["outcome"] == "abandoned"
    assert steps(record) == ["welcome", "(caller_hung_up)"]
    assert record["ended_at"] is not None


def test_every_call_has_exactly_one_record(calls: dict[str, Record], hotline: Hotline) -> None:
    for record in calls.values():
        assert hotline.count_records(record["sip_call_id"]) == 1
