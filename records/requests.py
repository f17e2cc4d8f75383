"""Customer requests: created (by the IVR or an operator), forwarded to the district company,
moved through their statuses by named people, escalated as their deadline nears or passes.

    open --> forwarded --> in_progress --> resolved --> closed
      \\________\\______________\\---> cancelled        (resolved may reopen to in_progress)

Every change is a RequestEvent (status, who, when, note).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .clock import utcnow
from .errors import IllegalTransition, RequestError
from .lookups import OPEN_STATUSES, luhn_digit
from .models import Call, CallRequest, Customer, Request, RequestEvent
from .rules import REQUEST_TYPES, RequestRules

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"forwarded", "in_progress", "resolved", "cancelled"}),
    "forwarded": frozenset({"in_progress", "resolved", "cancelled"}),
    "in_progress": frozenset({"resolved", "cancelled"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
STATUSES = tuple(TRANSITIONS)


def new_number() -> str:
    """Seven random digits (no leading zero) and a Luhn check digit: 8 keys to press."""
    body = str(1_000_000 + secrets.randbelow(9_000_000))
    return body + luhn_digit(body)


@dataclass(frozen=True)
class Created:
    number: str
    deadline_at: datetime
    forwarded: bool
    priority: int


def create(session: Session, rules: RequestRules, *, request_type: str, actor: str,
           customer_id: int | None = None, caller_number: str = "", description: str = "",
           call_id: str | None = None, now: datetime | None = None) -> Created:
    """Create a request; forward it at once when its type says so. Returns its number."""
    if request_type not in REQUEST_TYPES:
        raise RequestError(f"unknown request type {request_type!r} (one of "
                           f"{', '.join(REQUEST_TYPES)})")
    rule = rules.rule(request_type)
    now = now or utcnow()
    district_company_id = None
    if customer_id is not None:
        district_company_id = session.scalar(
            select(Customer.district_company_id).where(Customer.id == customer_id))
        if district_company_id is None:
            raise RequestError(f"no customer with id {customer_id}")
    status = "forwarded" if rule.forward and district_company_id else "open"
    for _attempt in range(8):
        request = Request(number=new_number(), type=request_type, customer_id=customer_id,
                          district_company_id=district_company_id,
                          caller_number=caller_number[:32], description=description,
                          created_at=now, deadline_at=now + rule.deadline, status="open",
                          escalation_level=0, priority=rule.priority)
        session.add(request)
        try:
            session.flush()
            break
        except IntegrityError:  # the random number is taken: draw again
            session.rollback()
    else:
        raise RequestError("could not find a free request number")
    session.add(RequestEvent(request_id=request.id, at=now, status="open", actor=actor,
                             note=description[:500], escalation_level=0))
    if status == "forwarded":
        request.status = "forwarded"
        session.add(RequestEvent(request_id=request.id, at=now, status="forwarded",
                                 actor=actor, note="forwarded to the district company",
                                 escalation_level=0))
    if call_id is not None:
        call_row = session.scalar(select(Call.id).where(Call.call_id == call_id))
        if call_row is not None:
            session.add(CallRequest(call_id=call_row, request_id=request.id, relation="created"))
    session.commit()
    return Created(request.number, request.deadline_at, status == "forwarded", rule.priority)


def change_status(session: Session, number: str, status: str, *, actor: str, note: str = "",
                  now: datetime | None = None) -> None:
    """Move a request to ``status``; illegal moves raise and change nothing."""
    request = session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise RequestError(f"no request number {number}")
    if status not in TRANSITIONS:
        raise RequestError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if status not in TRANSITIONS[request.status]:
        raise IllegalTransition(f"request {number} is {request.status}; it cannot become "
                                f"{status}")
    request.status = status
    session.add(RequestEvent(request_id=request.id, at=now or utcnow(), status=status,
                             actor=actor, note=note, escalation_level=request.escalation_level))
    session.commit()


#: the statuses in which a district company may still accept a request it was sent
ACCEPTABLE = frozenset({"open", "forwarded"})


def add_note(session: Session, number: str, note: str, *, actor: str,
             now: datetime | None = None) -> None:
    """Record a note on a request (what was done, what the customer was told) without moving
    it: a change of its own in the history, with who and when."""
    request = session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise RequestError(f"no request number {number}")
    if not note.strip():
        raise RequestError("a note needs some text")
    session.add(RequestEvent(request_id=request.id, at=now or utcnow(), status=request.status,
                             actor=actor, note=note.strip(),
                             escalation_level=request.escalation_level))
    session.commit()


def accept(session: Session, number: str, *, actor: str, note: str = "",
           now: datetime | None = None) -> None:
    """A district company takes a request on: recorded in its history (the status stays
    forwarded until the work starts); a request already under way or finished is refused."""
    status = session.scalar(select(Request.status).where(Request.number == number))
    if status is None:
        raise RequestError(f"no request number {number}")
    if status not in ACCEPTABLE:
        raise IllegalTransition(f"request {number} is {status}; only a request not yet under "
                                "way can be accepted")
    add_note(session, number, "accepted" + (f": {note.strip()}" if note.strip() else ""),
             actor=actor, now=now)


def forward(session: Session, number: str, *, actor: str, now: datetime | None = None) -> None:
    change_status(session, number, "forwarded", actor=actor,
                  note="forwarded to the district company", now=now)


def link_call(session: Session, call_id: str, number: str, relation: str = "asked") -> None:
    """Remember that a call asked about (or created) a request."""
    call = session.scalar(select(Call.id).where(Call.call_id == call_id))
    request = session.scalar(select(Request.id).where(Request.number == number))
    if call is None or request is None:
        return
    if session.get(CallRequest, (call, request)) is None:
        session.add(CallRequest(call_id=call, request_id=request, relation=relation))
        session.commit()


def escalate(session: Session, rules: RequestRules, now: datetime | None = None,
             actor: str = "escalation") -> int:
    """Raise the escalation level of open requests whose deadline is near or past.

    Idempotent: a level only ever goes up, and each rise is recorded once. Uses the
    (status, deadline_at) index: only requests within the largest warning window are read.
    """
    now = now or utcnow()
    horizon = now + max(rule.warn_before for rule in rules.types.values())
    candidates = session.execute(
        select(Request.id, Request.type, Request.deadline_at, Request.escalation_level,
               Request.status)
        .where(Request.status.in_(OPEN_STATUSES), Request.deadline_at <= horizon,
               Request.escalation_level < 3)
    ).all()
    raised = 0
    for request_id, request_type, deadline_at, level, status in candidates:
        new_level = rules.escalation_level(request_type, (now - deadline_at).total_seconds())
        if new_level <= level:
            continue
        # compare-and-set: a concurrent escalator (another controller) cannot double-record
        done = session.execute(
            update(Request).where(Request.id == request_id, Request.escalation_level == level)
            .values(escalation_level=new_level)
        ).rowcount
        if done:
            session.add(RequestEvent(request_id=request_id, at=now, status=status, actor=actor,
                                     note=_ESCALATION_NOTES[new_level],
                                     escalation_level=new_level))
            raised += 1
    session.commit()
    return raised


_ESCALATION_NOTES = {
    1: "deadline near",
    2: "deadline passed",
    3: "deadline passed long ago: critical",
}
