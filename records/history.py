"""The call history and the request list as people and other systems read them: filters,
paging, and a count of what matched (the HTTP API's ``/calls`` and ``/requests``).

Each function is a few indexed queries and returns plain frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .lookups import OPEN_STATUSES
from .models import Call, CallRequest, Customer, DistrictCompany, Request, RequestEvent


@dataclass(frozen=True)
class CallFilter:
    call_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    number: str | None = None       # the caller's number, exactly
    operator: str | None = None
    outcome: str | None = None
    customer_code: str | None = None
    newest_first: bool = True
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class CallRow:
    call_id: str
    started_at: datetime
    ended_at: datetime | None
    caller_number: str
    customer_code: str | None
    outcome: str
    queue_status: str | None
    queue_wait_s: float | None
    operator: str | None
    wrap_up_code: str | None
    path: list[dict[str, Any]]


def _call_rows(query: Select) -> Select:  # type: ignore[type-arg]
    return query.outerjoin(Customer, Customer.id == Call.customer_id)


def calls(session: Session, where: CallFilter) -> tuple[list[CallRow], int, int]:
    """The calls matching ``where`` (one page), how many match, and how many there are."""
    conditions = []
    if where.call_id is not None:
        conditions.append(Call.call_id == where.call_id)
    if where.since is not None:
        conditions.append(Call.started_at >= where.since)
    if where.until is not None:
        conditions.append(Call.started_at < where.until)
    if where.number:
        conditions.append(Call.caller_number == where.number)
    if where.operator:
        conditions.append(Call.operator == where.operator)
    if where.outcome:
        conditions.append(Call.outcome == where.outcome)
    if where.customer_code:
        conditions.append(Customer.code == where.customer_code)
    order = Call.started_at.desc() if where.newest_first else Call.started_at.asc()
    rows = session.execute(
        _call_rows(select(Call.call_id, Call.started_at, Call.ended_at, Call.caller_number,
                          Customer.code, Call.outcome, Call.queue_status, Call.queue_wait_s,
                          Call.operator, Call.wrap_up_code, Call.path))
        .where(*conditions).order_by(order, Call.id).limit(where.limit)
        .offset(where.offset)).all()
    filtered = session.scalar(_call_rows(select(func.count(Call.id))).where(*conditions)) or 0
    total = session.scalar(select(func.count(Call.id))) or 0
    return ([CallRow(*row[:10], path=list(row[10] or [])) for row in rows], int(filtered),
            int(total))


@dataclass(frozen=True)
class RequestRow:
    number: str
    type: str
    status: str
    created_at: datetime
    deadline_at: datetime
    escalation_level: int
    priority: int
    description: str
    caller_number: str
    customer_code: str | None
    customer_name: str | None
    customer_address: str | None
    district_code: str | None
    district_name: str | None
    overdue_by_s: float


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = None          # one status, or "open" for every open one
    district_code: str | None = None
    customer_code: str | None = None
    overdue: bool = False
    limit: int = 100
    offset: int = 0


def _request_rows(query: Select) -> Select:  # type: ignore[type-arg]
    """``query`` with the request's customer and district company (the filters read them)."""
    return (query.outerjoin(Customer, Customer.id == Request.customer_id)
            .outerjoin(DistrictCompany, DistrictCompany.id == Request.district_company_id))


def _request_select() -> Select:  # type: ignore[type-arg]
    return _request_rows(select(Request.number, Request.type, Request.status, Request.created_at,
                                Request.deadline_at, Request.escalation_level, Request.priority,
                                Request.description, Request.caller_number, Customer.code,
                                Customer.name, Customer.address, DistrictCompany.code,
                                DistrictCompany.name))


def _request_row(row: Any, now: datetime) -> RequestRow:
    return RequestRow(*row, overdue_by_s=(now - row[4]).total_seconds())


def requests(session: Session, where: RequestFilter, now: datetime | None = None
             ) -> tuple[list[RequestRow], int]:
    """The requests matching ``where`` by deadline (one page), and how many match."""
    now = now or utcnow()
    conditions = []
    if where.status == "open":
        conditions.append(Request.status.in_(OPEN_STATUSES))
    elif where.status:
        conditions.append(Request.status == where.status)
    if where.district_code:
        conditions.append(DistrictCompany.code == where.district_code)
    if where.customer_code:
        conditions.append(Customer.code == where.customer_code)
    if where.overdue:
        conditions += [Request.status.in_(OPEN_STATUSES), Request.deadline_at < now]
    rows = session.execute(_request_select().where(*conditions)
                           .order_by(Request.deadline_at, Request.id).limit(where.limit)
                           .offset(where.offset)).all()
    filtered = session.scalar(
        _request_rows(select(func.count(Request.id)).select_from(Request)).where(*conditions)) or 0
    return [_request_row(row, now) for row in rows], int(filtered)


@dataclass(frozen=True)
class RequestChange:
    at: datetime
    status: str
    actor: str
    note: str
    escalation_level: int


@dataclass(frozen=True)
class RequestDetail:
    request: RequestRow
    changes: tuple[RequestChange, ...]
    calls: tuple[str, ...]  # the calls that created it or asked about it


def request_detail(session: Session, number: str, now: datetime | None = None
                   ) -> RequestDetail | None:
    now = now or utcnow()
    row = session.execute(_request_select().where(Request.number == number)).first()
    if row is None:
        return None
    request_id = session.scalar(select(Request.id).where(Request.number == number))
    changes = session.execute(
        select(RequestEvent.at, RequestEvent.status, RequestEvent.actor, RequestEvent.note,
               RequestEvent.escalation_level)
        .where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)).all()
    linked = session.scalars(select(Call.call_id).join(CallRequest, CallRequest.call_id == Call.id)
                             .where(CallRequest.request_id == request_id)).all()
    return RequestDetail(_request_row(row, now), tuple(RequestChange(*c) for c in changes),
                         tuple(linked))


def changes_of(session: Session, numbers: list[str]) -> dict[str, tuple[RequestChange, ...]]:
    """The history of each of ``numbers`` (oldest change first), in one query."""
    found: dict[str, list[RequestChange]] = {number: [] for number in numbers}
    if not numbers:
        return {}
    rows = session.execute(
        select(Request.number, RequestEvent.at, RequestEvent.status, RequestEvent.actor,
               RequestEvent.note, RequestEvent.escalation_level)
        .join(Request, Request.id == RequestEvent.request_id)
        .where(Request.number.in_(numbers)).order_by(RequestEvent.id)).all()
    for number, *change in rows:
        found[number].append(RequestChange(*change))
    return {number: tuple(changes) for number, changes in found.items()}


def district_companies(session: Session) -> list[tuple[str, str]]:
    """Every district company's code and name, by code."""
    return [(code, name) for code, name in session.execute(
        select(DistrictCompany.code, DistrictCompany.name).order_by(DistrictCompany.code))]
