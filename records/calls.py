"""Call records: opened by the controller when a call reaches the IVR, closed when it leaves,
and completed from Asterisk's call journal (which also covers calls the controller never saw).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .lookups import screen_pop
from .models import Call, Customer
from .results import Found, ScreenPop

#: Outcomes of a call. ``in_progress`` only while the call is up.
OUTCOMES = (
    "in_progress",  # the call is up
    "completed",    # served by the IVR to the goodbye
    "no_input",     # the caller pressed nothing through every retry; the IVR said goodbye
    "invalid_input",  # the caller pressed only wrong keys through every retry
    "abandoned",    # the caller hung up before being served
    "queued",       # the IVR handed the caller to the operator queue
    "overflow",     # all automated lines were busy: straight to the operator queue
    "fallback",     # the controller could not serve the call: apology, then the queue
    "failed",       # nothing could serve the call
)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def open_call(
    session: Session,
    *,
    call_id: str,
    caller_number: str,
    sip_call_id: str | None = None,
    started_at: datetime | None = None,
    menu_version: str | None = None,
) -> Call:
    """The call's row, created if this is the first time we hear of it."""
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is None:
        call = Call(
            call_id=call_id,
            caller_number=caller_number,
            sip_call_id=sip_call_id,
            started_at=started_at or utcnow(),
            path=[],
            outcome="in_progress",
            menu_version=menu_version,
        )
        session.add(call)
        try:
            session.commit()
        except IntegrityError:  # the journal got there first
            session.rollback()
            call = session.scalars(select(Call).where(Call.call_id == call_id)).one()
    if menu_version and call.menu_version != menu_version:
        call.menu_version = menu_version
        session.commit()
    return call


def save_path(session: Session, call_id: str, path: list[dict[str, Any]]) -> None:
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is not None:
        call.path = list(path)
        session.commit()


def set_customer(session: Session, call_id: str, customer_id: int) -> None:
    """The IVR identified the caller: the call history knows whose call it was."""
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is not None and call.customer_id != customer_id:
        call.customer_id = customer_id
        session.commit()


def _known(session: Session, call_id: str) -> Call:
    """The call's row; a caller who never reached the IVR (overflow straight to the queue) has
    none until the journal folds the call in, so one is opened now and completed by it."""
    return open_call(session, call_id=call_id, caller_number="")


def append_path(session: Session, call_id: str, entry: dict[str, Any]) -> None:
    call = _known(session, call_id)
    call.path = [*(call.path or []), entry]
    session.commit()


def set_queue_result(session: Session, call_id: str, operator: str, wait_s: float) -> None:
    """The ACD connected the caller: who answered and after how long in the queue."""
    call = _known(session, call_id)
    call.operator = operator
    call.queue_wait_s = wait_s
    session.commit()


def close_call(
    session: Session, call_id: str, *, outcome: str, path: list[dict[str, Any]]
) -> None:
    """The controller is done with the call; the hang-up time comes from Asterisk's journal."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is None:
        return
    call.path = list(path)
    call.outcome = outcome
    call.ivr_ended_at = utcnow()
    session.commit()


def last_calls(session: Session, limit: int = 10) -> list[Call]:
    return list(session.scalars(select(Call).order_by(Call.started_at.desc(), Call.id.desc())
                                .limit(limit)))


def find_by_sip_call_id(session: Session, sip_call_id: str) -> Call | None:
    return session.scalar(select(Call).where(Call.sip_call_id == sip_call_id))


def last_operator(session: Session, caller_number: str) -> str | None:
    """The operator who last served this caller (for sticky routing)."""
    if not caller_number:
        return None
    return session.scalar(
        select(Call.operator).where(Call.caller_number == caller_number,
                                    Call.operator.is_not(None))
        .order_by(Call.started_at.desc()).limit(1))


@dataclass(frozen=True)
class CallerCard:
    """What the records say of a caller being put through to an operator."""
    last_operator: str | None     # who served them last (sticky routing)
    customer_code: str | None     # the customer the IVR identified on this call
    screen_pop: ScreenPop | None  # their earlier calls and open requests


def caller_card(session: Session, call_id: str, caller_number: str) -> CallerCard:
    """The caller's card for the ACD: by this call's identified customer and by number."""
    customer_id = session.scalar(select(Call.customer_id).where(Call.call_id == call_id))
    code = (session.scalar(select(Customer.code).where(Customer.id == customer_id))
            if customer_id is not None else None)
    pop = screen_pop(session, caller_number, customer_id, current_call=call_id)
    return CallerCard(last_operator(session, caller_number), code,
                      pop.value if isinstance(pop, Found) else None)
