"""``/requests``: bring requests in from the website and other channels, follow them, move
them on. A district company sees and moves only the requests forwarded to it."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from records import history, lookups, requests
from records.errors import IllegalTransition, RequestError
from records.results import Found

from ..accounts import Role
from ..auth import Forbidden, Principal, actor, context, require
from ..permissions import Permission, sees_district
from .schemas import NewRequest, RequestChange, RequestCreated, RequestList, StatusChange
from .schemas import Request as RequestResource

log = logging.getLogger("web.api")
router = APIRouter(tags=["requests"])
Creator = Annotated[Principal, Depends(require(Permission.REQUESTS_CREATE))]
Reader = Annotated[Principal, Depends(require(Permission.REQUESTS_READ))]
Changer = Annotated[Principal, Depends(require(Permission.REQUESTS_UPDATE))]


def resource(row: history.RequestRow, detail: history.RequestDetail | None = None
             ) -> RequestResource:
    return RequestResource(
        number=row.number, type=row.type, status=row.status, created_at=row.created_at,
        deadline_at=row.deadline_at, overdue_by=round(row.overdue_by_s),
        escalation_level=row.escalation_level, priority=row.priority,
        description=row.description, caller_number=row.caller_number,
        customer_code=row.customer_code, customer_name=row.customer_name,
        customer_address=row.customer_address, district_company=row.district_code,
        district_company_name=row.district_name,
        changes=[RequestChange(at=c.at, status=c.status, actor=c.actor, note=c.note,
                               escalation_level=c.escalation_level)
                 for c in detail.changes] if detail else None,
        calls=list(detail.calls) if detail else None)


@router.post("/requests", response_model=RequestCreated, status_code=201)
async def create_request(request: Request, who: Creator, body: NewRequest) -> Any:
    web = context(request)
    rules = web.request_rules()

    def create(session: Any) -> Any:
        customer_id = None
        if body.customer_code:
            found = lookups.customer_by_code(session, body.customer_code)
            if not isinstance(found, Found):
                return f"customer {body.customer_code}: {found}"
            customer_id = found.value.id
        return requests.create(session, rules, request_type=body.type, actor=actor(who),
                               customer_id=customer_id, caller_number=body.caller_number or "",
                               description=body.description.strip()
                               + (f" [{body.channel}]" if body.channel != "desk" else ""))

    try:
        created = await web.records.run(create)
    except RequestError as exc:
        raise HTTPException(422, str(exc)) from None
    if isinstance(created, str):
        raise HTTPException(422, created)
    log.info("%s created request %s (%s) over the API", actor(who), created.number, body.type)
    return JSONResponse(RequestCreated(number=created.number, deadline_at=created.deadline_at,
                                       forwarded=created.forwarded,
                                       priority=created.priority).model_dump(mode="json"),
                        status_code=201, headers={"Location": f"requests/{created.number}"})


@router.get("/requests", response_model=RequestList)
async def list_requests(request: Request, who: Reader,
                        status: str | None = Query(None, max_length=16,
                                                   description="a status, or open"),
                        district: str | None = Query(None, max_length=16),
                        customer: str | None = Query(None, max_length=20),
                        overdue: bool = False,
                        limit: int = Query(100, ge=1, le=1000),
                        offset: int = Query(0, ge=0)) -> RequestList:
    if who.account.role is Role.DISTRICT:
        if district and district != who.account.district_code:
            raise Forbidden("a district company sees its own requests only")
        district = who.account.district_code
    where = history.RequestFilter(status=status, district_code=district,
                                  customer_code=customer, overdue=overdue, limit=limit,
                                  offset=offset)
    rows, filtered = await context(request).records.run(lambda s: history.requests(s, where))
    return RequestList(items=[resource(r) for r in rows], filtered=filtered)


async def _owned(request: Request, who: Principal, number: str) -> history.RequestDetail:
    detail = await context(request).records.run(lambda s: history.request_detail(s, number))
    if detail is None:
        raise HTTPException(404, f"no request {number}")
    if not sees_district(who.account, detail.request.district_code):
        raise Forbidden(f"request {number} is not forwarded to your company")
    return detail


@router.get("/requests/{number}", response_model=RequestResource)
async def get_request(request: Request, who: Reader, number: str) -> RequestResource:
    detail = await _owned(request, who, number)
    return resource(detail.request, detail)


@router.put("/requests/{number}/status", response_model=RequestResource)
async def change_status(request: Request, who: Changer, number: str,
                        body: StatusChange) -> RequestResource:
    await _owned(request, who, number)
    try:
        await context(request).records.run(lambda s: requests.change_status(
            s, number, body.status, actor=actor(who), note=body.note.strip()))
    except IllegalTransition as exc:
        raise HTTPException(409, str(exc)) from None
    except RequestError as exc:
        raise HTTPException(422, str(exc)) from None
    detail = await _owned(request, who, number)
    return resource(detail.request, detail)

