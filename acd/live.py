"""The ACD's live state in Redis, shared by every controller (redis-py asyncio).

    acd:agent:<id>   hash  the operator's AgentStatus (acd.states), in wrap-up with its end
    acd:agents       set   every operator ever seen
    acd:call:<id>    hash  a waiting call: skills, language, priority, joined_at, sticky, state,
                           agent, channel, caller, display (the screen pop on the phone),
                           pop_until (offered to nobody before, unless the pop came)
    acd:waiting      zset  waiting call ids by the time they joined
    acd:callbacks:<number>  zset  calls holding one of the number's callbacks this hour (id ->
                           when): offered ones while they wait, granted ones for the hour
    acd:events       channel  every change of an operator's state, as JSON (see
                           :func:`agent_event`), published with the change: the web desk
                           follows it live

Operators change state only through :meth:`LiveState.apply`, which runs the pure state machine
under an optimistic transaction (WATCH/MULTI, retried on conflict), and a reservation is one Lua
script: an operator moves from ``available`` to ``reserved`` for exactly one waiting call, or
nothing changes. So two controllers on one Redis can never reserve the same operator twice.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from .decision import FreeAgent, WaitingCall
from .states import AgentState, AgentStatus, Event, transition

LEAVE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'waiting' or state == 'offered' or state == 'callback' then
  redis.call('HSET', KEYS[1], 'state', ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return state
end
return false
"""

MOVE = """
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
if ARGV[3] == '1' then redis.call('ZREM', KEYS[2], ARGV[4]) end
return 1
"""

FACTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'sticky', ARGV[1], 'display', ARGV[2], 'pop_until', '0')
return 1
"""

REQUEUE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'connected' or
   redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'agent', '', 'skills', ARGV[3],
           'joined_at', ARGV[4], 'not_before', ARGV[5], 'declined', ARGV[2],
           'sticky', '', 'transferred_by', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""

RESERVE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'available' then return 0 end
local call = redis.call('HGET', KEYS[2], 'state')
if call ~= 'waiting' and call ~= 'callback' then return -1 end
redis.call('HSET', KEYS[1], 'state', 'reserved', 'since', ARGV[3], 'call_id', ARGV[1])
redis.call('HSET', KEYS[2], 'state', 'offered', 'agent', ARGV[2], 'offered_from', call)
return 1
"""


# One of a caller number's callbacks for a call (the toll-fraud limit): the number's zset holds
# the calls that took one in the last window. A call holds its place while it may still become
# a callback (waiting, or an operator ringing) or once it is one (callback_granted); offers the
# caller never took (served, hung up, overflowed) give theirs back here, lazily. The call
# hashes are read by the prefix in ARGV (a single Redis, not a cluster).
HOLD_CALLBACK = """
local key = KEYS[1]
local now, window, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local this = ARGV[5] .. ARGV[1]
if redis.call('EXISTS', this) == 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZSCORE', key, ARGV[1]) then return 1 end
for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
  local call = ARGV[5] .. id
  local state = redis.call('HGET', call, 'state')
  if redis.call('HGET', call, 'callback_granted') ~= '1' and state ~= 'waiting'
      and state ~= 'offered' then
    redis.call('ZREM', key, id)
  end
end
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now, ARGV[1])
redis.call('EXPIRE', key, math.ceil(window))
redis.call('HSET', this, 'callback_number', ARGV[6])
return 1
"""


def _encode(status: AgentStatus) -> dict[str, str]:
    data = dataclasses.asdict(status)
    data["state"] = status.state.value
    return {k: "" if v is None else str(v) for k, v in data.items()}


def _decode(agent_id: str, raw: dict[str, str]) -> AgentStatus:
    if not raw:
        return AgentStatus(agent_id=agent_id)

    def text(name: str) -> str | None:
        return raw.get(name) or None

    return AgentStatus(agent_id=agent_id, state=AgentState(raw.get("state", "logged_out")),
                       since=float(raw.get("since") or 0), idle_since=float(
                           raw.get("idle_since") or 0), pause_reason=text("pause_reason"),
                       pending_pause=text("pending_pause"),
                       missed_offers=int(raw.get("missed_offers") or 0),
                       call_id=text("call_id"), wrap_up_code=text("wrap_up_code"),
                       last_call_id=text("last_call_id"),
                       wrap_up_until=float(raw.get("wrap_up_until") or 0))


CALL_TTL_S = 2 * 86400


def agent_event(status: AgentStatus) -> str:
    """What ``acd:events`` carries for an operator's new state (JSON)."""
    return json.dumps({"type": "agent", "agent": status.agent_id, "state": status.state.value,
                       "since": status.since, "pause_reason": status.pause_reason,
                       "call_id": status.call_id, "last_call_id": status.last_call_id,
                       "wrap_up_code": status.wrap_up_code})


