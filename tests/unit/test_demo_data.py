"""The demo records load again over what earlier runs made (SQLite and PostgreSQL): calls and
requests that point at the demo customers and the demo request stay, nothing is duplicated, and
the demo values come back where they were changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records import requests
from records.calls import open_call, set_customer
from records.database import make_engine, make_sessions
from records.demo import DEMO, load_demo
from records.models import (
    Bill,
    CallRequest,
    Customer,
    CustomerPhone,
    OutageWindow,
    Request,
    RequestEvent,
)
from records.rules import DEFAULT_RULES

NOW = dt.datetime(2026, 11, 20, 8, 0, 0)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_sessions(engine)() as s:
        yield s
    engine.dispose()


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_loading_again_keeps_the_calls_and_requests_that_point_at_the_demo_records(
        session: Session) -> None:
    load_demo(session, NOW)
    an = session.scalars(select(Customer).where(Customer.code == DEMO.customer_code)).one()
    an_id = an.id
    # a run of the hotline: a call from the demo caller that asked for the demo request, and a
    # request it created on the demo customer
    call = open_call(session, call_id="1.1", caller_number=DEMO.caller_known)
    set_customer(session, "1.1", an_id)
    created = requests.create(session, DEFAULT_RULES, request_type="outage_report",
                              actor="ivr", customer_id=an_id, caller_number=DEMO.caller_known,
                              now=NOW)
    for number, relation in ((DEMO.request_number, "asked"), (created.number, "created")):
        request_id = session.scalars(select(Request.id).where(Request.number == number)).one()
        session.add(CallRequest(call_id=call.id, request_id=request_id, relation=relation))
    requests.change_status(session, DEMO.request_number, "in_progress", actor="district:PCSG",
                           now=NOW)
    an.name = "someone else"  # an edit of a demo value, which the next load puts back
    session.commit()
    events = count(session, RequestEvent)

    load_demo(session, NOW + dt.timedelta(days=1))
    load_demo(session, NOW + dt.timedelta(days=2))

    session.expire_all()
    an = session.scalars(select(Customer).where(Customer.code == DEMO.customer_code)).one()
    assert (an.id, an.name) == (an_id, "Nguyễn Văn An")
    assert count(session, Customer) == 2
    assert count(session, CallRequest) == 2
    assert count(session, RequestEvent) == events
    demo_request = session.scalars(select(Request)
                                   .where(Request.number == DEMO.request_number)).one()
    assert (demo_request.customer_id, demo_request.status) == (an_id, "in_progress")
    assert session.scalars(select(Request.customer_id)
                           .where(Request.number == created.number)).one() == an_id
    # the demo values, once each, relative to the last load
    assert count(session, Bill) == 5
    assert count(session, OutageWindow) == 2
    assert session.scalars(select(CustomerPhone.customer_id)
                           .where(CustomerPhone.phone == DEMO.caller_known)).all() == [an_id]
    latest = session.scalar(select(func.max(Bill.period)).where(Bill.customer_id == an_id))
    assert latest == dt.date(2026, 10, 1)
