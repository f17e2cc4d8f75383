"""The lookups the IVR and the operators need, each one SQL query, each a typed result.

Functions take a SQLAlchemy session and plain values and return :mod:`records.results`;
malformed input is answered without touching the database.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import (
    Bill,
    Call,
    Customer,
    CustomerPhone,
    DistrictCompany,
    OutageWindow,
    Request,
    TariffTier,
)
from .phones import phone_number
from .results import (
    BillInfo,
    BillStatus,
    CallSummary,
    CustomerInfo,
    Found,
    Invalid,
    NotFound,
    OutageInfo,
    RequestInfo,
    Result,
    ScreenPop,
    TariffInfo,
    TierInfo,
)

OPEN_STATUSES = ("open", "forwarded", "in_progress")
_CODE_DIGITS = re.compile(r"[0-9]{11}")


# -- input shapes ---------------------------------------------------------------------------------

def customer_code(text: str) -> str | Invalid:
    """``PE`` + 11 digits; callers key only the 11 digits (``PE`` implied)."""
    cleaned = re.sub(r"[\s.\-]", "", text or "").upper()
    digits = cleaned.removeprefix("PE")
    if not _CODE_DIGITS.fullmatch(digits):
        return Invalid("customer_code", "a customer code is PE followed by 11 digits")
    return "PE" + digits


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return str((10 - total % 10) % 10)


def request_number(text: str) -> str | Invalid:
    """Request numbers end with a Luhn check digit, so most mistyped numbers are caught here."""
    digits = re.sub(r"\s", "", text or "")
    if not digits.isdigit() or not 6 <= len(digits) <= 12:
        return Invalid("request_number", "a request number is 8 digits")
    if luhn_digit(digits[:-1]) != digits[-1]:
        return Invalid("request_number", "the check digit does not match: a digit is wrong")
    return digits


# -- lookups -------------------------------------------------------------------------------------

# Statements are built once, with bound parameters: building SQLAlchemy statements on every
# call costs more than running them.

@functools.cache
def _customer_query() -> Select:  # type: ignore[type-arg]
    return select(Customer.id, Customer.code, Customer.name, Customer.address,
                  DistrictCompany.code, DistrictCompany.name, Customer.area,
                  Customer.feeder, Customer.tariff).join(DistrictCompany,
                                        DistrictCompany.id == Customer.district_company_id)


@functools.cache
def _by_code() -> Select:  # type: ignore[type-arg]
    return _customer_query().where(Customer.code == bindparam("code"))


@functools.cache
def _by_phone() -> Select:  # type: ignore[type-arg]
    return (_customer_query().join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.phone == bindparam("phone")).order_by(Customer.code).limit(20))


@functools.cache
def _by_name() -> Select:  # type: ignore[type-arg]
    # "starts with" as a range on the name's index (SQLite compares code points; so does
    # PostgreSQL in a C or C.UTF-8 database), the prefix test kept for other collations
    return (_customer_query().where(Customer.name >= bindparam("low"),
                                    Customer.name < bindparam("high"),
                                    func.substr(Customer.name, 1, bindparam("length"))
                                    == bindparam("low"))
            .order_by(Customer.name, Customer.code).limit(bindparam("limit")))


@functools.cache
def _bill_status() -> Select:  # type: ignore[type-arg]
    unpaid = case((Bill.paid.is_(False), Bill.amount), else_=0)
    return (select(Bill.period, Bill.kwh, Bill.amount, Bill.due_date, Bill.paid, Bill.paid_date,
                   func.sum(unpaid).over(),
                   func.sum(case((Bill.paid.is_(False), 1), else_=0)).over())
            .where(Bill.customer_id == bindparam("customer_id"))
            .order_by(Bill.period.desc()).limit(1))


@functools.cache
def _outages() -> Select:  # type: ignore[type-arg]
    return (select(OutageWindow.starts_at, OutageWindow.ends_at, OutageWindow.reason,
                   OutageWindow.area, OutageWindow.feeder, OutageWindow.status)
            .where(or_(OutageWindow.feeder == bindparam("feeder"),
                       OutageWindow.area == bindparam("area")),
                   OutageWindow.status == "planned",
                   OutageWindow.starts_at < bindparam("until"),
                   OutageWindow.ends_at > bindparam("now"))
            .order_by(OutageWindow.starts_at).limit(20))


@functools.cache
def _request_query() -> Select:  # type: ignore[type-arg]
    return (select(Request.number, Request.type, Request.status, Request.created_at,
                   Request.deadline_at, Request.escalation_level, Customer.code,
                   DistrictCompany.name)
            .outerjoin(Customer, Customer.id == Request.customer_id)
            .outerjoin(DistrictCompany, DistrictCompany.id == Request.district_company_id))


@functools.cache
def _request_by_number() -> Select:  # type: ignore[type-arg]
    return _request_query().where(Request.number == bindparam("number"))


@functools.cache
def _screen_pop(last: int) -> Any:
    calls = (select(literal("call").label("kind"), Call.started_at.label("at"),
                    Call.outcome.label("a"), Call.operator.label("b"),
                    Call.wrap_up_code.label("c"), cast(null(), DateTime).label("d"),
                    cast(null(), Integer).label("e"), null().label("f"), null().label("g"))
             .where(or_(Call.caller_number == bindparam("number"),
                        Call.customer_id == bindparam("customer_id")),
                    Call.outcome != "in_progress", Call.call_id != bindparam("current"))
             .order_by(Call.started_at.desc()).limit(last).subquery())
    requests = (select(literal("request").label("kind"), Request.created_at.label("at"),
                       Request.number.label("a"), Request.type.label("b"),
                       Request.status.label("c"), Request.deadline_at.label("d"),
                       Request.escalation_level.label("e"), Customer.code.label("f"),
                       DistrictCompany.name.label("g"))
                .outerjoin(Customer, Customer.id == Request.customer_id)
                .outerjoin(DistrictCompany, DistrictCompany.id == Request.district_company_id)
                .where(or_(Request.caller_number == bindparam("number"),
                           Request.customer_id == bindparam("customer_id")),
                       Request.status.in_(OPEN_STATUSES))
                .order_by(Request.deadline_at).limit(20).subquery())
    return union_all(select(calls), select(requests))


def customer_by_code(session: Session, text: str) -> Result[CustomerInfo]:
    code = customer_code(text)
    if isinstance(code, Invalid):
        return code
    row = session.execute(_by_code(), {"code": code}).first()
    if row is None:
        return NotFound("customer", code)
    return Found(CustomerInfo(*row))


def customers_by_phone(session: Session, text: str) -> Result[tuple[CustomerInfo, ...]]:
    phone = phone_number(text)
    if isinstance(phone, Invalid):
        return phone
    rows = session.execute(_by_phone(), {"phone": phone}).all()
    if not rows:
        return NotFound("customer", phone)
    return Found(tuple(CustomerInfo(*row) for row in rows))


def customers_by_name(session: Session, text: str, limit: int = 20
                      ) -> Result[tuple[CustomerInfo, ...]]:
    """Customers whose full name starts with ``text`` (in NFC, each word capitalised as names
    are stored: ``nguyễn văn`` finds ``Nguyễn Văn An``), by name; at most ``limit``."""
    words = unicodedata.normalize("NFC", " ".join((text or "").split()))
    if len(words) < 2 or len(words) > 128:
        return Invalid("name", "type at least two letters of the name")
    low = " ".join(w[:1].upper() + w[1:].lower() for w in words.split(" "))
    rows = session.execute(_by_name(), {"low": low, "high": low + "\U0010ffff",
                                        "length": len(low),
                                        "limit": max(1, min(limit, 100))}).all()
    if not rows:
        return NotFound("customer named", low)
    return Found(tuple(CustomerInfo(*row) for row in rows))


def find_customers(session: Session, text: str) -> tuple[CustomerInfo, ...] | Invalid:
    """What a search box finds: the customer with that code, else the customers with that phone
    number, else those whose name starts with ``text`` (none when nothing matches); Invalid when
    ``text`` is none of the three (a name wants two letters at least)."""
    if not isinstance(customer_code(text), Invalid):
        one = customer_by_code(session, text)
        if isinstance(one, Found):
            return (one.value,)
        # eleven digits are a code and a landline alike (028 3822 1234): the phone next
    if not isinstance(phone_number(text), Invalid):
        many = customers_by_phone(session, text)
        return many.value if isinstance(many, Found) else ()
    named = customers_by_name(session, text)
    if isinstance(named, Invalid):
        return named
    return named.value if isinstance(named, Found) else ()


def bill_status(session: Session, customer_id: int) -> Result[BillStatus]:
    """The latest bill, and the total and count of unpaid bills, in one query."""
    row = session.execute(_bill_status(), {"customer_id": customer_id}).first()
    if row is None:
        return Found(BillStatus(latest=None, unpaid_total=0, unpaid_count=0))
    return Found(BillStatus(latest=BillInfo(*row[:6]), unpaid_total=int(row[6] or 0),
                            unpaid_count=int(row[7] or 0)))


def planned_outages(session: Session, customer: CustomerInfo, days: int = 7,
                    now: datetime | None = None) -> Result[tuple[OutageInfo, ...]]:
    """Planned cuts on the customer's feeder or area that end after now and start within
    ``days``; one query (two index ranges combined)."""
    if not 1 <= days <= 60:
        return Invalid("days", "ask for 1 to 60 days")
    now = now or utcnow()
    rows = session.execute(_outages(), {"feeder": customer.feeder, "area": customer.area,
                                        "until": now + timedelta(days=days), "now": now}).all()
    return Found(tuple(OutageInfo(*row) for row in rows))


@functools.cache
def _tariff() -> Select:  # type: ignore[type-arg]
    in_force = (select(func.max(TariffTier.valid_from))
                .where(TariffTier.tariff == bindparam("tariff"),
                       TariffTier.valid_from <= bindparam("on")).scalar_subquery())
    return (select(TariffTier.valid_from, TariffTier.tier, TariffTier.up_to_kwh,
                   TariffTier.price)
            .where(TariffTier.tariff == bindparam("tariff"), TariffTier.valid_from == in_force)
            .order_by(TariffTier.tier))


def tariff(session: Session, name: str = "residential", on: date | None = None
           ) -> Result[TariffInfo]:
    """The tiers of tariff ``name`` in force on day ``on`` (today in Ho Chi Minh City): the list
    with the latest ``valid_from`` not after it."""
    on = on or (utcnow() + timedelta(hours=7)).date()
    rows = session.execute(_tariff(), {"tariff": name, "on": on}).all()
    if not rows:
        return NotFound("tariff", name)
    tiers, lower = [], 0
    for _valid_from, tier, up_to, price in rows:
        tiers.append(TierInfo(tier, lower + 1 if lower else 0, up_to, price))
        if up_to is None:
            break
        lower = up_to
    return Found(TariffInfo(name, rows[0][0], tuple(tiers)))


def _request_info(row: tuple, now: datetime) -> RequestInfo:  # type: ignore[type-arg]
    return RequestInfo(*row, overdue_by_s=(now - row[4]).total_seconds())


def request_by_number(session: Session, text: str, now: datetime | None = None
                      ) -> Result[RequestInfo]:
    number = request_number(text)
    if isinstance(number, Invalid):
        return number
    now = now or utcnow()
    row = session.execute(_request_by_number(), {"number": number}).first()
    if row is None:
        return NotFound("request", number)
    return Found(_request_info(tuple(row), now))


def screen_pop(session: Session, caller_number: str, customer_id: int | None = None,
               last: int = 5, now: datetime | None = None, current_call: str = ""
               ) -> Result[ScreenPop]:
    """What the operator sees at pickup: the caller's last calls (not ``current_call``, the
    one being put through) and open requests (one UNION ALL query over both, newest first)."""
    phone = phone_number(caller_number)
    number = phone if isinstance(phone, str) else re.sub(r"[^0-9+]", "", caller_number)[:20]
    if not number and customer_id is None:
        return Invalid("caller", "no caller number and no customer")
    now = now or utcnow()
    rows = session.execute(_screen_pop(last), {
        # "-" is no phone number and no call id (a NUL byte would be refused by PostgreSQL)
        "number": number or "-", "customer_id": -1 if customer_id is None else customer_id,
        "current": current_call or "-",
    }).all()
    call_rows = sorted((r for r in rows if r.kind == "call"), key=lambda r: r.at, reverse=True)
    request_rows = sorted((r for r in rows if r.kind == "request"), key=lambda r: r.d)
    return Found(ScreenPop(
        caller_number=number,
        calls=tuple(CallSummary(r.at, r.a, r.b, r.c) for r in call_rows),
        open_requests=tuple(
            RequestInfo(r.a, r.b, r.c, r.at, r.d, int(r.e), r.f, r.g,
                        (now - r.d).total_seconds()) for r in request_rows),
    ))


def overdue_requests(session: Session, now: datetime | None = None, limit: int = 200
                     ) -> list[RequestInfo]:
    now = now or utcnow()
    rows = session.execute(
        _request_query().where(Request.status.in_(OPEN_STATUSES), Request.deadline_at < now)
        .order_by(Request.deadline_at).limit(limit)
    ).all()
    return [_request_info(tuple(row), now) for row in rows]


__all__ = [
    "OPEN_STATUSES", "bill_status", "customer_by_code", "customer_code", "customers_by_name",
    "customers_by_phone", "find_customers",
    "luhn_digit", "overdue_requests", "phone_number", "planned_outages", "request_by_number",
    "request_number", "screen_pop",
]
