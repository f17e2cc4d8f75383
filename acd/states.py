"""An operator's state as a pure state machine, with every transition in one table.

    logged_out --login--> available --offer--> reserved --answer--> on_call --hangup--> wrap_up
                              ^  |                 | no_answer / caller_gone                |
                              |  +--pause--> paused |<---------------------------------------+
                              +---------------------+           wrap_up_done (timer or code)

An illegal event raises :class:`AgentStateError` and the status is left unchanged. A pause asked
for during a call is remembered and taken when the wrap-up ends; one asked for during a ring that
ends unanswered (or that the caller abandons) is taken at once. ``max_missed`` unanswered offers
in a row pause the operator with reason ``no_answer``. ``last_call_id`` is the call the operator
handled last: a wrap-up code (``wrap_up_code``) given in the wrap-up, or later while available or
paused, belongs to it; a code given in the wrap-up ends it. ``wrap_up_code`` is cleared when the
next call is offered. A hang-up sets
``wrap_up_until`` (the end of the wrap-up, ``wrap_up_s`` later): the deadline lives with the
status, so whichever controller runs when it is due ends the wrap-up. ``wrap_up_done`` for a given
call is refused once the operator has moved on from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class AgentStateError(Exception):
    code = "acd.agent_state"


@dataclass(frozen=True)
class AgentStatus:
    agent_id: str
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0                # when the current state began (epoch seconds)
    idle_since: float = 0.0           # when the operator last became free: longest idle first
    pause_reason: str | None = None
    pending_pause: str | None = None  # asked for during a call; taken after the wrap-up
    missed_offers: int = 0            # unanswered offers in a row
    call_id: str | None = None        # the call offered or in progress
    wrap_up_code: str | None = None
    last_call_id: str | None = None   # the call handled last: where a wrap-up code belongs
    wrap_up_until: float = 0.0        # in wrap_up: when it ends (any controller ends it then)


@dataclass(frozen=True)
class Event:
    name: str
    reason: str | None = None   # pause reason, wrap-up code
    call_id: str | None = None


S = AgentState
#: (state, event) -> next state; anything else is illegal. Handlers below refine the details.
TRANSITIONS: dict[tuple[AgentState, str], AgentState] = {
    (S.LOGGED_OUT, "login"): S.AVAILABLE,
    (S.AVAILABLE, "logout"): S.LOGGED_OUT,
    (S.AVAILABLE, "pause"): S.PAUSED,
    (S.AVAILABLE, "offer"): S.RESERVED,
    (S.RESERVED, "answer"): S.ON_CALL,
    (S.RESERVED, "no_answer"): S.AVAILABLE,      # or PAUSED: max_missed offers, or pause pending
    (S.RESERVED, "caller_gone"): S.AVAILABLE,     # or PAUSED if a pause was asked for
    (S.RESERVED, "logout"): S.LOGGED_OUT,
    (S.RESERVED, "pause"): S.RESERVED,            # remembered; the ring continues
    (S.ON_CALL, "hangup"): S.WRAP_UP,
    (S.ON_CALL, "pause"): S.ON_CALL,              # remembered
    (S.WRAP_UP, "wrap_up_done"): S.AVAILABLE,     # or PAUSED if a pause was asked for
    (S.WRAP_UP, "wrap_up_code"): S.AVAILABLE,     # the code ends the wrap-up (as done)
    (S.AVAILABLE, "wrap_up_code"): S.AVAILABLE,   # a code for the last call, given late
    (S.PAUSED, "wrap_up_code"): S.PAUSED,
    (S.WRAP_UP, "pause"): S.PAUSED,
    (S.WRAP_UP, "logout"): S.LOGGED_OUT,
    (S.PAUSED, "unpause"): S.AVAILABLE,
    (S.PAUSED, "pause"): S.PAUSED,                # a new reason
    (S.PAUSED, "logout"): S.LOGGED_OUT,
}


def transition(status: AgentStatus, event: Event, now: float, *, max_missed: int = 3,
               wrap_up_s: float = 0.0) -> AgentStatus:
    target = TRANSITIONS.get((status.state, event.name))
    if target is None:
        raise AgentStateError(f"{status.agent_id} is {status.state.value}: cannot "
                              f"{event.name}")
    if event.name == "offer":
        if not event.call_id:
            raise AgentStateError("an offer needs the call it is for")
        return replace(status, state=target, since=now, call_id=event.call_id,
                       wrap_up_code=None)
    if event.name in ("answer", "no_answer", "caller_gone", "hangup", "wrap_up_done") and \
            event.call_id is not None and event.call_id != status.call_id:
        raise AgentStateError(f"{status.agent_id} has call {status.call_id}, not "
                              f"{event.call_id}")
    if event.name == "answer":
        return replace(status, state=target, since=now, missed_offers=0)
    if event.name == "no_answer":
        missed = status.missed_offers + 1
        if missed >= max_missed:
            return replace(status, state=S.PAUSED, since=now, call_id=None, missed_offers=0,
                           pause_reason="no_answer", pending_pause=None)
        if status.pending_pause:
            return replace(status, state=S.PAUSED, since=now, call_id=None,
                           missed_offers=missed, pause_reason=status.pending_pause,
                           pending_pause=None)
        return _free(replace(status, missed_offers=missed, call_id=None), now)
    if event.name == "caller_gone":
        if status.pending_pause:
            return replace(status, state=S.PAUSED, since=now, call_id=None,
                           pause_reason=status.pending_pause, pending_pause=None)
        return _free(replace(status, call_id=None), now, keep_idle=True)
    if event.name == "hangup":
        return replace(status, state=target, since=now, wrap_up_code=None,
                       last_call_id=status.call_id, wrap_up_until=now + wrap_up_s)
    if event.name == "wrap_up_code":
        if not status.last_call_id or not event.reason:
            raise AgentStateError(f"{status.agent_id} has no call to give a wrap-up code to")
        if status.state is not S.WRAP_UP:
            return replace(status, wrap_up_code=event.reason)
    if event.name in ("wrap_up_done", "wrap_up_code"):
        done = replace(status, call_id=None, wrap_up_code=event.reason or status.wrap_up_code,
                       wrap_up_until=0.0)
        if status.pending_pause:
            return replace(done, state=S.PAUSED, since=now, pause_reason=status.pending_pause,
                           pending_pause=None)
        return _free(done, now)
    if event.name == "pause":
        reason = event.reason or "break"
        if target in (S.RESERVED, S.ON_CALL):
            return replace(status, pending_pause=reason)
        return replace(status, state=S.PAUSED, since=now if status.state is not S.PAUSED
                       else status.since, pause_reason=reason, pending_pause=None, call_id=None,
                       wrap_up_until=0.0)
    if event.name == "unpause":
        return _free(replace(status, pause_reason=None), now)
    if event.name == "login":
        return _free(replace(status, missed_offers=0), now)
    if event.name == "logout":
        return AgentStatus(agent_id=status.agent_id, state=S.LOGGED_OUT, since=now)
    raise AgentStateError(f"unhandled event {event.name}")  # pragma: no cover - table guards


def _free(status: AgentStatus, now: float, keep_idle: bool = False) -> AgentStatus:
    return replace(status, state=S.AVAILABLE, since=now, pause_reason=None,
                   idle_since=status.idle_since if keep_idle else now)
