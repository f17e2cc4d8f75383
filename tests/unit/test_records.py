"""Customer-care records on SQLite and PostgreSQL: the lookups the IVR and operators use, each
a typed result; requests with deadlines, status history and idempotent escalation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from records import history, lookups, requests
from records.calls import (
    CallerCard,
    caller_card,
    close_call,
    open_call,
    set_customer,
    set_queue_result,
    set_wrap_up_code,
)
from records.database import make_engine, make_sessions
from records.errors import IllegalTransition, RequestError
from records.models import (
    Base,
    Bill,
    Call,
    CallRequest,
    Customer,
    CustomerPhone,
    DistrictCompany,
    OutageWindow,
    Request,
    RequestEvent,
    TariffTier,
)
from records.results import Found, Invalid, NotFound, TariffInfo, TierInfo
from records.rules import DEFAULT_RULES

NOW = datetime(2026, 11, 20, 8, 0, 0)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_sessions(engine)() as s:
        seed(s)
        yield s
    engine.dispose()


def seed(s: Session) -> None:
    s.add_all([DistrictCompany(id=1, code="PCSG", name="Công ty Điện lực Sài Gòn"),
               DistrictCompany(id=2, code="PCCL", name="Công ty Điện lực Chợ Lớn")])
    s.flush()
    s.add_all([
        Customer(id=1, code="PE01000000001", name="Nguyễn Văn An",
                 address="12 Lê Lợi, Phường Bến Nghé, Quận 1", district_company_id=1,
                 area="Q1-BEN-NGHE", feeder="SG-471"),
        Customer(id=2, code="PE02000000002", name="Trần Thị Bình",
                 address="5 Hùng Vương, Phường 9, Quận 5", district_company_id=2,
                 area="Q5-P09", feeder="CL-473"),
        Customer(id=3, code="PE02000000003", name="Lê Văn Cường",
                 address="7 Hùng Vương, Phường 9, Quận 5", district_company_id=2,
                 area="Q5-P09", feeder="CL-475"),
    ])
    s.flush()
    s.add_all([CustomerPhone(customer_id=1, phone="0909123456"),
               CustomerPhone(customer_id=2, phone="02838221234"),
               CustomerPhone(customer_id=3, phone="02838221234")])
    s.add_all([
        Bill(customer_id=1, period=date(2026, 9, 1), kwh=210, amount=512_000,
             due_date=date(2026, 10, 20), paid=True, paid_date=date(2026, 10, 2)),
        Bill(customer_id=1, period=date(2026, 10, 1), kwh=180, amount=421_000,
             due_date=date(2026, 11, 20), paid=False),
        Bill(customer_id=2, period=date(2026, 8, 1), kwh=90, amount=190_000,
             due_date=date(2026, 9, 20), paid=False),
        Bill(customer_id=2, period=date(2026, 9, 1), kwh=95, amount=200_000,
             due_date=date(2026, 10, 20), paid=False),
        Bill(customer_id=2, period=date(2026, 10, 1), kwh=100, amount=210_000,
             due_date=date(2026, 11, 20), paid=True, paid_date=date(2026, 11, 1)),
    ])
    s.add_all([
        OutageWindow(district_company_id=1, feeder="SG-471", area=None,
                     starts_at=NOW + timedelta(days=1, hours=1),
                     ends_at=NOW + timedelta(days=1, hours=8), reason="Bảo trì lưới điện",
                     status="planned"),
        OutageWindow(district_company_id=1, feeder=None, area="Q1-BEN-NGHE",
                     starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=4),
                     reason="Thi công công trình", status="planned"),
        OutageWindow(district_company_id=1, feeder="SG-471", area=None,
                     starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, hours=4),
                     reason="Hủy", status="cancelled"),
        OutageWindow(district_company_id=1, feeder="SG-471", area=None,
                     starts_at=NOW + timedelta(days=9), ends_at=NOW + timedelta(days=9, hours=4),
                     reason="Xa", status="planned"),
        OutageWindow(district_company_id=1, feeder="SG-471", area=None,
                     starts_at=NOW - timedelta(hours=2), ends_at=NOW + timedelta(hours=2),
                     reason="Đang cắt", status="planned"),
        OutageWindow(district_company_id=2, feeder="CL-473", area=None,
                     starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=4),
                     reason="Khác khu vực", status="planned"),
    ])
    s.commit()


def test_migrations_and_models_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


# -- customers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("keyed", ["PE01000000001", "01000000001", "pe 0100 0000 001"])
def test_customer_by_code_with_or_without_pe(session: Session, keyed: str) -> None:
    result = lookups.customer_by_code(session, keyed)
    assert isinstance(result, Found)
    assert result.value.name == "Nguyễn Văn An"
    assert result.value.district_company_name == "Công ty Điện lực Sài Gòn"
    assert (result.value.area, result.value.feeder) == ("Q1-BEN-NGHE", "SG-471")


@pytest.mark.parametrize("keyed", ["", "PE0100000000", "PE010000000011", "PX01000000001",
                                   "0100000000#", "١٢٣٤٥٦٧٨٩٠١", "'; DROP TABLE customers;--"])
def test_malformed_customer_codes_are_invalid_without_a_query(session: Session,
                                                             keyed: str) -> None:
    result = lookups.customer_by_code(session, keyed)
    assert result == Invalid("customer_code", "a customer code is PE followed by 11 digits")


def test_unknown_customer_code_is_not_found(session: Session) -> None:
    assert lookups.customer_by_code(session, "99999999999") == NotFound("customer",
                                                                        "PE99999999999")


@pytest.mark.parametrize("calling", ["0909123456", "+84909123456", "84909123456",
                                     "090 912 3456"])
def test_customer_by_calling_number(session: Session, calling: str) -> None:
    result = lookups.customers_by_phone(session, calling)
    assert isinstance(result, Found) and [c.code for c in result.value] == ["PE01000000001"]


def test_a_shared_landline_finds_every_customer(session: Session) -> None:
    result = lookups.customers_by_phone(session, "028 3822 1234")
    assert isinstance(result, Found)
    assert [c.code for c in result.value] == ["PE02000000002", "PE02000000003"]


def test_a_number_with_no_customer(session: Session) -> None:
    assert lookups.customers_by_phone(session, "0911111111") == NotFound("customer", "0911111111")
    assert isinstance(lookups.customers_by_phone(session, "anonymous"), Invalid)


# -- bills -------------------------------------------------------------------------------------

def test_latest_bill_and_unpaid_total(session: Session) -> None:
    result = lookups.bill_status(session, 1)
    assert isinstance(result, Found)
    status = result.value
    assert status.latest is not None
    assert (status.latest.period, status.latest.kwh, status.latest.amount) == (
        date(2026, 10, 1), 180, 421_000)
    assert status.latest.paid is False and status.latest.due_date == date(2026, 11, 20)
    assert (status.unpaid_total, status.unpaid_count) == (421_000, 1)


def test_latest_paid_but_older_bills_unpaid(session: Session) -> None:
    result = lookups.bill_status(session, 2)
    assert isinstance(result, Found)
    assert result.value.latest is not None and result.value.latest.paid is True
    assert (result.value.unpaid_total, result.value.unpaid_count) == (390_000, 2)


def test_a_customer_without_bills(session: Session) -> None:
    result = lookups.bill_status(session, 3)
    assert isinstance(result, Found)
    assert (result.value.latest, result.value.unpaid_total) == (None, 0)


# -- planned outages --------------------------------------------------------------------------

def test_planned_outages_by_feeder_or_area_in_the_coming_days(session: Session) -> None:
    customer = lookups.customer_by_code(session, "PE01000000001")
    assert isinstance(customer, Found)
    result = lookups.planned_outages(session, customer.value, days=7, now=NOW)
    assert isinstance(result, Found)
    assert [o.reason for o in result.value] == ["Đang cắt", "Bảo trì lưới điện",
                                                "Thi công công trình"]


def test_no_outages_for_another_feeder(session: Session) -> None:
    customer = lookups.customer_by_code(session, "PE02000000003")
    assert isinstance(customer, Found)
    assert lookups.planned_outages(session, customer.value, days=7, now=NOW) == Found(())


# -- requests ----------------------------------------------------------------------------------

def test_create_forward_and_look_up_a_request(session: Session) -> None:
    created = requests.create(session, DEFAULT_RULES, request_type="outage_report",
                              actor="ivr", customer_id=1, caller_number="0909123456",
                              description="Mất điện cả hẻm", now=NOW)
    assert len(created.number) == 8 and lookups.request_number(created.number) == created.number
    assert created.forwarded and created.priority == 5
    assert created.deadline_at == NOW + timedelta(hours=4)
    result = lookups.request_by_number(session, created.number, now=NOW + timedelta(hours=1))
    assert isinstance(result, Found)
    info = result.value
    assert (info.type, info.status, info.customer_code) == ("outage_report", "forwarded",
                                                             "PE01000000001")
    assert info.district_company_name == "Công ty Điện lực Sài Gòn"
    assert info.overdue_by_s == -3 * 3600
    requests.change_status(session, created.number, "in_progress", actor="district:PCSG",
                           now=NOW + timedelta(hours=2))
    requests.change_status(session, created.number, "resolved", actor="district:PCSG",
                           note="Đã thay cầu chì", now=NOW + timedelta(hours=3))
    events = session.execute(
        select(RequestEvent.status, RequestEvent.actor).join(Request)
        .where(Request.number == created.number).order_by(RequestEvent.id)).all()
    assert [tuple(e) for e in events] == [("open", "ivr"), ("forwarded", "ivr"),
                                          ("in_progress", "district:PCSG"),
                                          ("resolved", "district:PCSG")]


def test_a_call_is_linked_to_the_request_it_asked_about_once(session: Session) -> None:
    created = requests.create(session, DEFAULT_RULES, request_type="outage_report",
                              actor="ivr", customer_id=1, now=NOW)
    open_call(session, call_id="18004.1", caller_number="0909123456", started_at=NOW)
    for _ in range(2):  # a replayed write links it once
        requests.link_call(session, "18004.1", created.number)
    requests.link_call(session, "18004.1", "99999999")  # no such request: nothing
    requests.link_call(session, "18004.9", created.number)  # no such call: nothing
    links = session.execute(select(CallRequest.relation).join(Call)
                            .where(Call.call_id.like("18004.%"))).scalars().all()
    assert links == ["asked"]


def test_the_request_list_counts_what_its_filters_match_beyond_the_page(session: Session) -> None:
    for customer_id in (1, 1, 2):
        requests.create(session, DEFAULT_RULES, request_type="outage_report", actor="ivr",
                        customer_id=customer_id, now=NOW)
    page, filtered = history.requests(session, history.RequestFilter(district_code="PCSG",
                                                                      limit=1), now=NOW)
    assert [row.district_code for row in page] == ["PCSG"] and filtered == 2
    page, filtered = history.requests(
        session, history.RequestFilter(customer_code="PE02000000002"), now=NOW)
    assert [row.customer_name for row in page] == ["Trần Thị Bình"] and filtered == 1

def test_advice_is_not_forwarded(session: Session) -> None:
    created = requests.create(session, DEFAULT_RULES, request_type="advice", actor="op07",
                              customer_id=1, now=NOW)
    assert not created.forwarded
    assert created.deadline_at == NOW + timedelta(hours=24)


def test_illegal_transitions_change_nothing(session: Session) -> None:
    created = requests.create(session, DEFAULT_RULES, request_type="meter_check", actor="op01",
                              customer_id=2, now=NOW)
    requests.change_status(session, created.number, "cancelled", actor="op01")
    with pytest.raises(IllegalTransition, match="is cancelled; it cannot become resolved"):
        requests.change_status(session, created.number, "resolved", actor="op01")
    with pytest.raises(RequestError, match="unknown status"):
        requests.change_status(session, created.number, "exploded", actor="op01")
    with pytest.raises(RequestError, match="no request number"):
        requests.change_status(session, "12345674", "resolved", actor="op01")
    with pytest.raises(RequestError, match="unknown request type"):
        requests.create(session, DEFAULT_RULES, request_type="pizza", actor="op01")
    status = session.scalar(select(Request.status).where(Request.number == created.number))
    assert status == "cancelled"


@pytest.mark.parametrize("keyed, why", [("1234567", "check digit"), ("abc", "8 digits"),
                                        ("", "8 digits"), ("12345675", "check digit")])
def test_mistyped_request_numbers_are_invalid(session: Session, keyed: str, why: str) -> None:
    result = lookups.request_by_number(session, keyed)
    assert isinstance(result, Invalid) and why in result.reason


def test_an_unknown_request_number_is_not_found(session: Session) -> None:
    body = "7654321"
    number = body + lookups.luhn_digit(body)
    assert lookups.request_by_number(session, number) == NotFound("request", number)


def test_escalation_rises_once_per_level_and_is_idempotent(session: Session) -> None:
    hazard = requests.create(session, DEFAULT_RULES, request_type="hazard", actor="ivr",
                             customer_id=1, now=NOW)  # 2 h, warn 30 min, critical 1 h late
    bill = requests.create(session, DEFAULT_RULES, request_type="billing_complaint",
                           actor="op02", customer_id=2, now=NOW)
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(minutes=80)) == 0
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(minutes=95)) == 1
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(minutes=96)) == 0
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(hours=2, minutes=1)) == 1
    # a controller that was down for a day jumps straight to the level that applies
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(days=1)) == 1
    assert requests.escalate(session, DEFAULT_RULES, now=NOW + timedelta(days=1)) == 0
    levels = dict(session.execute(select(Request.number, Request.escalation_level)).all())
    assert levels == {hazard.number: 3, bill.number: 0}
    notes = session.scalars(select(RequestEvent.note).join(Request)
                            .where(Request.number == hazard.number,
                                   RequestEvent.escalation_level > 0)
                            .order_by(RequestEvent.id)).all()
    assert notes == ["deadline near", "deadline passed", "deadline passed long ago: critical"]
    overdue = lookups.overdue_requests(session, now=NOW + timedelta(days=1))
    assert [r.number for r in overdue] == [hazard.number]
    requests.change_status(session, hazard.number, "resolved", actor="district:PCSG")
    assert lookups.overdue_requests(session, now=NOW + timedelta(days=1)) == []


def test_screen_pop_shows_last_calls_and_open_requests(session: Session) -> None:
    for n in range(7):
        open_call(session, call_id=f"17000.{n}", caller_number="0909123456",
                  started_at=NOW - timedelta(days=7 - n))
        close_call(session, f"17000.{n}", outcome="completed", path=[])
    open_call(session, call_id="17000.99", caller_number="0909123456", started_at=NOW)
    created = requests.create(session, DEFAULT_RULES, request_type="outage_report", actor="ivr",
                              customer_id=1, caller_number="0909123456", now=NOW,
                              call_id="17000.6")
    closed = requests.create(session, DEFAULT_RULES, request_type="advice", actor="op01",
                             customer_id=1, now=NOW)
    requests.change_status(session, closed.number, "resolved", actor="op01")
    result = lookups.screen_pop(session, "+84909123456", customer_id=1, last=5, now=NOW)
    assert isinstance(result, Found)
    pop = result.value
    assert [c.started_at for c in pop.calls] == [NOW - timedelta(days=d) for d in (1, 2, 3, 4, 5)]
    assert [r.number for r in pop.open_requests] == [created.number]
    assert pop.open_requests[0].district_company_name == "Công ty Điện lực Sài Gòn"


def test_a_caller_card_has_the_identified_customer_and_leaves_out_the_call_itself(
        session: Session) -> None:
    open_call(session, call_id="18000.1", caller_number="0909123456",
              started_at=NOW - timedelta(days=2))
    set_customer(session, "18000.1", 1)
    close_call(session, "18000.1", outcome="queued", path=[])
    set_queue_result(session, "18000.1", "op07", 12.0)
    # today the same customer calls from another phone and keys their code in the IVR
    open_call(session, call_id="18000.2", caller_number="0912000000", started_at=NOW)
    set_customer(session, "18000.2", 1)
    close_call(session, "18000.2", outcome="queued", path=[])
    late = requests.create(session, DEFAULT_RULES, request_type="outage_report", actor="ivr",
                           customer_id=1, now=NOW - timedelta(days=30))
    card = caller_card(session, "18000.2", "0912000000")
    assert card.customer_code == "PE01000000001"
    assert card.last_operator is None  # sticky routing goes by number: nobody served this one
    assert card.screen_pop is not None
    assert [c.operator for c in card.screen_pop.calls] == ["op07"]  # by customer, not today's
    assert [r.number for r in card.screen_pop.open_requests] == [late.number]
    assert card.screen_pop.open_requests[0].overdue_by_s > 0
    assert caller_card(session, "18000.3", "0909123456").last_operator == "op07"


def test_a_wrap_up_code_lands_on_the_call_after_its_close_and_on_a_call_not_seen_yet(
        session: Session) -> None:
    open_call(session, call_id="18002.1", caller_number="0909123456", started_at=NOW)
    close_call(session, "18002.1", outcome="queued", path=[])
    set_queue_result(session, "18002.1", "op07", 3.0)
    set_wrap_up_code(session, "18002.1", "7")
    set_wrap_up_code(session, "18002.1", "7")  # replayed: the same
    set_wrap_up_code(session, "18003.1", "4")  # overflow caller: the journal completes it later
    codes = dict(session.execute(select(Call.call_id, Call.wrap_up_code)
                                 .where(Call.call_id.in_(["18002.1", "18003.1"]))).all())
    assert codes == {"18002.1": "7", "18003.1": "4"}


def test_a_caller_card_without_a_number_or_a_customer_is_empty(session: Session) -> None:
    open_call(session, call_id="18001.1", caller_number="", started_at=NOW)
    card = caller_card(session, "18001.1", "")
    assert card == CallerCard(last_operator=None, customer_code=None, screen_pop=None)
    open_call(session, call_id="18001.2", caller_number="", started_at=NOW)
    set_customer(session, "18001.2", 2)  # anonymous, but keyed a code: found by customer
    card = caller_card(session, "18001.2", "")
    assert card.customer_code == "PE02000000002"
    assert card.screen_pop is not None and card.screen_pop.calls == ()


def test_customers_by_the_start_of_their_name(session: Session) -> None:
    """As an operator types it: any case, one or more words; Vietnamese letters as stored."""
    found = lookups.customers_by_name(session, "nguyễn văn")
    assert isinstance(found, Found)
    assert [c.code for c in found.value] == ["PE01000000001"]
    assert found.value[0].tariff == "residential"
    both = lookups.customers_by_name(session, "  TRẦN ")
    assert isinstance(both, Found) and [c.name for c in both.value] == ["Trần Thị Bình"]
    assert isinstance(lookups.customers_by_name(session, "Nguyễn Thị"), NotFound)
    assert isinstance(lookups.customers_by_name(session, "a"), Invalid)
    assert isinstance(lookups.customers_by_name(session, "Văn An"), NotFound)  # a start only



@pytest.mark.parametrize(("typed", "codes"), [
    ("01000000001", ["PE01000000001"]), ("pe 0100 0000 001", ["PE01000000001"]),
    ("99999999999", []), ("+84 90 912 3456", ["PE01000000001"]),
    ("0911111111", []), ("trần", ["PE02000000002"]), ("Nguyễn Thị", []),
    # a landline has a code's eleven digits: not a customer's code, so a phone number
    ("028 3822 1234", ["PE02000000002", "PE02000000003"])])
def test_a_search_box_finds_by_code_then_phone_then_name(session: Session, typed: str,
                                                          codes: list[str]) -> None:
    found = lookups.find_customers(session, typed)
    assert not isinstance(found, Invalid) and [c.code for c in found] == codes


def test_a_search_for_one_letter_is_invalid(session: Session) -> None:
    assert isinstance(lookups.find_customers(session, "a"), Invalid)

# -- tariffs ---------------------------------------------------------------------------------------

RESIDENTIAL_2024 = TariffInfo("residential", date(2024, 10, 11), (
    TierInfo(1, 0, 50, 1_893), TierInfo(2, 51, 100, 1_956), TierInfo(3, 101, 200, 2_271),
    TierInfo(4, 201, 300, 2_860), TierInfo(5, 301, 400, 3_197), TierInfo(6, 401, None, 3_302)))


def test_the_migration_brings_the_household_tariff_in_force(session: Session) -> None:
    assert lookups.tariff(session, "residential", date(2026, 12, 7)) == Found(RESIDENTIAL_2024)


def test_the_seeded_tariff_is_the_one_generated_bills_follow(session: Session) -> None:
    from records.datagen import RESIDENTIAL_TARIFF

    found = lookups.tariff(session, "residential", date(2026, 12, 7))
    assert isinstance(found, Found)
    assert tuple((t.to_kwh, t.price) for t in found.value.tiers) == RESIDENTIAL_TARIFF.tiers


def test_a_newer_list_replaces_the_whole_tariff_from_its_day(session: Session) -> None:
    session.add_all([TariffTier(tariff="residential", valid_from=date(2027, 1, 1), tier=1,
                                up_to_kwh=100, price=2_000),
                     TariffTier(tariff="residential", valid_from=date(2027, 1, 1), tier=2,
                                up_to_kwh=None, price=3_000)])
    session.commit()
    assert lookups.tariff(session, "residential", date(2026, 12, 31)) == Found(RESIDENTIAL_2024)
    assert lookups.tariff(session, "residential", date(2027, 1, 1)) == Found(TariffInfo(
        "residential", date(2027, 1, 1), (TierInfo(1, 0, 100, 2_000),
                                          TierInfo(2, 101, None, 3_000))))


def test_a_tariff_not_yet_in_force_or_unknown_is_not_found(session: Session) -> None:
    assert lookups.tariff(session, "residential", date(2024, 10, 10)) == \
        NotFound("tariff", "residential")
    assert lookups.tariff(session, "business", date(2026, 12, 7)) == \
        NotFound("tariff", "business")
