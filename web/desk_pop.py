"""The operator's screen pop on the desk: everything the records know of the caller being put
through, read in one trip to the records (one session, a few indexed queries).

    the customer    identified by the IVR on this call, else the one customer with the
                    caller's number (several: all of them, the operator picks)
    this call       the IVR's path: each menu step, the keys pressed, what the caller heard
    earlier calls   with their operator and wrap-up code (not this call)
    open requests   with their deadline, how late they are, their district company
    the bill        the latest bill and what is unpaid
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import lookups
from records.models import Call, Customer, DistrictCompany
from records.results import BillStatus, CallSummary, CustomerInfo, Found, RequestInfo


@dataclass(frozen=True)
class PathStep:
    node: str
    key: str | None = None
    event: str | None = None
    outcome: str | None = None
    heard: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pop:
    call_id: str | None
    caller: str
    customer: CustomerInfo | None = None
    candidates: tuple[CustomerInfo, ...] = ()   # several customers share the caller's number
    identified_by: str | None = None            # "ivr" (keyed the code), "phone" (the number)
    path: tuple[PathStep, ...] = ()
    call_started_at: datetime | None = None
    calls: tuple[CallSummary, ...] = ()
    open_requests: tuple[RequestInfo, ...] = ()
    bill: BillStatus | None = None
    queue: dict[str, str] = field(default_factory=dict)  # skills, priority of the call


def customer_by_id(session: Session, customer_id: int) -> CustomerInfo | None:
    row = session.execute(
        select(Customer.id, Customer.code, Customer.name, Customer.address,
               DistrictCompany.code, DistrictCompany.name, Customer.area, Customer.feeder,
               Customer.tariff)
        .join(DistrictCompany, DistrictCompany.id == Customer.district_company_id)
        .where(Customer.id == customer_id)).first()
    return CustomerInfo(*row) if row else None


def _steps(path: list[dict[str, Any]]) -> tuple[PathStep, ...]:
    steps = []
    for entry in path:
        if not isinstance(entry, dict):
            continue
        key = entry.get("key")
        steps.append(PathStep(node=str(entry.get("node") or entry.get("event") or "?"),
                              key=None if key is None else str(key),
                              event=entry.get("event"), outcome=entry.get("outcome"),
                              heard=tuple(str(p) for p in entry.get("played") or ())))
    return tuple(steps)


def read_pop(session: Session, call_id: str | None, caller: str,
             customer_id: int | None = None) -> Pop:
    """The pop for a call (``call_id``: this call's record, if any), by its caller's number;
    ``customer_id`` names the customer when the operator picked one."""
    call = session.scalar(select(Call).where(Call.call_id == call_id)) if call_id else None
    identified_by = None
    if customer_id is None and call is not None and call.customer_id is not None:
        customer_id, identified_by = call.customer_id, "ivr"
    candidates: tuple[CustomerInfo, ...] = ()
    customer = customer_by_id(session, customer_id) if customer_id is not None else None
    if customer is not None and identified_by is None:
        identified_by = "operator"
    if customer is None and caller:
        found = lookups.customers_by_phone(session, caller)
        if isinstance(found, Found):
            if len(found.value) == 1:
                customer, identified_by = found.value[0], "phone"
            else:
                candidates = found.value
    pop = lookups.screen_pop(session, caller or "", customer.id if customer else None,
                             current_call=call_id or "")
    bill = None
    if customer is not None:
        status = lookups.bill_status(session, customer.id)
        bill = status.value if isinstance(status, Found) else None
    return Pop(call_id=call_id, caller=caller, customer=customer, candidates=candidates,
               identified_by=identified_by, path=_steps(call.path or []) if call else (),
               call_started_at=call.started_at if call else None,
               calls=pop.value.calls if isinstance(pop, Found) else (),
               open_requests=pop.value.open_requests if isinstance(pop, Found) else (),
               bill=bill)
