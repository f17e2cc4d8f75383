"""The operator's desk (``/desk``): the operator's state in step with the phone, the screen pop
when the phone rings, customer search, new requests, transfer to another queue and the wrap-up code.

State changes go through the controller's control socket: the same ACD commands as the phone's
feature codes, so a change made on either side is one change. Every change of the operator's
state, whoever made it, comes back over ``acd:events`` and reaches the page by server-sent
events (``/desk/events``): ``state`` (the state panel, re-drawn) and, when a new call is
offered, ``pop`` (the screen pop, read from the records at once).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from acd.service_commands import PAUSE_REASONS
from acd.states import AgentState, AgentStatus
from records import lookups, requests
from records.errors import RecordsError
from records.results import Found, Invalid
from records.rules import REQUEST_TYPES

from ..auth import Principal, context, require
from ..context import WebContext
from ..controller import CommandRefused, ControllerUnavailable
from ..desk_pop import Pop, read_pop
from ..events import Event
from ..permissions import Permission

log = logging.getLogger("web.desk")
router = APIRouter(include_in_schema=False)
desk = require(Permission.DESK)
DeskUser = Annotated[Principal, Depends(desk)]

STATE_NAMES = {"logged_out": "Logged out", "available": "Available", "reserved": "Ringing",
               "on_call": "On a call", "wrap_up": "Wrap-up", "paused": "Paused"}
TARIFF_NAMES = {"residential": "Residential, tiered (sinh hoạt bậc thang)",
                "business": "Business (kinh doanh)", "production": "Production (sản xuất)",
                "administrative": "Administrative (hành chính sự nghiệp)"}
ACTIONS = ("login", "logout", "pause", "unpause")


def _agent(who: Principal) -> str:
    agent_id = who.account.agent_id
    assert agent_id, "an operator account always names its operator"
    return agent_id


@dataclass(frozen=True)
class CallView:
    """What Redis holds of the call offered to the operator (the ACD's waiting-call hash)."""
    call_id: str | None
    caller: str
    info: dict[str, str]


async def _current_call(web: WebContext, status: AgentStatus) -> CallView | None:
    call_id = status.call_id or status.last_call_id
    if not call_id:
        return None
    info = await web.live.call(call_id)
    return CallView(call_id, info.get("caller", ""), info)


async def _pop(web: WebContext, call: CallView | None, customer_code: str = "") -> Pop | None:
    if call is None and not customer_code:
        return None

    def read(session: Any) -> Pop:
        customer_id = None
        if customer_code:
            found = lookups.customer_by_code(session, customer_code)
            customer_id = found.value.id if isinstance(found, Found) else None
        return read_pop(session, call.call_id if call else None, call.caller if call else "",
                        customer_id)

    return await web.records.run(read)


def _render(request: Request, template: str, who: Principal, **values: Any) -> str:
    web = context(request)
    template_values = {
        "who": who, "state_names": STATE_NAMES, "pause_reasons": list(PAUSE_REASONS.items()),
        "tariff_names": TARIFF_NAMES, "request_types": REQUEST_TYPES,
        "prompt_texts": web.prompt_texts, "transfer_targets": _transfer_targets(web),
        "call_info": {}, **values}
    return web.templates.get_template(template).render(template_values)


def _transfer_targets(web: WebContext) -> list[tuple[str, str]]:
    """The queues a caller can be transferred to: every skill some operator has."""
    skills = sorted({skill for agent in web.agents().values() for skill in agent.skills})
    return [(f"skill:{skill}", f"queue {skill}") for skill in skills]


def _call_info(call: CallView | None) -> dict[str, str]:
    if call is None:
        return {}
    return {"skills": call.info.get("skills", "").replace(",", ", "),
            "priority": call.info.get("priority", "")}


@router.get("/desk", response_class=HTMLResponse)
async def desk_page(request: Request, who: DeskUser) -> Response:
    web = context(request)
    agent_id = _agent(who)
    status = await web.live.agent(agent_id)
    call = await _current_call(web, status)
    pop = await _pop(web, call)
    agent = web.agents().get(agent_id)
    return HTMLResponse(_render(request, "desk.html", who, agent_id=agent_id,
                                agent_name=agent.name if agent else "", status=status,
                                pop=pop, call_info=_call_info(call)))


@router.get("/desk/events", response_class=EventSourceResponse)
async def desk_events(request: Request, who: DeskUser) -> AsyncIterator[ServerSentEvent]:
    """The operator's live events: ``state`` on every change, ``pop`` on a new call."""
    web = context(request)
    agent_id = _agent(who)

    def mine(event: Event) -> bool:
        return event.get("type") == "resync" or (
            event.get("type") == "agent" and event.get("agent") == agent_id)

    async with web.events.subscribe(mine) as subscriber:
        status = await web.live.agent(agent_id)
        shown_call = status.call_id or status.last_call_id
        yield ServerSentEvent(raw_data=_render(request, "desk/state.html", who, status=status),
                              event="state")
        while True:
            await subscriber.queue.get()  # a change or a resync: either way, read afresh
            status = await web.live.agent(agent_id)
            call_id = status.call_id
            if call_id and call_id != shown_call:  # a new call: the pop first, it is urgent
                shown_call = call_id
                call = await _current_call(web, status)
                try:
                    pop = await _pop(web, call)
                except Exception as exc:  # noqa: BLE001 - the records down: say so, go on
                    log.warning("screen pop of %s for %s: %s", call_id, agent_id, exc)
                    pop = Pop(call_id=call_id, caller=call.caller if call else "")
                yield ServerSentEvent(raw_data=_render(request, "desk/pop.html", who, pop=pop,
                                                       call_info=_call_info(call)),
                                      event="pop")
            yield ServerSentEvent(raw_data=_render(request, "desk/state.html", who,
                                                   status=status), event="state")


@router.post("/desk/state", response_class=HTMLResponse)
async def change_state(request: Request, who: DeskUser, action: str = Form(max_length=16),
                       reason: str = Form("", max_length=16)) -> Response:
    web = context(request)
    agent_id = _agent(who)
    problem = ""
    if action not in ACTIONS:
        problem = f"{action!r} is not something the desk does"
    elif action == "pause" and reason not in PAUSE_REASONS:
        problem = "choose a pause reason from the list"
    else:
        try:
            await web.controller.agent_command(agent_id, action,
                                               reason if action == "pause" else None)
        except (CommandRefused, ControllerUnavailable) as exc:
            problem = str(exc)
    status = await web.live.agent(agent_id)
    return HTMLResponse(_render(request, "desk/state.html", who, status=status,
                                problem=problem), status_code=200)


@router.post("/desk/wrap-up", response_class=HTMLResponse)
async def wrap_up(request: Request, who: DeskUser,
                  code: str = Form(max_length=8)) -> Response:
    web = context(request)
    agent_id = _agent(who)
    problem = ""
    if not code.isdigit():
        problem = "a wrap-up code is 1 to 8 digits"
    else:
        try:
            await web.controller.agent_command(agent_id, "wrap_up", code)
        except (CommandRefused, ControllerUnavailable) as exc:
            problem = str(exc)
    status = await web.live.agent(agent_id)
    return HTMLResponse(_render(request, "desk/state.html", who, status=status,
                                problem=problem))


async def _own_call(web: WebContext, agent_id: str, call_id: str) -> CallView | None:
    """The call, if it is this operator's current or last call (else None: not theirs)."""
    status = await web.live.agent(agent_id)
    if not call_id or call_id not in (status.call_id, status.last_call_id):
        return None
    return await _current_call(web, status)


@router.get("/desk/pop", response_class=HTMLResponse)
async def pop_for(request: Request, who: DeskUser, customer: str = "",
                  call: str = "") -> Response:
    """The pop for a customer the operator picked (a search result), with the operator's own
    call (its IVR path) when there is one."""
    web = context(request)
    call_view = await _own_call(web, _agent(who), call) if call else None
    pop = await _pop(web, call_view, customer[:20])
    return HTMLResponse(_render(request, "desk/pop.html", who, pop=pop,
                                call_info=_call_info(call_view)))


@router.get("/desk/search", response_class=HTMLResponse)
async def search(request: Request, who: DeskUser, q: str = "", call: str = "") -> Response:
    """By customer code (PE + 11 digits, or the 11 digits), phone number, or name."""
    web = context(request)
    text = q.strip()[:128]
    result = await web.records.run(lambda s: lookups.find_customers(s, text))
    problem = str(result) if isinstance(result, Invalid) else ""
    return HTMLResponse(_render(request, "desk/search.html", who, problem=problem,
                                customers=() if problem else result, call=call[:64]))


@router.post("/desk/requests", response_class=HTMLResponse)
async def create_request(request: Request, who: DeskUser, type: str = Form(max_length=32),
                         note: str = Form("", max_length=2000),
                         customer: str = Form("", max_length=20),
                         caller: str = Form("", max_length=32), call: str = Form("", max_length=64)) -> Response:
    """A request from the desk, forwarded to the customer's district company when its type
    says so, linked to the operator's call; its number is shown to be read to the caller."""
    web = context(request)
    agent_id = _agent(who)
    call_view = await _own_call(web, agent_id, call) if call else None
    rules = web.request_rules()

    def create(session: Any) -> Any:
        customer_id = None
        district = None
        if customer:
            found = lookups.customer_by_code(session, customer)
            if not isinstance(found, Found):
                return f"customer {customer}: {found}"
            customer_id = found.value.id
            district = found.value.district_company_name
        created = requests.create(session, rules, request_type=type, actor=agent_id,
                                  customer_id=customer_id,
                                  caller_number=call_view.caller if call_view else caller,
                                  description=note.strip(),
                                  call_id=call_view.call_id if call_view else None)
        return created, district

    try:
        result = await web.records.run(create)
    except RecordsError as exc:
        result = str(exc)
    if isinstance(result, str):
        return HTMLResponse(_render(request, "desk/request_created.html", who, problem=result))
    created, district = result
    log.info("%s created request %s (%s)", agent_id, created.number, type)
    return HTMLResponse(_render(request, "desk/request_created.html", who, created=created,
                                district=district))


@router.post("/desk/transfer", response_class=HTMLResponse)
async def transfer(request: Request, who: DeskUser, target: str = Form(max_length=40),
                   call: str = Form(max_length=64)) -> Response:
    """Send the caller the operator is talking to to another skill's queue (the ACD does it:
    the caller waits on hold music again, the operator goes to the wrap-up)."""
    web = context(request)
    agent_id = _agent(who)
    status = await web.live.agent(agent_id)
    problem, message = "", ""
    if status.state is not AgentState.ON_CALL or status.call_id != call:
        problem = "only the caller you are talking to can be transferred"
    elif target not in {value for value, _ in _transfer_targets(web)}:
        problem = "choose a queue from the list"
    else:
        try:
            answer = await web.controller.request(f"transfer {agent_id} {call} {target}")
            if isinstance(answer, dict) and "error" not in answer:
                message = f"the caller is on the way to the {target.removeprefix('skill:')} queue"
            else:
                problem = str(answer.get("error") if isinstance(answer, dict) else answer)
        except ControllerUnavailable as exc:
            problem = str(exc)
    if message:
        log.info("%s transferred call %s to %s", agent_id, call, target)
    return HTMLResponse(_render(request, "desk/message.html", who, problem=problem,
                                message=message))
