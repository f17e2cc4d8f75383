"""``/agents``: operators' states and the commands an operator's phone has (agentd's
``/agents/by-id/{id}/login``, ``logoff``, ``pause``, ``unpause``), plus the wrap-up code.
An operator sees and acts on itself only. Commands go to the controller, like the feature
codes: a refusal (not now, not an operator) is 409, the controller not running 503."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from acd.service_commands import PAUSE_REASONS
from acd.states import AgentState, AgentStatus

from ..auth import Forbidden, Principal, context, require
from ..controller import CommandRefused
from ..permissions import Permission, owns_agent
from .schemas import Agent, Pause, WrapUp

router = APIRouter(tags=["agents"])
Reader = Annotated[Principal, Depends(require(Permission.AGENTS_READ))]
Actor = Annotated[Principal, Depends(require(Permission.AGENTS_ACT))]


def _agent(request: Request, status: AgentStatus) -> Agent:
    profile = context(request).agents().get(status.agent_id)
    return Agent(id=status.agent_id, name=profile.name if profile else "",
                 logged=status.state is not AgentState.LOGGED_OUT,
                 paused=status.state is AgentState.PAUSED, paused_reason=status.pause_reason,
                 state=status.state.value, state_since=status.since, call_id=status.call_id,
                 skills=dict(profile.skills) if profile else {})


def _mine(request: Request, who: Principal, agent_id: str) -> None:
    if agent_id not in context(request).agents():
        raise HTTPException(404, f"no operator {agent_id}")
    if not owns_agent(who.account, agent_id):
        raise Forbidden("an operator sees and acts on itself only")


@router.get("/agents", response_model=list[Agent])
async def list_agents(request: Request, who: Reader) -> list[Agent]:
    web = context(request)
    known = web.agents()
    statuses = {s.agent_id: s for s in await web.live.agents()}
    ids = sorted(known) if who.account.agent_id is None else [who.account.agent_id]
    return [_agent(request, statuses.get(i) or AgentStatus(agent_id=i)) for i in ids]


@router.get("/agents/by-id/{agent_id}", response_model=Agent)
async def get_agent(request: Request, who: Reader, agent_id: str) -> Agent:
    _mine(request, who, agent_id)
    return _agent(request, await context(request).live.agent(agent_id))


async def _command(request: Request, who: Principal, agent_id: str, action: str,
                   argument: str | None = None) -> Agent:
    _mine(request, who, agent_id)
    web = context(request)
    try:
        await web.controller.agent_command(agent_id, action, argument)
    except CommandRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return _agent(request, await web.live.agent(agent_id))


@router.post("/agents/by-id/{agent_id}/login", response_model=Agent)
async def login(request: Request, who: Actor, agent_id: str) -> Agent:
    return await _command(request, who, agent_id, "login")


@router.post("/agents/by-id/{agent_id}/logoff", response_model=Agent)
async def logoff(request: Request, who: Actor, agent_id: str) -> Agent:
    return await _command(request, who, agent_id, "logout")


@router.post("/agents/by-id/{agent_id}/pause", response_model=Agent)
async def pause(request: Request, who: Actor, agent_id: str, body: Pause) -> Agent:
    if body.reason not in PAUSE_REASONS:
        raise HTTPException(422, "a pause reason is 1 break, 2 meal, 3 training or 4 other")
    return await _command(request, who, agent_id, "pause", body.reason)


@router.post("/agents/by-id/{agent_id}/unpause", response_model=Agent)
async def unpause(request: Request, who: Actor, agent_id: str) -> Agent:
    return await _command(request, who, agent_id, "unpause")


@router.post("/agents/by-id/{agent_id}/wrap-up", response_model=Agent)
async def wrap_up(request: Request, who: Actor, agent_id: str, body: WrapUp) -> Agent:
    return await _command(request, who, agent_id, "wrap_up", body.code)
