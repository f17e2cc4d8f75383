"""The records from asyncio code: lookups with a deadline, call records that are never lost.

* Database work runs on a small bounded thread pool, so the event loop never blocks on SQL.
* A lookup that does not answer within ``lookup_timeout`` (database down, locked, slow) returns
  :class:`~records.results.Unavailable` at once; the IVR then offers an operator.
* A call-record write that fails goes to an on-disk spool (JSON lines) instead; while the spool
  holds anything, later writes queue behind it so their order is kept, and a flusher retries
  until the database takes them. The spool survives a controller restart and is replayed first.
  Every write is idempotent, so replaying one twice changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from . import calls
from .results import Result, Unavailable

log = logging.getLogger("records")
T = TypeVar("T")

_WRITERS: dict[str, Callable[..., Any]] = {
    "open": lambda s, a: calls.open_call(s, **a),
    "save_path": lambda s, a: calls.save_path(s, a["call_id"], a["path"]),
    "customer": lambda s, a: calls.set_customer(s, a["call_id"], a["customer_id"]),
    "queue": lambda s, a: calls.set_queue_result(s, a["call_id"], a["operator"], a["wait_s"]),
    "append": lambda s, a: calls.append_path(s, a["call_id"], a["entry"]),
    "close": lambda s, a: calls.close_call(s, a["call_id"], outcome=a["outcome"],
                                           path=a["path"]),
}


class RecordsStore:
    def __init__(self, sessions: sessionmaker, spool: Path, *,  # type: ignore[type-arg]
                 workers: int = 4, lookup_timeout: float = 1.5, write_timeout: float = 3.0,
                 retry_every: float = 2.0) -> None:
        self._sessions = sessions
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="records")
        self._lookup_timeout = lookup_timeout
        self._write_timeout = write_timeout
        self._retry_every = retry_every
        self._spool = spool
        self._spool.parent.mkdir(parents=True, exist_ok=True)
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    # -- running work ------------------------------------------------------------------------

    async def run(self, work: Callable[[Session], T], timeout: float) -> T:
        def job() -> T:
            with self._sessions() as session:
                return work(session)

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._executor, job), timeout)

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

    # -- call records ----------------------------------------------------------------------------

    @property
    def spooled(self) -> int:
        try:
            with open(self._spool, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    async def open(self, **fields: Any) -> None:
        await self._write("open", fields)

    async def save_path(self, call_id: str, path: list[dict[str, Any]]) -> None:
        await self._write("save_path", {"call_id": call_id, "path": path})

    async def set_customer(self, call_id: str, customer_id: int) -> None:
        await self._write("customer", {"call_id": call_id, "customer_id": customer_id})

    async def append_path(self, call_id: str, entry: dict[str, Any]) -> None:
        """Add a step after the IVR is done with the call (the ACD's callbacks)."""
        await self._write("append", {"call_id": call_id, "entry": entry})

    async def queue_result(self, call_id: str, operator: str, wait_s: float) -> None:
        await self._write("queue", {"call_id": call_id, "operator": operator,
                                    "wait_s": round(wait_s, 1)})

    async def close(self, call_id: str, outcome: str, path: list[dict[str, Any]]) -> None:
        await self._write("close", {"call_id": call_id, "outcome": outcome, "path": path})

    async def _write(self, op: str, args: dict[str, Any]) -> None:
        async with self._lock:
            if self._spool.exists() and self.spooled:
                self._append(op, args)  # keep the order: behind what waits already
                self._wake_flusher()
                return
            try:
                await self.run(lambda s: _WRITERS[op](s, args), self._write_timeout)
            except Exception as exc:  # noqa: BLE001 - any driver error: the spool keeps it
                log.error("call record: %s of %s failed (%s); kept in the spool", op,
                          args.get("call_id"), exc)
                self._append(op, args)
                self._wake_flusher()

    def _append(self, op: str, args: dict[str, Any]) -> None:
        line = json.dumps({"op": op, "args": args}, default=str, ensure_ascii=False)
        with open(self._spool, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    async def flush_spool(self) -> int:
        """Write what the spool holds, in order; returns how many writes landed."""
        async with self._lock:
            if not self._spool.exists():
                return 0
            entries = [json.loads(line) for line in
                       self._spool.read_text(encoding="utf-8").splitlines() if line.strip()]
            if not entries:
                self._spool.unlink(missing_ok=True)
                return 0

            def replay(session: Session) -> None:
                for entry in entries:
                    args = entry["args"]
                    if entry["op"] == "open" and args.get("started_at"):
                        from datetime import datetime

                        args = {**args, "started_at": datetime.fromisoformat(args["started_at"])}
                    _WRITERS[entry["op"]](session, args)

            await self.run(replay, self._write_timeout * 4)
            self._spool.unlink()
            log.info("call records: %d spooled write(s) landed", len(entries))
            return len(entries)

    def _wake_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_until_empty(), name="records spool")

    async def _flush_until_empty(self) -> None:
        while self.spooled:
            try:
                await self.flush_spool()
            except Exception as exc:  # noqa: BLE001 - any driver error: retried later
                log.warning("call records: the database still refuses the spool (%s); "
                            "retrying in %.0f s", exc, self._retry_every)
                await asyncio.sleep(self._retry_every)

    async def start(self) -> None:
        """Replay what a previous run left in the spool (in the background if it fails)."""
        if self.spooled:
            log.info("call records: %d write(s) waiting in the spool from before", self.spooled)
            self._wake_flusher()

    async def shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