class LiveState:
    def __init__(self, redis: Redis, prefix: str = "acd:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._reserve = redis.register_script(RESERVE)
        self._leave = redis.register_script(LEAVE)
        self._move = redis.register_script(MOVE)
        self._facts = redis.register_script(FACTS)
        self._requeue = redis.register_script(REQUEUE)
        self._hold_callback = redis.register_script(HOLD_CALLBACK)

    @property
    def events_channel(self) -> str:
        return f"{self.prefix}events"

    def _agent_key(self, agent_id: str) -> str:
        return f"{self.prefix}agent:{agent_id}"

    def _call_key(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    # -- operators --------------------------------------------------------------------------

    async def agent(self, agent_id: str) -> AgentStatus:
        raw = await self.redis.hgetall(self._agent_key(agent_id))
        return _decode(agent_id, {_s(k): _s(v) for k, v in raw.items()})

    async def agents(self) -> list[AgentStatus]:
        """Every operator's status, read in one pipelined round trip."""
        ids = sorted(_s(x) for x in await self.redis.smembers(f"{self.prefix}agents"))
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self._agent_key(agent_id))
            rows = await pipe.execute()
        return [_decode(agent_id, {_s(k): _s(v) for k, v in raw.items()})
                for agent_id, raw in zip(ids, rows)]

    async def apply(self, agent_id: str, event: Event, now: float, *, max_missed: int = 3,
                    wrap_up_s: float = 0.0) -> AgentStatus:
        """Apply one event to an operator, atomically against other controllers."""
        key = self._agent_key(agent_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    current = _decode(agent_id, {_s(k): _s(v) for k, v in raw.items()})
                    updated = transition(current, event, now, max_missed=max_missed,
                                         wrap_up_s=wrap_up_s)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(key)
                    encoded: dict[Any, Any] = _encode(updated)
                    pipe.hset(key, mapping=encoded)
                    pipe.sadd(f"{self.prefix}agents", agent_id)
                    pipe.publish(self.events_channel, agent_event(updated))
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue

    # -- operators' phones: Asterisk's device state ------------------------------------------

    @property
    def _phones_key(self) -> str:
        return f"{self.prefix}phones:in_use"

    async def phone_in_use(self, agent_id: str, in_use: bool) -> None:
        """Asterisk says this operator's phone is (not) in use (a call, ringing, on hold)."""
        key = self._phones_key
        await (self.redis.sadd(key, agent_id) if in_use else self.redis.srem(key, agent_id))

    async def phones_in_use(self) -> set[str]:
        return {_s(x) for x in await self.redis.smembers(self._phones_key)}

    async def replace_phones_in_use(self, agent_ids: set[str]) -> None:
        """All of them at once (from Asterisk's device list, after a reconnect)."""
        key = self._phones_key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if agent_ids:
                pipe.sadd(key, *sorted(agent_ids))
            await pipe.execute()

    # -- calls ------------------------------------------------------------------------------

    async def add_call(self, call: WaitingCall, channel: str = "", caller: str = "",
                       display: str = "", pop_until: float = 0.0) -> bool:
        """Store a waiting call (``display``: what the operator's phone will show; until
        ``pop_until`` the call is offered to nobody, unless its screen pop comes sooner: see
        :meth:`set_facts`); False if another controller stored it already."""
        if not await self.redis.hsetnx(self._call_key(call.call_id), "state", "waiting"):
            return False
        await self.redis.hset(self._call_key(call.call_id), mapping={
            "caller": caller,
            "skills": ",".join(call.skills), "language": call.language,
            "priority": str(call.priority), "joined_at": repr(call.joined_at),
            "sticky": call.sticky_agent or "", "state": "waiting", "agent": "",
            "channel": channel, "display": display, "pop_until": repr(pop_until)})
        # a call's hash outlives any wait or callback, then goes: Redis must not grow by one
        # hash per call for ever
        await self.redis.expire(self._call_key(call.call_id), CALL_TTL_S)
        await self.redis.zadd(f"{self.prefix}waiting", {call.call_id: call.joined_at})
        return True

    async def call(self, call_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self._call_key(call_id))
        return {_s(k): _s(v) for k, v in raw.items()}

    async def waiting_count(self) -> int:
        return int(await self.redis.zcard(f"{self.prefix}waiting"))

    async def waiting(self, ready_at: float | None = None) -> list[WaitingCall]:
        """Calls waiting (or to be called back), read in one pipelined round trip; with
        ``ready_at``, only those that may be offered then (not waiting for their screen pop)."""
        ids = [_s(x) for x in await self.redis.zrange(f"{self.prefix}waiting", 0, -1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(self._call_key(call_id))
            rows = await pipe.execute()
        calls = []
        for call_id, raw in zip(ids, rows):
            data = {_s(k): _s(v) for k, v in raw.items()}
            if data.get("state") not in ("waiting", "callback"):
                continue
            if float(data.get("not_before") or 0) > time.time():
                continue  # a callback waiting for its next attempt
            if ready_at is not None and float(data.get("pop_until") or 0) > ready_at:
                continue  # its screen pop is on its way
            calls.append(WaitingCall(call_id=call_id, skills=tuple(
                s for s in data.get("skills", "").split(",") if s), language=data.get(
                    "language", "vi"), priority=int(data.get("priority") or 0),
                joined_at=float(data.get("joined_at") or 0),
                sticky_agent=data.get("sticky") or None,
                declined=frozenset(x for x in data.get("declined", "").split(",") if x)))
        return calls

    async def set_facts(self, call_id: str, sticky: str, display: str) -> bool:
        """The screen-pop lookup of a call answered: its sticky operator and phone display, and
        the call may be offered at once. Nothing if the call is gone (False)."""
        return bool(await self._facts(keys=[self._call_key(call_id)], args=[sticky, display]))

    async def requeue(self, call_id: str, agent_id: str, skills: tuple[str, ...], now: float,
                      not_before: float) -> bool:
        """A connected call that ``agent_id`` transfers: back to the queue for ``skills`` (a new
        wait from ``now``, offered to nobody before ``not_before``, to anyone but that
        operator first); False, and nothing changes, if the call is not that operator's."""
        done = await self._requeue(keys=[self._call_key(call_id), f"{self.prefix}waiting"],
                                   args=[call_id, agent_id, ",".join(skills), repr(now),
                                         repr(not_before)])
        return int(done) == 1

    async def leave(self, call_id: str, state: str = "gone") -> str | None:
        """Take a call out of the queue; its previous state if this caller won the race (so
        only one controller counts it and stops the ring), None otherwise."""
        previous = await self._leave(keys=[self._call_key(call_id), f"{self.prefix}waiting"],
                                     args=[state, call_id])
        return _s(previous) if previous else None

    async def decline(self, call_id: str, agent_id: str) -> None:
        """Remember that this operator did not take this call (the decision tries others
        first)."""
        key = self._call_key(call_id)
        declined = {x for x in _s(await self.redis.hget(key, "declined") or b"").split(",") if x}
        if agent_id not in declined and await self.redis.exists(key):
            await self.redis.hset(key, "declined", ",".join(sorted(declined | {agent_id})))

    async def move_call(self, call_id: str, expected: str, state: str, *, leave: bool) -> bool:
        """``expected`` -> ``state`` (out of the queue if ``leave``), or nothing at all when the
        call is no longer ``expected`` (another controller moved it, an operator rings)."""
        moved = await self._move(keys=[self._call_key(call_id), f"{self.prefix}waiting"],
                                 args=[expected, state, "1" if leave else "0", call_id])
        return int(moved) == 1

    async def once(self, key: str, member: str) -> bool:
        """True the first time ``member`` is seen under ``key`` (any controller)."""
        added = await self.redis.sadd(f"{self.prefix}once:{key}", member)
        await self.redis.expire(f"{self.prefix}once:{key}", 7 * 86400)
        return bool(added)

    async def hold_callback(self, number: str, call_id: str, now: float, *, window_s: float,
                            limit: int) -> bool | None:
        """Take one of ``number``'s callbacks for this call (at most ``limit`` calls in any
        ``window_s``, across controllers); True if it holds one (again: idempotent), False if
        the number has had its callbacks, None if the call is gone. The number is stored with the call
        (``callback_number``), the one a callback dials. The call keeps it while it waits or once it is a
        callback (:meth:`grant_callback`); an offer not taken is given back."""
        held = await self._hold_callback(keys=[f"{self.prefix}callbacks:{number}"],
                                         args=[call_id, repr(now), repr(window_s), str(limit),
                                               f"{self.prefix}call:", number])
        return None if int(held) < 0 else bool(held)

    async def grant_callback(self, call_id: str, *, granted: bool = True) -> None:
        """The call becomes a callback: it keeps its hold on the number's callbacks for the
        hour (``granted=False``: it did not become one after all)."""
        if granted:
            await self.redis.hset(self._call_key(call_id), "callback_granted", "1")
        else:
            await self.redis.hdel(self._call_key(call_id), "callback_granted")

    async def add_attempt(self, call_id: str, entry: str) -> int:
        """Record one callback attempt; returns how many there were."""
        key = f"{self.prefix}attempts:{call_id}"
        count = int(await self.redis.rpush(key, entry))
        await self.redis.expire(key, 7 * 86400)
        return count

    async def attempts(self, call_id: str) -> list[str]:
        return [_s(x) for x in await self.redis.lrange(f"{self.prefix}attempts:{call_id}", 0, -1)]

    async def offered(self) -> list[str]:
        ids = [_s(x) for x in await self.redis.zrange(f"{self.prefix}waiting", 0, -1)]
        return [i for i in ids if (await self.call(i)).get("state") == "offered"]

    async def set_call_state(self, call_id: str, state: str, **fields: str) -> None:
        mapping: dict[Any, Any] = {"state": state, **fields}
        await self.redis.hset(self._call_key(call_id), mapping=mapping)
        if state in ("connected", "gone", "overflow", "done"):
            await self.redis.zrem(f"{self.prefix}waiting", call_id)

    async def reserve(self, agent_id: str, call_id: str, now: float) -> bool:
        """Operator ``available`` -> ``reserved`` for this waiting call, or nothing at all."""
        result = await self._reserve(keys=[self._agent_key(agent_id), self._call_key(call_id)],
                                     args=[call_id, agent_id, repr(now)])
        if int(result) != 1:
            return False
        # the offer is what brings the screen pop to the operator's desk: said at once
        await self.redis.publish(self.events_channel, agent_event(await self.agent(agent_id)))
        return True

    async def free_agents(self, profiles: dict[str, Any]) -> tuple[list[FreeAgent], frozenset[str]]:
        """Free operators as the decision needs them, and the ids of busy logged-in ones. An
        operator whose phone is in use by a call the ACD did not make (Asterisk's own queue,
        a call they placed) is busy, whatever the ACD's state says."""
        free, busy = [], set()
        in_use = await self.phones_in_use()
        for status in await self.agents():
            profile = profiles.get(status.agent_id)
            if profile is None or status.state is AgentState.LOGGED_OUT:
                continue
            if status.state is AgentState.AVAILABLE and status.agent_id in in_use:
                busy.add(status.agent_id)
            elif status.state is AgentState.AVAILABLE:
                free.append(FreeAgent(status.agent_id, dict(profile.skills),
                                      tuple(profile.languages), status.idle_since))
            elif status.state is not AgentState.PAUSED:
                busy.add(status.agent_id)
        return free, frozenset(busy)


# -- statistics (kept in Redis, so they survive controller restarts) ------------------------------

    async def count(self, skill: str, **fields: float) -> None:
        key = f"{self.prefix}stats:skill:{skill}"
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, value in fields.items():
                if name == "wait_max":
                    continue
                pipe.hincrbyfloat(key, name, value)
            await pipe.execute()
        if "wait_max" in fields:
            current = float(await self.redis.hget(key, "wait_max") or 0)
            if fields["wait_max"] > current:
                await self.redis.hset(key, "wait_max", fields["wait_max"])

    async def count_agent(self, agent_id: str, **fields: float) -> None:
        key = f"{self.prefix}stats:agent:{agent_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, value in fields.items():
                pipe.hincrbyfloat(key, name, value)
            await pipe.execute()

    async def count_wrap_up_code(self, code: str) -> None:
        """How many calls were closed with each wrap-up code (the whole centre)."""
        await self.redis.hincrby(f"{self.prefix}stats:wrap_up_codes", code, 1)

    async def handle_time(self, skill: str, seconds: float | None = None,
                          default: float = 180.0) -> float:
        """Record a handle time for a skill (when given) and return the recent average."""
        key = f"{self.prefix}handle:{skill}"
        if seconds is not None:
            await self.redis.lpush(key, repr(seconds))
            await self.redis.ltrim(key, 0, 49)
        values = [float(v) for v in await self.redis.lrange(key, 0, 49)]
        return sum(values) / len(values) if values else default

    async def stats(self) -> dict[str, dict[str, dict[str, float]]]:
        result: dict[str, dict[str, dict[str, float]]] = {"skills": {}, "agents": {}}
        codes = await self.redis.hgetall(f"{self.prefix}stats:wrap_up_codes")
        result["wrap_up_codes"] = {"calls": {_s(k): float(_s(v)) for k, v in codes.items()}}
        async for key in self.redis.scan_iter(f"{self.prefix}stats:*:*"):
            name = _s(key)[len(self.prefix) + len("stats:"):]
            kind, _, ident = name.partition(":")
            raw = await self.redis.hgetall(key)
            result["skills" if kind == "skill" else "agents"][ident] = {
                _s(k): float(_s(v)) for k, v in raw.items()}
        return result


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
