"""The operator's phone shows the essentials of the caller in the caller ID name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from acd.screen_pop import MAX_LENGTH, CallerFacts, offer_name, phone_display


def test_a_known_customer_with_late_requests() -> None:
    facts = CallerFacts(customer="PE01000000001", open_requests=2, late_requests=1,
                        earlier_calls=3, looked_up=True)
    assert phone_display("outage", facts) == "outage PE01000000001 2 open 1 late 3 calls"


def test_a_first_time_caller_is_said_to_be_new_but_only_when_the_records_answered() -> None:
    assert phone_display("billing", CallerFacts(looked_up=True)) == "billing new caller"
    assert phone_display("billing", CallerFacts()) == "billing"  # no database: nothing claimed
    assert phone_display("billing", CallerFacts(earlier_calls=1, looked_up=True)) == \
        "billing 1 call"


def test_a_callback_offer_says_so_first() -> None:
    assert offer_name("general PE01000000001", callback=True) == "callback general PE01000000001"
    assert offer_name("general") == "general"


def test_what_could_break_a_header_or_the_dialplan_is_removed() -> None:
    assert offer_name('outage" <sip:evil@x>\r\nAction: Originate') == \
        "outage sip evil x Action Originate"
    assert offer_name("") == "19001122"
    assert offer_name("\"\\\r\n") == "19001122"


@given(st.text(), st.booleans())
def test_any_display_is_short_plain_ascii_and_never_empty(display: str, callback: bool) -> None:
    name = offer_name(display, callback)
    assert 0 < len(name) <= MAX_LENGTH
    assert all(c.isascii() and (c.isalnum() or c in " _.#/-") for c in name)
    assert name == name.strip()
