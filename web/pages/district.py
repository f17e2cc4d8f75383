"""The district company portal (``/district``): the requests forwarded to one district power
company, by deadline (overdue marked), with their history, and the company's changes: accept,
in progress, done, cannot do (with the reason), a note.

A district account sees its own company only (another company's request is a 404, never its
content); a supervisor or an admin picks any company (``?code=PCSG``) and a supervisor may move
its requests too; operators have the desk. Changes go through :mod:`records.requests`, the
same functions as the API's, each one recorded with who and when; the centre's screen pop and
the API read the same records, so they see it at once. A refused change re-renders the page
with the reason beside that request and the note as typed (nothing is lost).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from records import history, requests
from records.errors import IllegalTransition, RequestError
from records.requests import ACCEPTABLE, TRANSITIONS

from ..accounts import Role
from ..auth import Forbidden, Principal, actor, context, require
from ..permissions import Permission, may, sees_district

log = logging.getLogger("web.district")
router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require(Permission.DISTRICT_PORTAL))]
Changer = Annotated[Principal, Depends(require(Permission.REQUESTS_UPDATE))]

#: the portal's actions: (label, the status it moves to; None: the status stays)
ACTIONS: dict[str, tuple[str, str | None]] = {
    "accept": ("Accept", None),
    "in_progress": ("In progress", "in_progress"),
    "done": ("Done", "resolved"),
    "cannot": ("Cannot do", "cancelled"),
    "note": ("Add note", None),
}
STATUS_NAMES = {"open": "Open", "forwarded": "Forwarded", "in_progress": "In progress",
                "resolved": "Done", "closed": "Closed", "cancelled": "Cannot do / cancelled"}
FINISHED = ("resolved", "cancelled", "closed")
SHOWN_OPEN, SHOWN_FINISHED = 500, 50


@dataclass(frozen=True)
class Problem:
    """A refused change, shown beside its request with the note as it was typed."""
    number: str
    message: str
    note: str = ""


def actions_for(status: str) -> list[str]:
    """The actions the portal offers for a request in ``status``."""
    offered = [name for name, (_, target) in ACTIONS.items()
               if target is not None and target in TRANSITIONS.get(status, ())]
    if status in ACCEPTABLE:
        offered.insert(0, "accept")
    return [*offered, "note"]


def _portal_code(who: Principal, code: str) -> str | None:
    """The company whose portal this is: a district account's own; the one asked for by a
    supervisor or an admin (None: none asked, they choose)."""
    if who.account.role is Role.DISTRICT:
        if code and code != who.account.district_code:
            raise Forbidden("a district company sees its own requests only")
        return who.account.district_code
    return code or None


def _read(code: str | None) -> Any:
    def read(session: Any) -> dict[str, Any]:
        companies = history.district_companies(session)
        if code is None:
            return {"companies": companies}
        if code not in dict(companies):
            return {"companies": companies, "unknown": True}
        open_rows, _ = history.requests(session, history.RequestFilter(
            status="open", district_code=code, limit=SHOWN_OPEN))
        finished = [row for status in FINISHED for row in history.requests(
            session, history.RequestFilter(status=status, district_code=code,
                                           limit=SHOWN_FINISHED))[0]]
        finished = sorted(finished, key=lambda r: r.deadline_at, reverse=True)[:SHOWN_FINISHED]
        changes = history.changes_of(session, [r.number for r in (*open_rows, *finished)])
        return {"companies": companies, "open_rows": open_rows, "finished": finished,
                "changes": changes}

    return read


async def _page(request: Request, who: Principal, code: str | None,
                problem: Problem | None = None, status: int = 200) -> Response:
    web = context(request)
    found = await web.records.run(_read(code))
    if found.get("unknown"):
        raise HTTPException(404, f"no district company {code}")
    values = {"who": who, "code": code, "company": dict(found["companies"]).get(code or ""),
              "may_change": may(who.account, Permission.REQUESTS_UPDATE),
              "actions": ACTIONS, "actions_for": actions_for, "status_names": STATUS_NAMES,
              "problem": problem, "shown_open": SHOWN_OPEN, **found}
    return HTMLResponse(web.templates.get_template("district.html").render(values),
                        status_code=status)


@router.get("/district", response_class=HTMLResponse)
async def portal(request: Request, who: Viewer, code: str = "") -> Response:
    return await _page(request, who, _portal_code(who, code.strip().upper()[:16]))


@router.post("/district/requests/{number}", response_class=HTMLResponse)
async def change(request: Request, who: Changer, number: str,
                 action: str = Form(max_length=16), note: str = Form("", max_length=2000)
                 ) -> Response:
    """One change of one request; back to the portal (303), or the portal with the problem."""
    web = context(request)
    number = number[:16]
    detail = await web.records.run(lambda s: history.request_detail(s, number))
    if detail is None or detail.request.district_code is None or not sees_district(
            who.account, detail.request.district_code):
        raise HTTPException(404, f"no request {number} for your company")
    code = detail.request.district_code
    note = note.strip()
    message, status = "", 422
    if action not in ACTIONS:
        message = f"{action[:16]!r} is not a change the portal makes (one of " \
                  f"{', '.join(label for label, _ in ACTIONS.values())})"
    elif action == "cannot" and not note:
        message = "say why it cannot be done: the reason is required"
    elif action == "note" and not note:
        message = "write the note first"
    else:
        target = ACTIONS[action][1]
        by = actor(who)
        try:
            if action == "accept":
                await web.records.run(lambda s: requests.accept(s, number, actor=by, note=note))
            elif action == "note":
                await web.records.run(lambda s: requests.add_note(s, number, note, actor=by))
            else:
                assert target is not None
                await web.records.run(lambda s: requests.change_status(
                    s, number, target, actor=by, note=note))
        except IllegalTransition as exc:
            message, status = str(exc), 409
        except RequestError as exc:
            message = str(exc)
    if message:
        return await _page(request, who, code, Problem(number, message, note), status=status)
    log.info("%s: %s on request %s", actor(who), action, number)
    back = "/district" if who.account.role is Role.DISTRICT else f"/district?code={code}"
    return RedirectResponse(f"{back}#r{number}", status_code=303)
