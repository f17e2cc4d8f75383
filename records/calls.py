"""Call records: opened by the controller when a call reaches the IVR, closed when it leaves,
and completed from Asterisk's call journal (which also covers calls the controller never saw).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .clock import utcnow
from .lookups import screen_pop
from .models import Call, CallAppend, Customer
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


def _appended(session: Session, call_id: str) -> list[dict[str, Any]]:
    return list(session.scalars(select(CallAppend.entry).where(CallAppend.call_id == call_id)
                                .order_by(CallAppend.id)))


def save_path(session: Session, call_id: str, path: list[dict[str, Any]]) -> None:
    """The IVR's path so far; steps the ACD appended stay behind it (so a replayed save, or a
    save after an append, loses none)."""
    call = session.scalar(select(Call).where(Call.call_id == call_id))
    if call is not None:
        call.path = [*path, *_appended(session, call_id)]
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


def append_path(session: Session, call_id: str, entry: dict[str, Any], write_id: str) -> None:
    """Add a step after the IVR is done with the call (the ACD's), once however often its write
    is replayed: the step is kept in ``call_appends`` under ``write_id``."""
    if _applied(session, write_id):
        return
    _append(session, _known(session, call_id), entry, write_id)
    _commit_once(session, write_id)


def _applied(session: Session, write_id: str) -> bool:
    return session.scalar(
        select(CallAppend.id).where(CallAppend.write_id == write_id)) is not None


def _append(session: Session, call: Call, entry: dict[str, Any], write_id: str) -> None:
    """The step at the end of the call's path, kept under ``write_id`` (not committed)."""
    call.path = [*(call.path or []), entry]
    session.add(CallAppend(write_id=write_id, call_id=call.call_id, entry=entry,
                           applied_at=utcnow()))


def _commit_once(session: Session, write_id: str) -> None:
    try:
        session.commit()
    except IntegrityError:  # a replay of the same write committed first: it landed once
        session.rollback()
        if not _applied(session, write_id):
            raise


def forget_appends(session: Session, older_than: timedelta) -> int:
    """Forget the appended steps of calls long over (no replay comes that late): their paths
    keep them."""
    result = session.execute(delete(CallAppend)
                             .where(CallAppend.applied_at < utcnow() - older_than))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_queue_result(session: Session, call_id: str, operator: str, wait_s: float, *,
                     step: dict[str, Any] | None = None, write_id: str | None = None) -> None:
    """The ACD connected the caller: who answered and after how long in the queue. ``step``
    (with the ``write_id`` that keeps it once), the step of the path that says how (a callback
    attempt answered), lands in the same transaction: no reader sees the one without the
    other."""
    if step is not None and write_id is None:
        raise ValueError("a step needs the write id that keeps it once")
    if step is not None and write_id is not None and _applied(session, write_id):
        return
    call = _known(session, call_id)
    call.operator = operator
    call.queue_wait_s = wait_s
    if step is not None and write_id is not None:
        _append(session, call, step, write_id)
        _commit_once(session, write_id)
    else:
        session.commit()


def set_wrap_up_code(session: Session, call_id: str, code: str) -> None:
    """The operator's wrap-up code for the call they handled (the latest one given wins)."""
    call = _known(session, call_id)
    if call.wrap_up_code != code:
        call.wrap_up_code = code
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
    call.path = [*path, *_appended(session, call_id)]
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
