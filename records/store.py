"""The records from asyncio code: lookups with a deadline, call-record writes that never hold up
a call, and never get lost.

Lookups
  run on their own thread pool and answer within ``lookup_timeout``, or return
  :class:`~records.results.Unavailable` (database down, locked, slow): the IVR then offers an
  operator. Record writes never take their threads.

Call-record writes (``open``, ``save_path``, ``set_customer``, ``append_path``, ``queue_result``,
``close``)
  return at once: the caller's path never waits for one. Each call has an ordered queue of
  writes and one writer task that applies them one after the other, so the order within a call
  is kept; calls are independent, and up to ``writers`` calls' writes run at once on the writers'
  own thread pool.

  What the database cannot take now goes to the on-disk spool (:mod:`records.spool`, a file per
  call) with the call's later writes behind it: a write that fails because the database is
  unavailable, every write while it is known to be down (one probe every ``retry_every``
  seconds notices its return), the writes beyond the queues' bound (``max_pending`` in memory,
  ``max_per_call`` for one call), a write slower than ``write_timeout`` and what follows it,
  and whatever is left at shutdown. Each call's writer replays its spool file, oldest first,
  before its newer writes; the spool is read again at start.

  Every write is idempotent, and so is a sequence of them, so replaying writes that landed (a
  crash between landing them and forgetting them) changes nothing: the writes set fields, and
  an append carries an id under which its step is kept (``call_appends``); the IVR's path is
  always saved with those steps behind it. A call's spool is replayed by its one writer, so never twice at once, and
  a write in flight is never abandoned while its thread runs: the writer waits for it (the
  database's own timeouts bound it) and spools what comes meanwhile.

  A write that fails while the database answers (a probe succeeds) is tried again
  ``retry_every`` seconds later, ``max_strikes`` times in all; then it is quarantined: a log line
  names it and the reason, it moves to ``rejected.jsonl`` in the spool, and the call's later
  writes go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from . import calls
from .models import Call
from .results import Result, Unavailable
from .spool import Spool, Write

log = logging.getLogger("records")
T = TypeVar("T")

#: how long an appended step is kept apart (a replay older than this is not expected)
KEEP_APPENDS = timedelta(days=30)

#: errors that say the database is not there (down, locked, out of connections), not that the
#: write is wrong
_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                TimeoutError, ConnectionError)


def _open(session: Session, write: Write) -> None:
    started_at = write.args.get("started_at")
    calls.open_call(session, **{**write.args, "started_at": datetime.fromisoformat(started_at)
                                if isinstance(started_at, str) else started_at})


#: what each write does (``Write.op``); all are idempotent
_APPLY: dict[str, Callable[[Session, Write], None]] = {
    "open": _open,
    "save_path": lambda s, w: calls.save_path(s, w.call_id, w.args["path"]),
    "customer": lambda s, w: calls.set_customer(s, w.call_id, w.args["customer_id"]),
    "queue": lambda s, w: calls.set_queue_result(s, w.call_id, w.args["operator"],
                                                 w.args["wait_s"], step=w.args.get("step"),
                                                 write_id=w.id),
    "append": lambda s, w: calls.append_path(s, w.call_id, w.args["entry"], write_id=w.id),
    "close": lambda s, w: calls.close_call(s, w.call_id, outcome=w.args["outcome"],
                                           path=w.args["path"]),
    "wrap_up": lambda s, w: calls.set_wrap_up_code(s, w.call_id, w.args["code"]),
}


@dataclass(frozen=True)
class WriteCounts:
    pending: int   # waiting in memory (or being written)
    spooled: int   # waiting in the spool on disk
    rejected: int  # quarantined in the spool's rejected file


@dataclass(eq=False)
class _CallWrites:
    """One call's writes not landed yet: ``on_disk`` ones in its spool file (older), then
    ``flying`` (being written), then ``memory`` (newer)."""

    call_id: str
    memory: deque[Write] = field(default_factory=deque)
    flying: Write | None = None
    flying_on_disk: bool = False  # spooled while in flight (it may land twice: harmless)
    on_disk: int = 0
    writer: asyncio.Task[None] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class RecordsStore:
    def __init__(self, sessions: sessionmaker, spool: Path, *,  # type: ignore[type-arg]
                 workers: int = 4, writers: int = 4, lookup_timeout: float = 1.0,
                 write_timeout: float = 5.0, retry_every: float = 2.0, max_pending: int = 1000,
                 max_per_call: int = 100, max_strikes: int = 3,
                 earlier_spool: Path | None = None) -> None:
        self._sessions = sessions
        self._lookups = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookups")
        self._writes = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="writes")
        self._slots = asyncio.Semaphore(writers)
        self._lookup_timeout = lookup_timeout
        self._write_timeout = write_timeout
        self._retry_every = retry_every
        self._max_pending = max_pending
        self._max_per_call = max_per_call
        self._max_strikes = max_strikes
        self._spool = Spool(spool)
        self._earlier_spool = earlier_spool
        self._calls: dict[str, _CallWrites] = {}
        self._strikes: dict[str, int] = {}
        self._held = 0       # writes in memory
        self._spooled = 0    # writes in spool files
        self._rejected = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._healthy = True
        self._over_bound_said = False
        self._late = asyncio.Event()  # shutdown's time to land is over: spool the rest
        self._closed = False  # shutdown is over: a late write goes straight to the spool
        self._background: set[asyncio.Task[None]] = set()

    # -- lookups -----------------------------------------------------------------------------

    async def run(self, work: Callable[[Session], T], timeout: float) -> T:
        """Run ``work`` in a session on the lookups' threads; TimeoutError after ``timeout``
        (the thread then finishes on its own: only reads go this way)."""
        def job() -> T:
            with self._sessions() as session:
                return work(session)

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._lookups, job), timeout)

    async def lookup(self, work: Callable[[Session], Result[T]]) -> Result[T]:
        """A typed lookup; Unavailable if the database fails or is slower than the deadline."""
        try:
            return await self.run(work, self._lookup_timeout)
        except TimeoutError:
            log.error("records: a lookup took longer than %.1f s", self._lookup_timeout)
            return Unavailable(f"no answer within {self._lookup_timeout:.1f} s")
        except Exception as exc:  # noqa: BLE001 - any driver error: the caller gets a fallback
            log.error("records: a lookup failed: %s", exc)
            return Unavailable(type(exc).__name__)

    # -- call-record writes: each returns at once ---------------------------------------------

    async def open(self, **fields: Any) -> None:
        self._submit(fields["call_id"], "open", fields)

    async def save_path(self, call_id: str, path: list[dict[str, Any]]) -> None:
        self._submit(call_id, "save_path", {"path": list(path)})

    async def set_customer(self, call_id: str, customer_id: int) -> None:
        self._submit(call_id, "customer", {"customer_id": customer_id})

    async def append_path(self, call_id: str, entry: dict[str, Any]) -> None:
        """Add a step after the IVR is done with the call (the ACD's callbacks)."""
        self._submit(call_id, "append", {"entry": entry})

    async def queue_result(self, call_id: str, operator: str, wait_s: float,
                           step: dict[str, Any] | None = None) -> None:
        """Who answered and the wait; ``step`` (a callback attempt answered) is added to the
        path in the same transaction."""
        args: dict[str, Any] = {"operator": operator, "wait_s": round(wait_s, 1)}
        if step is not None:
            args["step"] = step
        self._submit(call_id, "queue", args)

    async def close(self, call_id: str, outcome: str, path: list[dict[str, Any]]) -> None:
        self._submit(call_id, "close", {"outcome": outcome, "path": list(path)})

    async def wrap_up(self, call_id: str, code: str) -> None:
        """The operator's wrap-up code for the call (after the call, often after its close)."""
        self._submit(call_id, "wrap_up", {"code": code})

    @property
    def counts(self) -> WriteCounts:
        return WriteCounts(self._held, self._spooled, self._rejected)

    @property
    def spooled(self) -> int:
        return self._spooled

    async def settled(self, timeout: float) -> bool:
        """Wait until every write has landed (or was rejected); False if not within
        ``timeout``."""
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _submit(self, call_id: str, op: str, args: dict[str, Any]) -> None:
        write = Write.new(call_id, op, args)
        if self._closed:
            log.warning("call records: %s of call %s after the store stopped: spooled", op,
                        call_id)
            self._spool.append(call_id, [write])  # rare and small: blocking is the lesser harm
            self._count(spooled=1)
            return
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _CallWrites(call_id)
        call.memory.append(write)
        self._count(held=1)
        call.arrived.set()
        self._start_writer(call)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Take in what an earlier run left in the spool and replay it."""
        if self._earlier_spool is not None:
            taken = await asyncio.to_thread(self._spool.import_single_file, self._earlier_spool)
            if taken:
                log.info("call records: %d write(s) taken from the earlier spool %s", taken,
                         self._earlier_spool)
        waiting = await asyncio.to_thread(self._spool.scan)
        self._rejected = await asyncio.to_thread(self._spool.rejected)
        for call_id, count in waiting.items():
            call = self._calls.setdefault(call_id, _CallWrites(call_id))
            call.on_disk += count
            self._count(spooled=count)
        if waiting:
            log.info("call records: %d write(s) of %d call(s) waiting in the spool from before",
                     sum(waiting.values()), len(waiting))
            for call in list(self._calls.values()):
                self._start_writer(call)
        self._spawn(self._forget_appends(), "records: forget old appended steps")

    async def shutdown(self, flush_s: float = 5.0, grace_s: float = 3.0) -> None:
        """Land what waits if the database takes it within ``flush_s``; spool the rest; never
        longer than ``flush_s + grace_s`` (a write still in flight then is spooled too)."""
        await self._wait_writers(flush_s)
        self._late.set()
        for call in self._calls.values():
            call.arrived.set()
        await self._wait_writers(grace_s)
        stuck = [c for c in self._calls.values() if c.writer is not None and not c.writer.done()]
        for call in stuck:
            assert call.writer is not None
            call.writer.cancel()
        await asyncio.gather(*(c.writer for c in stuck if c.writer), return_exceptions=True)
        for call in list(self._calls.values()):
            # a writer cancelled in the middle of spooling may have written some of these
            # already: a write spooled twice lands once all the same
            await self._spill(call)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._closed = True
        self._lookups.shutdown(wait=False, cancel_futures=True)
        self._writes.shutdown(wait=False, cancel_futures=True)
        if self._spooled:
            log.info("call records: %d write(s) kept in the spool for the next start",
                     self._spooled)

    async def _wait_writers(self, timeout: float) -> None:
        writers = {c.writer for c in self._calls.values()
                   if c.writer is not None and not c.writer.done()}
        if writers:
            await asyncio.wait(writers, timeout=timeout)

    # -- the writer of one call ----------------------------------------------------------------

    def _start_writer(self, call: _CallWrites) -> None:
        if call.writer is not None and not call.writer.done():
            return
        if self._late.is_set():
            return  # shutdown spools what is left
        task = asyncio.create_task(self._write_call(call), name=f"records: call {call.call_id}")
        call.writer = task

        def done(finished: asyncio.Task[None]) -> None:
            if not finished.cancelled() and finished.exception() is not None:
                log.error("call records: the writer of call %s failed; its writes wait for the "
                          "next one", call.call_id, exc_info=finished.exception())
            if (self._calls.get(call.call_id) is call and call.writer is finished
                    and not call.memory and not call.on_disk and call.flying is None):
                del self._calls[call.call_id]

        task.add_done_callback(done)

    def _held_back(self) -> bool:
        """No write goes to the database now: it is down, or shutdown's time is over."""
        return not self._healthy or self._late.is_set()

    def _over_bound(self, call: _CallWrites) -> bool:
        if self._held > self._max_pending or len(call.memory) > self._max_per_call:
            if not self._over_bound_said:
                self._over_bound_said = True
                log.warning("call records: more than %d writes wait (%d for call %s): the "
                            "newest go to the spool", self._max_pending, len(call.memory),
                            call.call_id)
            return True
        return False

    async def _write_call(self, call: _CallWrites) -> None:
        while True:
            if self._held_back():
                await self._spill(call)
                if call.on_disk and self._held_back():  # checked again after the await
                    return  # the database's return (or the next start) replays the spool
            if call.on_disk:
                if self._over_bound(call):
                    await self._spill(call)
                await self._replay(call)
                continue
            if not call.memory:
                return
            if self._over_bound(call):
                await self._spill(call)
                continue
            write = call.memory.popleft()
            call.flying, call.flying_on_disk = write, False
            error = await self._attempt(call, write)
            on_disk, call.flying = call.flying_on_disk, None
            if error is None:
                self._strikes.pop(write.id, None)
                if not on_disk:
                    self._count(held=-1)
                continue
            if on_disk:
                continue  # it waits at the head of the spool file
            call.memory.appendleft(write)  # back at the head, in order
            if await self._unavailable(error):
                self._down(error)
                continue
            if self._strike(write, error):
                call.memory.popleft()
                await asyncio.to_thread(self._spool.reject, write, _why(error))
                self._count(held=-1, rejected=1)
                continue
            await self._spill(call)  # durable while it waits for its next try
            await self._pause()

    async def _replay(self, call: _CallWrites) -> None:
        """Write the call's spooled writes, oldest first, until done or the database fails."""
        writes = await asyncio.to_thread(self._spool.read, call.call_id)
        if len(writes) != call.on_disk:  # torn lines were set aside, or the file is gone
            self._count(spooled=len(writes) - call.on_disk)
            call.on_disk = len(writes)
        landed, rejected, pause = 0, 0, False
        for write in writes:
            if self._held_back():
                break
            error = await self._attempt(call, write)
            if error is None:
                self._strikes.pop(write.id, None)
                landed += 1
                continue
            if await self._unavailable(error):
                self._down(error)
                break
            if not self._strike(write, error):
                pause = True
                break
            await asyncio.to_thread(self._spool.reject, write, _why(error))
            rejected += 1
            landed += 1
        if landed:
            await asyncio.to_thread(self._spool.drop_head, call.call_id, landed)
            call.on_disk -= landed
            self._count(spooled=-landed, rejected=rejected)
            if not call.on_disk:
                log.info("call records: the spooled writes of call %s landed", call.call_id)
        if pause:
            await self._pause()

    async def _attempt(self, call: _CallWrites, write: Write) -> BaseException | None:
        """Apply one write; None once it landed, else the error. Waits for the thread however
        long it takes, spooling the call's newer writes (and ``call.flying``) meanwhile if the
        write is slow or the queues are full."""
        flight = asyncio.ensure_future(self._apply(write))
        loop = asyncio.get_running_loop()
        deadline: float | None = loop.time() + self._write_timeout
        try:
            while not flight.done():
                call.arrived.clear()
                arrived = asyncio.ensure_future(call.arrived.wait())
                await asyncio.wait({flight, arrived}, return_when=asyncio.FIRST_COMPLETED,
                                   timeout=None if deadline is None
                                   else max(0.0, deadline - loop.time()))
                arrived.cancel()
                if flight.done():
                    break
                if deadline is not None and loop.time() >= deadline:
                    deadline = None
                    self._down(f"a write of call {call.call_id} took longer than "
                               f"{self._write_timeout:g} s (still waiting for it)")
                if self._held_back() or deadline is None or self._over_bound(call):
                    await self._spill(call)
        except asyncio.CancelledError:  # shutdown gave up on it: spooled, the thread runs on
            flight.cancel()
            raise
        return flight.exception() if not flight.cancelled() else asyncio.CancelledError()

    async def _apply(self, write: Write) -> None:
        def job() -> None:
            with self._sessions() as session:
                _APPLY[write.op](session, write)

        async with self._slots:
            await asyncio.get_running_loop().run_in_executor(self._writes, job)

    async def _spill(self, call: _CallWrites) -> None:
        """Put the call's writes held in memory (and the one in flight) behind its spool."""
        head = [call.flying] if call.flying is not None and not call.flying_on_disk else []
        writes = head + list(call.memory)
        if not writes:
            return
        await asyncio.to_thread(self._spool.append, call.call_id, writes)
        for _ in range(len(writes) - len(head)):  # newer ones may have arrived meanwhile
            call.memory.popleft()
        if head:
            call.flying_on_disk = True
        call.on_disk += len(writes)
        self._count(held=-len(writes), spooled=len(writes))

    async def _pause(self) -> None:
        """Before the next try of a write the database refused (shutdown cuts it short)."""
        try:
            await asyncio.wait_for(self._late.wait(), self._retry_every)
        except TimeoutError:
            pass

    # -- telling a dead database from a bad write -----------------------------------------------

    async def _unavailable(self, error: BaseException) -> bool:
        if isinstance(error, (*_UNAVAILABLE, asyncio.CancelledError)) or getattr(
                error, "connection_invalidated", False):
            return True
        return not await self._probe()

    async def _probe(self) -> bool:
        """Does the database take a write to the call records' table now? (An update that
        changes nothing: SQLite in WAL mode answers reads while another process holds the
        write lock, so a read would not tell.)"""
        try:
            await self.run(_probe_write, self._lookup_timeout)
        except Exception:  # noqa: BLE001 - any failure means: not now
            return False
        return True

    def _strike(self, write: Write, error: BaseException) -> bool:
        """Count a refusal of a write by a database that answers; True when it is final."""
        strikes = self._strikes.get(write.id, 0) + 1
        if strikes < self._max_strikes:
            self._strikes[write.id] = strikes
            log.warning("call record: %s of call %s (write %s) refused (%s); try %d of %d",
                        write.op, write.call_id, write.id, _why(error), strikes,
                        self._max_strikes)
            return False
        self._strikes.pop(write.id, None)
        log.error("call record: %s of call %s (write %s) rejected after %d tries: %s; moved "
                  "to %s", write.op, write.call_id, write.id, strikes, _why(error),
                  self._spool.rejected_file)
        return True

    def _down(self, error: BaseException | str) -> None:
        if not self._healthy:
            return
        self._healthy = False
        log.error("call records: the database does not take writes (%s); they wait in the "
                  "spool, %s, until it does", _why(error) if isinstance(error, BaseException)
                  else error, self._spool.calls)
        self._spawn(self._watch_database(), "records: database watch")

    async def _watch_database(self) -> None:
        while not self._healthy:
            await self._pause()
            if self._late.is_set():
                return
            if await self._probe():
                self._healthy = True
                self._over_bound_said = False
                log.info("call records: the database is back; %d spooled write(s) replay",
                         self._spooled)
                for call in list(self._calls.values()):
                    self._start_writer(call)

    # -- bookkeeping -------------------------------------------------------------------------

    def _count(self, *, held: int = 0, spooled: int = 0, rejected: int = 0) -> None:
        self._held += held
        self._spooled += spooled
        self._rejected += rejected
        if self._held or self._spooled:
            self._settled.clear()
        else:
            self._settled.set()
        if self._held <= self._max_pending // 2:
            self._over_bound_said = False

    def _spawn(self, work: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(work, name=name)
        self._background.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._background.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("%s failed", name, exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    async def _forget_appends(self) -> None:
        """Daily: forget the appended steps of calls a month old."""
        while True:
            try:
                forgotten = await self.run(lambda s: calls.forget_appends(s, KEEP_APPENDS), 30)
                if forgotten:
                    log.info("call records: %d appended step(s) of old calls forgotten",
                             forgotten)
            except Exception as exc:  # noqa: BLE001 - tried again tomorrow; said in the log
                log.warning("call records: forgetting old appended steps failed (%s)", exc)
            try:
                await asyncio.wait_for(self._late.wait(), 86400)
                return
            except TimeoutError:
                pass


def _probe_write(session: Session) -> None:
    session.execute(update(Call).where(Call.id == -1).values(outcome=Call.outcome))
    session.commit()


def _why(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__
