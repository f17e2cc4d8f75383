"""Screen-pop lookups beside the event worker: the records on a joining caller (their last
operator for sticky routing, and what the operator's phone shows) are looked up by a few tasks
of their own, each with a deadline, so a slow database never holds up the worker that takes
callers in and rings operators.

A caller is offered to nobody for at most ``POP_WAIT_S`` while their lookup runs (stored with
the call in Redis, so every controller waits the same); when the lookup answers, the sticky
operator and the display are written to the call and it may be offered at once. A lookup that
answers later still updates the display (``hotline acd pop`` shows it); ringing never waits for
it. The queue of lookups is bounded: past ``QUEUE_SIZE`` waiting lookups a caller joins without
one (no sticky operator, the queue's name on the phone), and the log says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .screen_pop import CallerFacts, phone_display
from .service_context import AcdContext

log = logging.getLogger("acd")

POP_WAIT_S = 0.2        # the longest a caller waits for their screen pop before being offered
DEADLINE_S = 2.0        # a lookup that takes longer is given up (the store has its own, 1 s)
WORKERS = 4             # lookups at once (the records store bounds its threads too)
QUEUE_SIZE = 200        # lookups waiting for a worker


class Lookups:
    def __init__(self, ctx: AcdContext,
                 caller_facts: Callable[[str, str], Awaitable[CallerFacts]] | None) -> None:
        self.ctx = ctx
        self._caller_facts = caller_facts
        self._queue: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._caller_facts is not None:
            self._workers = [asyncio.create_task(self._work(), name=f"acd lookups {n}")
                             for n in range(WORKERS)]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def can_take(self) -> bool:
        """A lookup can be queued now."""
        return bool(self._workers) and not self._queue.full()

    def submit(self, call_id: str, caller: str, skill: str) -> bool:
        try:
            self._queue.put_nowait((call_id, caller, skill))
        except asyncio.QueueFull:
            log.warning("ACD: call %s joins without its screen pop (%d lookups waiting)",
                        call_id, self._queue.qsize())
            return False
        return True

    async def _work(self) -> None:
        while True:
            call_id, caller, skill = await self._queue.get()
            try:
                await self._look_up(call_id, caller, skill)
            except Exception:  # one failed lookup must not stop the others
                log.exception("ACD: the screen-pop lookup of call %s failed", call_id)

    async def _look_up(self, call_id: str, caller: str, skill: str) -> None:
        facts = CallerFacts()
        if self._caller_facts is not None:
            try:
                facts = await asyncio.wait_for(self._caller_facts(call_id, caller), DEADLINE_S)
            except TimeoutError:
                log.warning("ACD: call %s: no screen pop (the records took over %g s)", call_id,
                            DEADLINE_S)
        if not await self.ctx.live.set_facts(call_id, facts.last_operator or "",
                                             phone_display(skill, facts)):
            return  # the call is gone
        if facts.looked_up:
            log.info("ACD: call %s: screen pop ready%s", call_id,
                     f", last served by {facts.last_operator}" if facts.last_operator else "")
        self.ctx.route_soon()
