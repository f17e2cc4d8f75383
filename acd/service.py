"""The ACD service: thin shell between Asterisk (AMI events and actions), the live state in Redis
and the pure routing decision. See docs/acd.md for the whole flow.

AMI events are handled one at a time, in arrival order, by a single worker; handlers stay thin:
filter, update the live state, ask for a routing pass, act. A routing pass runs once the events
already queued are handled (160 callers joining at once cost one pass, not 160). Two passes at
once are safe anyway: every reservation is one atomic Lua script in Redis (the same guarantee
that lets several controllers share one ACD), and every move of a waiting call is a
compare-and-set there.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from acd.agents import Agent
from acd.ami.client import AmiClient
from acd.ami.errors import AmiError
from acd.ami.protocol import Message

from .decision import WaitingCall, decide, requirement
from .live import LiveState
from .queues import Routing
from .screen_pop import CallerFacts, offer_name, phone_display
from .states import AgentState, AgentStateError, Event

log = logging.getLogger("acd")

PAUSE_REASONS = {"1": "break", "2": "meal", "3": "training", "4": "other"}
TICK = Message((("Event", "AcdTick"),))
ROUTE = Message((("Event", "AcdRoute"),))
_DIALLABLE = re.compile(r"\+?[0-9]{8,15}")  # a caller number a callback can be placed to


@dataclass(frozen=True)
class AcdSettings:
    ring_timeout_s: float = 15.0
    wrap_up_s: float = 10.0
    max_missed: int = 3
    announce_every_s: float = 30.0
    default_handle_s: float = 180.0
    # Offer "press 1 to be called back" only when callbacks can be placed (an outbound trunk is
    # configured): no caller is promised a call that never comes.
    callback: bool = False
    max_queue: int = 200          # more waiting callers than this: told to call later
    callback_attempts: int = 3
    callback_retry_s: float = 60.0


class AcdService:
    def __init__(self, live: LiveState, ami: AmiClient, agents: Callable[[], dict[str, Agent]],
                 sounds: str, *, settings: AcdSettings = AcdSettings(),
                 routing: Callable[[], Routing] = Routing,
                 caller_facts: Callable[[str, str], Awaitable[CallerFacts]] | None = None,
                 on_connected: Callable[[str, str, float], Any] | None = None,
                 on_attempt: Callable[[str, dict[str, Any]], Any] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.live = live
        self.ami = ami
        self.agents = agents
        self.sounds = sounds
        self.settings = settings
        self.routing = routing
        self._caller_facts = caller_facts
        self._on_connected = on_connected
        self._on_attempt = on_attempt
        self._clock = clock
        self._last_announce = 0.0
        self._events: asyncio.Queue[Message] = asyncio.Queue()
        self._originates: dict[str, tuple[str, str]] = {}  # action id -> (agent, call)
        self._legs: dict[str, str] = {}                     # call id -> operator leg id
        self._timers: set[asyncio.Task[None]] = set()
        self._counter = itertools.count(1)
        self._route_pending = False
        self._worker: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="acd events")
        self._ticker = asyncio.create_task(self._tick(), name="acd ticker")

    async def _tick(self, every_s: float = 2.0) -> None:
        """Requirements relax as calls wait: look again every few seconds."""
        while True:
            await asyncio.sleep(every_s)
            self._events.put_nowait(TICK)

    async def stop(self) -> None:
        tasks = [t for t in [self._worker, self._ticker, *self._timers] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def on_event(self, message: Message) -> None:
        """AMI event callback (synchronous): queue it for the worker."""
        if message.name in ("UserEvent", "OriginateResponse", "Hangup"):
            self._events.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._events.get()
            try:
                await self._handle(message)
                if self._route_pending and self._events.empty():
                    self._route_pending = False  # a burst (160 joins at once) routes once
                    await self.route()
            except (AmiError, AgentStateError) as exc:
                log.warning("ACD: %s while handling %s", exc, message.name)
            except Exception:
                log.exception("ACD: handling %s failed", message.name)

    def _route_soon(self) -> None:
        """Route once the events already queued are handled."""
        if not self._route_pending:
            self._route_pending = True
            self._events.put_nowait(ROUTE)

    async def _handle(self, message: Message) -> None:
        if message is TICK:
            await self.overflow_long_waits()
            await self.route()
            if self._clock() - self._last_announce >= self.settings.announce_every_s / 2:
                self._last_announce = self._clock()
                await self.announce()
            return
        name = message.name
        if name == "UserEvent":
            kind = message.get("UserEvent", "")
            handler = {"AcdJoin": self._join, "AcdAgent": self._agent_command,
                       "AcdAgentAnswered": self._answered, "AcdCallback": self._callback,
                       "AcdCallbackResult": self._callback_result,
                       "AcdLeave": self._left}.get(kind)
            if handler is not None:
                await handler(message)
        elif name == "OriginateResponse":
            await self._originate_result(message)
        elif name == "Hangup":
            await self._hangup(message)

    # -- callers ---------------------------------------------------------------------------------

    async def _join(self, message: Message) -> None:
        call_id = message.get("Uniqueid", "")
        channel = message.get("Channel", "")
        if not call_id or not channel:
            return
        # custom headers carry an Acd prefix: events already have Language, Priority, ... of
        # the channel itself
        skills = tuple(s for s in message.get("AcdSkills", "").split(",") if s) or ("general",)
        language = message.get("AcdLanguage", "") or "vi"
        try:
            priority = max(0, min(10, int(message.get("AcdPriority", "0") or 0)))
        except ValueError:
            priority = 0
        caller = re.sub(r"[^0-9+]", "", message.get("AcdCaller", ""))[:20]  # as the dialplan
        facts = CallerFacts()
        if self._caller_facts is not None:  # the records: sticky operator and screen pop
            facts = await self._caller_facts(call_id, caller)
        sticky = facts.last_operator
        call = WaitingCall(call_id, skills, language, priority, self._clock(), sticky)
        if not await self.live.add_call(call, channel=channel, caller=caller,
                                        display=phone_display(skills[0], facts)):
            return  # another controller took this caller in
        await self.live.count(skills[0], offered=1)
        await self._setvar(channel, "ACD_ACCEPTED", "1")
        rules = self.routing().rules(skills[0])
        if not await self._anyone_for(call):  # nobody logged in could ever take this call
            await self._overflow(call_id, "no_operator", rules.on_no_operator)
            return
        if await self._queue_length(skills[0]) > self._max_queue(skills[0]):
            await self._overflow(call_id, "queue_full", rules.on_queue_full)
            return
        if self._can_call_back(caller):
            await self._setvar(channel, "ACD_CALLBACK", "yes")
        log.info("ACD: call %s waits for %s (%s, priority %d%s)", call_id, ",".join(skills),
                 language, priority, f", last served by {sticky}" if sticky else "")
        self._route_soon()

    async def _anyone_for(self, call: WaitingCall) -> bool:
        """Is anyone logged in (free, busy or paused) who could take this call once its
        requirements have relaxed as far as the routing policy lets them?"""
        policy = self.routing().policy
        minimum, any_skill, _ = requirement(call, policy, call.joined_at + 10 ** 9)
        profiles = self.agents()
        for status in await self.live.agents():
            profile = profiles.get(status.agent_id)
            if profile is None or status.state is AgentState.LOGGED_OUT:
                continue
            if call.language in profile.languages and (any_skill or all(
                    profile.skills.get(skill, 0) >= minimum for skill in call.skills)):
                return True
        return False

    def _max_queue(self, skill: str) -> int:
        rules = self.routing().rules(skill)
        return rules.max_queue if rules.max_queue is not None else self.settings.max_queue

    async def _queue_length(self, skill: str) -> int:
        """Callers waiting for this skill if it has a queue of its own, else all of them."""
        if skill not in self.routing().queues:
            return await self.live.waiting_count()
        return sum(1 for c in await self.live.waiting() if c.skills[:1] == (skill,))

    def _can_call_back(self, caller: str) -> bool:
        return self.settings.callback and bool(_DIALLABLE.fullmatch(caller or ""))

    async def _overflow(self, call_id: str, reason: str, action: str) -> None:
        """An overflow rule fired for a waiting caller: a callback that keeps their place (when
        one can be placed) or the announcement; at once (the channel is sent to the leaving
        step), and by one controller only (compare-and-set on the call's state)."""
        call = await self.live.call(call_id)
        skill = (call.get("skills") or "general").split(",")[0]
        if action == "callback" and self._can_call_back(call.get("caller", "")):
            if not await self.live.move_call(call_id, "waiting", "callback", leave=False):
                return
            await self.live.once("callback", call_id)
            if self._on_attempt is not None:
                await self._on_attempt(call_id, {"event": "callback_offered", "reason": reason})
            leave = "callback"
        else:
            if not await self.live.move_call(call_id, "waiting", "overflow", leave=True):
                return
            leave = reason
        await self.live.count(skill, overflow=1)
        log.info("ACD: call %s overflows (%s): %s", call_id, reason,
                 "called back in its place" if leave == "callback" else "announcement")
        channel = call.get("channel", "")
        if channel:
            await self._setvar(channel, "ACD_LEAVE", leave)
            try:  # leave the hold music now, not at the next announcement
                await self.ami.action("Redirect", [("Channel", channel), ("Context", "acd-wait"),
                                                   ("Exten", "t"), ("Priority", "1")])
            except AmiError as exc:
                log.warning("ACD: call %s: %s (the dialplan notices at its next step)", call_id,
                            exc)

    async def overflow_long_waits(self) -> None:
        """The max-wait rule of each caller's queue."""
        now = self._clock()
        routing = self.routing()
        for call in await self.live.waiting():
            rules = routing.rules(call.skills[0] if call.skills else "general")
            if rules.max_wait_s is not None and now - call.joined_at > rules.max_wait_s \
                    and (await self.live.call(call.call_id)).get("state") == "waiting":
                await self._overflow(call.call_id, "max_wait", rules.on_max_wait)

    async def _left(self, message: Message) -> None:
        await self.live.set_call_state(message.get("Uniqueid", ""), "gone")

    async def _callback(self, message: Message) -> None:
        """The caller asked to be called back: the call keeps its place (its join time); when
        its turn comes the operator's leg is rung first, then the caller is called (acd-callback
        in the dialplan), with retries, each attempt recorded."""
        call_id = message.get("Uniqueid", "")
        call = await self.live.call(call_id)
        if call.get("state") != "waiting":
            return  # already an operator ringing (or handled by another controller)
        if not await self.live.once("callback", call_id):
            return
        await self.live.set_call_state(call_id, "callback")
        if self._on_attempt is not None:
            await self._on_attempt(call_id, {"event": "callback_requested"})
        log.info("ACD: call %s will be called back, keeping its place", call_id)

    async def _callback_result(self, message: Message) -> None:
        call_id = message.get("AcdCall", "")
        status = message.get("AcdStatus", "") or "FAILED"
        if not await self.live.once("attempt", message.get("Uniqueid", "") or call_id):
            return  # another controller recorded this attempt
        call = await self.live.call(call_id)
        agent_id = call.get("agent", "")
        now = self._clock()
        count = await self.live.add_attempt(call_id, f"{now:.0f} {agent_id} {status}")
        if self._on_attempt is not None:
            await self._on_attempt(call_id, {"event": "callback_attempt", "attempt": count,
                                             "operator": agent_id, "status": status})
        if status == "ANSWER":
            await self.live.set_call_state(call_id, "done")
            wait = now - float(call.get("joined_at") or now)
            await self.live.count((call.get("skills") or "general").split(",")[0], answered=1,
                                  wait_sum=wait, wait_max=wait, callbacks=1)
            if self._on_connected is not None:
                await self._on_connected(call_id, agent_id, wait)
            log.info("ACD: call %s called back by %s (attempt %d)", call_id, agent_id, count)
        elif count >= self.settings.callback_attempts:
            await self.live.set_call_state(call_id, "gone")
            await self.live.count((call.get("skills") or "general").split(",")[0],
                                  callback_failed=1)
            log.warning("ACD: call %s: the caller did not answer %d callbacks (%s)", call_id,
                        count, status)
        else:  # try again later, still in its place
            await self.live.set_call_state(call_id, "callback", agent="",
                                           not_before=repr(now + self.settings.callback_retry_s))
            log.info("ACD: call %s: callback attempt %d %s; next in %.0f s", call_id, count,
                     status, self.settings.callback_retry_s)

    # -- operators -------------------------------------------------------------------------------

    async def _agent_command(self, message: Message) -> None:
        agent_id = message.get("AcdAgent", "")
        action = message.get("AcdAction", "")
        reason = message.get("AcdReason", "") or None
        await self.agent_command(agent_id, action, reason)

    async def agent_command(self, agent_id: str, action: str, reason: str | None = None
                            ) -> None:
        if agent_id not in self.agents():
            log.warning("ACD: %s is not an operator in the agents file", agent_id)
            return
        if action == "pause":
            reason = PAUSE_REASONS.get(reason or "1", reason or "break")
        if action == "wrap_up":
            status = await self.live.agent(agent_id)
            if status.state is AgentState.WRAP_UP:
                await self.live.apply(agent_id, Event("wrap_up_done", reason=reason),
                                      self._clock())
        else:
            before = await self.live.agent(agent_id)
            now = self._clock()
            await self.live.apply(agent_id, Event(action, reason=reason), now,
                                  max_missed=self.settings.max_missed)
            if before.state is AgentState.PAUSED and action in ("unpause", "logout", "pause"):
                await self.live.count_agent(
                    agent_id, **{f"pause_s:{before.pause_reason or 'break'}": now - before.since})
        log.info("ACD: %s %s%s", agent_id, action, f" ({reason})" if reason else "")
        self._route_soon()

    # -- routing ---------------------------------------------------------------------------------

    async def route(self) -> None:
        """One routing pass: decide, reserve (atomic in Redis), ring the operators chosen."""
        calls = await self.live.waiting()
        if not calls:
            return
        free, busy = await self.live.free_agents(self.agents())
        if not free:
            return
        now = self._clock()
        for assignment in decide(calls, free, self.routing().policy, now, busy):
            if await self.live.reserve(assignment.agent_id, assignment.call_id, now):
                await self._ring(assignment.agent_id, assignment.call_id)

    async def _ring(self, agent_id: str, call_id: str) -> None:
        call = await self.live.call(call_id)
        leg = f"acd-{call_id}-{next(self._counter)}"
        self._legs[call_id] = leg
        callback = call.get("offered_from") == "callback"
        caller = call.get("caller", "") or "19001122"
        display = call.get("display", "") or call.get("skills", "").split(",")[0]
        variables = [("Variable", f"ACD_CALL={call_id}")]
        if callback:  # the operator first; the dialplan then calls the caller back
            variables += [("Variable", f"ACD_CALLBACK_NUMBER={caller}"),
                          ("Variable", f"ACD_LANGUAGE={call.get('language', 'vi')}")]
        else:
            variables += [("Variable", f"ACD_CALLER_CHANNEL={call.get('channel', '')}")]
        try:
            answer = await self.ami.action("Originate", [
                ("Channel", f"PJSIP/{agent_id}"),
                ("Context", "acd-callback" if callback else "acd-agent"), ("Exten", "s"),
                ("Priority", "1"), ("Timeout", str(int(self.settings.ring_timeout_s * 1000))),
                ("Async", "true"), ("ChannelId", leg),
                ("CallerID", f"\"{offer_name(display, callback)}\" <{caller}>"),
                *variables,
            ])
            self._originates[answer.action_id] = (agent_id, call_id)
            log.info("ACD: ringing %s for call %s", agent_id, call_id)
        except AmiError as exc:
            log.error("ACD: could not ring %s (%s); the call waits on", agent_id, exc)
            await self._not_taken(agent_id, call_id)

    async def _originate_result(self, message: Message) -> None:
        pending = self._originates.pop(message.action_id or "", None)
        if pending is None or message.get("Response") == "Success":
            return
        agent_id, call_id = pending
        log.info("ACD: %s did not answer call %s (reason %s)", agent_id, call_id,
                 message.get("Reason", "?"))
        await self._not_taken(agent_id, call_id)

    async def _not_taken(self, agent_id: str, call_id: str) -> None:
        """The operator's phone rang out, refused (busy) or could not be rung: a missed offer
        for them (auto-pause after N in a row), and the caller, who heard nothing of it, goes
        on waiting in their place, offered to someone else first."""
        status = await self.live.agent(agent_id)
        if status.state is AgentState.RESERVED and status.call_id == call_id:
            try:
                await self.live.apply(agent_id, Event("no_answer", call_id=call_id),
                                      self._clock(), max_missed=self.settings.max_missed)
            except AgentStateError:
                pass  # another controller got there first
        await self.live.decline(call_id, agent_id)
        call = await self.live.call(call_id)
        if call.get("state") == "offered" and call.get("agent") == agent_id:
            await self.live.set_call_state(call_id, call.get("offered_from") or "waiting",
                                           agent="")
        self._route_soon()

    async def _answered(self, message: Message) -> None:
        call_id = message.get("AcdCall", "")
        call = await self.live.call(call_id)
        agent_id = call.get("agent", "")
        if not agent_id:
            return
        now = self._clock()
        if not await self._apply_once(agent_id, Event("answer", call_id=call_id), now):
            return
        if message.get("AcdCallback") == "yes":
            await self.live.set_call_state(call_id, "calling_back", answered_at=repr(now))
            log.info("ACD: %s is calling back the caller of call %s", agent_id, call_id)
            return
        await self.live.set_call_state(call_id, "connected", answered_at=repr(now))
        wait = now - float(call.get("joined_at") or now)
        skill = (call.get("skills") or "general").split(",")[0]
        await self.live.count(skill, answered=1, wait_sum=wait, wait_max=wait,
                              answered_in_sl=1 if wait <= 20 else 0)
        if self._on_connected is not None:
            await self._on_connected(call_id, agent_id, wait)
        log.info("ACD: %s answered call %s after %.1f s in the queue", agent_id, call_id, wait)

    async def _hangup(self, message: Message) -> None:
        uniqueid = message.get("Uniqueid", "")
        if uniqueid.startswith("acd-"):  # an operator's leg
            call_id = uniqueid[4:].rsplit("-", 1)[0]
            call = await self.live.call(call_id)
            agent_id = call.get("agent", "")
            if not agent_id:
                return
            status = await self.live.agent(agent_id)
            if status.state is AgentState.RESERVED and status.call_id == call_id:
                # the operator's leg ended before it reached us (refused, failed to start)
                await self._not_taken(agent_id, call_id)
                return
            if status.state is AgentState.ON_CALL and status.call_id == call_id:
                now = self._clock()
                if not await self._apply_once(agent_id, Event("hangup", call_id=call_id), now):
                    return
                talk = now - status.since
                skill = (call.get("skills") or "general").split(",")[0]
                await self.live.count_agent(agent_id, handled=1, talk_s=talk)
                await self.live.handle_time(skill, talk + self.settings.wrap_up_s)
                self._after(self.settings.wrap_up_s, self._wrap_up_done, agent_id, call_id)
            return
        call = await self.live.call(uniqueid)
        if not call or call.get("state") in ("gone", "connected", "callback"):
            if call.get("state") == "connected":
                await self.live.set_call_state(uniqueid, "done")
            return
        previous = await self.live.leave(uniqueid)
        if previous is None:
            return  # another controller saw this hang-up first
        await self.live.count((call.get("skills") or "general").split(",")[0], abandoned=1)
        agent_id = call.get("agent", "")
        self._legs.pop(uniqueid, None)
        if previous == "offered" and agent_id:
            try:  # the caller left while the operator's phone rang: stop the ring
                await self.ami.action("Hangup", [("Channel", f"/^PJSIP/{agent_id}-/")])
            except AmiError:
                pass
            status = await self.live.agent(agent_id)
            if status.state is AgentState.RESERVED and status.call_id == uniqueid:
                await self.live.apply(agent_id, Event("caller_gone", call_id=uniqueid),
                                      self._clock())
        log.info("ACD: caller %s hung up while waiting", uniqueid)
        self._route_soon()

    async def _wrap_up_done(self, agent_id: str, call_id: str) -> None:
        status = await self.live.agent(agent_id)
        if status.state is AgentState.WRAP_UP and status.call_id == call_id:
            now = self._clock()
            await self.live.apply(agent_id, Event("wrap_up_done"), now)
            await self.live.count_agent(agent_id, wrap_s=now - status.since)
            self._route_soon()

    # -- announcements ---------------------------------------------------------------------------

    async def announce(self) -> None:
        """Position and estimated wait for every waiting caller, played by the dialplan at its
        next announcement (``ACD_ANNOUNCE``)."""
        from datetime import timedelta

        from ivr.speech import SpeechError, say

        calls = sorted(await self.live.waiting(), key=lambda c: (-c.priority, c.joined_at))
        if not calls:
            return
        profiles = self.agents()
        statuses = await self.live.agents()
        for position, call in enumerate(calls, 1):
            data = await self.live.call(call.call_id)
            channel = data.get("channel")
            if not channel:
                continue
            staffed = sum(1 for st in statuses if st.state is not AgentState.LOGGED_OUT
                          and st.agent_id in profiles and call.language in
                          profiles[st.agent_id].languages
                          and any(k in profiles[st.agent_id].skills for k in call.skills))
            handle = await self.live.handle_time(call.skills[0],
                                                 default=self.settings.default_handle_s)
            minutes = max(1, math.ceil(self.estimated_wait_s(position, staffed, handle) / 60))
            lang = call.language if call.language in ("vi", "en") else "vi"
            try:
                words = (["acd_position_is", *say("number", position, lang), "acd_in_queue",
                          "acd_wait_about", *say("duration", timedelta(minutes=minutes), lang)]
                         + (["acd_callback_offer"] if self._can_call_back(data.get("caller", ""))
                            else []))
            except SpeechError:
                continue
            files = "&".join(f"{self.sounds}/{lang}/{w}" for w in words)
            await self._setvar(channel, "ACD_ANNOUNCE", files)

    # -- after a restart or an AMI reconnect ---------------------------------------------------

    async def rebuild(self) -> None:
        """Make Redis agree with Asterisk: calls whose channel is gone are gone, and operators
        held by them are freed. Waiting callers still in the dialplan keep their place."""
        answer = await self.ami.action("CoreShowChannels", timeout=10)
        alive = {m.get("Uniqueid", "") for m in answer.events}
        now = self._clock()
        for call_id in [c.call_id for c in await self.live.waiting()] + \
                await self.live.offered():
            data = await self.live.call(call_id)
            leg_alive = any(u.startswith(f"acd-{call_id}-") for u in alive)
            if data.get("state") == "callback" or (
                    data.get("offered_from") == "callback" and leg_alive):
                continue  # the caller hung up on purpose: we call them back
            if data.get("offered_from") == "callback":
                await self.live.set_call_state(call_id, "callback", agent="")
                continue
            if call_id not in alive:
                await self.live.set_call_state(call_id, "gone")
                log.info("ACD: call %s ended while no controller watched it", call_id)
        for status in await self.live.agents():
            if status.call_id and status.call_id not in alive and not any(
                    u.startswith(f"acd-{status.call_id}-") for u in alive):
                event = {AgentState.RESERVED: "caller_gone", AgentState.ON_CALL: "hangup"}.get(
                    status.state)
                if event:
                    await self.live.apply(status.agent_id, Event(event, call_id=status.call_id),
                                          now)
                if status.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
                    self._after(0, self._wrap_up_done, status.agent_id, status.call_id)
        await self.route()

    # -- helpers ---------------------------------------------------------------------------------

    def _after(self, seconds: float, job: Callable[..., Awaitable[None]], *args: Any) -> None:
        async def later() -> None:
            await asyncio.sleep(seconds)
            await job(*args)  # made only when due: a cancelled timer leaves nothing un-awaited

        task = asyncio.create_task(later())
        self._timers.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._timers.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("ACD: a timer failed", exc_info=t.exception())

        task.add_done_callback(done)

    async def _apply_once(self, agent_id: str, event: Event, now: float) -> bool:
        """Apply an event every controller sees (an answer, a hang-up): the first one wins,
        the others find the operator moved on and leave it."""
        try:
            await self.live.apply(agent_id, event, now)
        except AgentStateError:
            log.debug("ACD: %s of %s already handled", event.name, agent_id)
            return False
        return True

    async def _setvar(self, channel: str, name: str, value: str) -> None:
        await self.ami.action("Setvar", [("Channel", channel), ("Variable", name),
                                         ("Value", value)])

    def estimated_wait_s(self, position: int, skill_agents: int, handle_s: float) -> float:
        return math.ceil(position / max(1, skill_agents)) * handle_s
