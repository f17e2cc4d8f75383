"""A few named demo records with known values, for `make run` and the end-to-end tests.

They sit beside generated data (records.datagen) and are what a demo call meets: the default
`hotline call` number 0909000111 belongs to Nguyễn Văn An, whose latest bill is unpaid and whose
feeder has a planned cut tomorrow morning. Loading is idempotent; times are relative to ``now``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .lookups import luhn_digit
from .models import (
    Bill,
    Customer,
    CustomerPhone,
    DistrictCompany,
    OutageWindow,
    Request,
    RequestEvent,
)

LOCAL_OFFSET = dt.timedelta(hours=7)  # Ho Chi Minh City; the records keep UTC


@dataclass(frozen=True)
class Demo:
    caller_known: str = "0909000111"
    caller_unknown: str = "0909999999"
    customer_code: str = "PE01000000001"
    other_customer_code: str = "PE02000000002"
    request_number: str = "2026001" + luhn_digit("2026001")


DEMO = Demo()


def _company(session: Session, code: str, name: str) -> int:
    found = session.scalar(select(DistrictCompany.id).where(DistrictCompany.code == code))
    if found is not None:
        return found
    company = DistrictCompany(code=code, name=name)
    session.add(company)
    session.flush()
    return company.id


def _month_start(day: dt.date, months_back: int) -> dt.date:
    month = day.month - months_back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def _customer(session: Session, code: str, **fields: object) -> Customer:
    """The customer with ``code``, created or brought back to ``fields`` in place.

    Updated, never deleted and re-added: call records and requests of earlier runs point at it.
    """
    customer = session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        customer = Customer(code=code, **fields)
        session.add(customer)
    else:
        for name, value in fields.items():
            setattr(customer, name, value)
    return customer


def load_demo(session: Session, now: dt.datetime | None = None) -> Demo:
    """Write the demo customers, their phones, bills and outages, and one request.

    Idempotent, and it keeps what earlier runs made: the demo customers are updated in place
    (calls and requests refer to them), their bills and the demo outages are rewritten relative
    to ``now``, and the demo request is created only when it does not exist yet (once created it
    is a record like any other: its status and history are the hotline's, not the seed's).
    """
    now = now or utcnow()
    today = (now + LOCAL_OFFSET).date()
    saigon = _company(session, "PCSG", "Công ty Điện lực Sài Gòn")
    cholon = _company(session, "PCCL", "Công ty Điện lực Chợ Lớn")
    an = _customer(session, DEMO.customer_code, name="Nguyễn Văn An",
                   address="12 Lê Lợi, Phường Bến Nghé, Quận 1", district_company_id=saigon,
                   area="Q1-BEN-NGHE", feeder="SG-471")
    binh = _customer(session, DEMO.other_customer_code, name="Trần Thị Bình",
                     address="5 Hùng Vương, Phường 9, Quận 5", district_company_id=cholon,
                     area="Q5-P09", feeder="CL-473")
    session.flush()
    demo_ids = (an.id, binh.id)
    session.execute(delete(Bill).where(Bill.customer_id.in_(demo_ids)))
    session.execute(delete(CustomerPhone).where(CustomerPhone.customer_id.in_(demo_ids)))
    session.execute(delete(OutageWindow).where(OutageWindow.reason.like("[demo]%")))
    # the demo numbers name exactly the demo customers, whatever generated data holds
    session.execute(delete(CustomerPhone).where(
        CustomerPhone.phone.in_((DEMO.caller_known, "02838221234", DEMO.caller_unknown))))
    session.add_all([CustomerPhone(customer_id=an.id, phone=DEMO.caller_known),
                     CustomerPhone(customer_id=binh.id, phone="02838221234")])
    for back, (kwh, amount, paid) in enumerate([(180, 421_000, False), (210, 512_000, True),
                                                (195, 468_000, True)]):
        period = _month_start(today, back + 1)
        due = _month_start(today, back) + dt.timedelta(days=19)
        session.add(Bill(customer_id=an.id, period=period, kwh=kwh, amount=amount,
                         due_date=due, paid=paid,
                         paid_date=due - dt.timedelta(days=10) if paid else None))
    for back, (kwh, amount, paid) in enumerate([(100, 210_000, True), (95, 200_000, False)]):
        period = _month_start(today, back + 1)
        due = _month_start(today, back) + dt.timedelta(days=19)
        session.add(Bill(customer_id=binh.id, period=period, kwh=kwh, amount=amount,
                         due_date=due, paid=paid,
                         paid_date=due - dt.timedelta(days=3) if paid else None))

    def local_utc(days: int, hour: int, minute: int = 0) -> dt.datetime:
        local = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))
        return local - LOCAL_OFFSET

    session.add_all([
        OutageWindow(district_company_id=saigon, feeder="SG-471", area=None,
                     starts_at=local_utc(1, 8), ends_at=local_utc(1, 11, 30),
                     reason="[demo] Bảo trì, sửa chữa lưới điện", status="planned"),
        OutageWindow(district_company_id=saigon, feeder=None, area="Q1-BEN-NGHE",
                     starts_at=local_utc(3, 13), ends_at=local_utc(3, 16),
                     reason="[demo] Thi công công trình", status="planned"),
    ])
    if session.scalar(select(Request.id).where(Request.number == DEMO.request_number)) is None:
        request = Request(number=DEMO.request_number, type="outage_report", customer_id=an.id,
                          district_company_id=saigon, caller_number=DEMO.caller_known,
                          description="Mất điện cả hẻm", created_at=now - dt.timedelta(hours=1),
                          deadline_at=now + dt.timedelta(hours=3), status="forwarded",
                          escalation_level=0, priority=5)
        session.add(request)
        session.flush()
        session.add_all([
            RequestEvent(request_id=request.id, at=request.created_at, status="open",
                         actor="op07", note="Mất điện cả hẻm", escalation_level=0),
            RequestEvent(request_id=request.id, at=request.created_at, status="forwarded",
                         actor="op07", note="forwarded to the district company",
                         escalation_level=0),
        ])
    session.commit()
    return DEMO
