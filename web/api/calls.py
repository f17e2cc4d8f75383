"""``/calls``: the call history with filters (call-logd's ``/cdr``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from records import history

from ..auth import Principal, context, require
from ..permissions import Permission
from .schemas import Call, CallList

router = APIRouter(tags=["calls"])
Reader = Annotated[Principal, Depends(require(Permission.CALLS_READ))]


def call(row: history.CallRow) -> Call:
    duration = (row.ended_at - row.started_at).total_seconds() if row.ended_at else None
    return Call(id=row.call_id, start=row.started_at, end=row.ended_at,
                answered=row.operator is not None, duration=duration,
                source_number=row.caller_number, customer_code=row.customer_code,
                outcome=row.outcome, queue_status=row.queue_status,
                queue_wait=row.queue_wait_s, operator=row.operator,
                wrap_up_code=row.wrap_up_code, path=row.path)


def _naive_utc(moment: datetime | None) -> datetime | None:
    """The records keep naive UTC; a time given with an offset is moved to UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@router.get("/calls", response_model=CallList)
async def list_calls(request: Request, who: Reader,
                     from_: Annotated[datetime | None, Query(alias="from")] = None,
                     until: datetime | None = None,
                     number: str | None = Query(None, max_length=32),
                     operator: str | None = Query(None, max_length=32),
                     outcome: str | None = Query(None, max_length=32),
                     customer: str | None = Query(None, max_length=20),
                     direction: Literal["asc", "desc"] = "desc",
                     limit: int = Query(100, ge=1, le=1000),
                     offset: int = Query(0, ge=0)) -> CallList:
    where = history.CallFilter(since=_naive_utc(from_), until=_naive_utc(until), number=number,
                               operator=operator, outcome=outcome, customer_code=customer,
                               newest_first=direction == "desc", limit=limit, offset=offset)
    rows, filtered, total = await context(request).records.run(
        lambda s: history.calls(s, where))
    return CallList(items=[call(r) for r in rows], filtered=filtered, total=total)


@router.get("/calls/{call_id}", response_model=Call)
async def get_call(request: Request, who: Reader, call_id: str) -> Call:
    rows, _, _ = await context(request).records.run(
        lambda s: history.calls(s, history.CallFilter(limit=1, call_id=call_id)))
    if not rows:
        raise HTTPException(404, f"no call {call_id}")
    return call(rows[0])
