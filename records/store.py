"""Call records from asyncio code: the database work runs on a small bounded thread pool, so the
event loop never blocks on SQL; every write has a deadline and failures are logged, not raised
into a live call (the Asterisk call journal completes any record the controller could not).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from . import calls

log = logging.getLogger("records")
T = TypeVar("T")


class CallStore:
    def __init__(self, sessions: sessionmaker, *, workers: int = 4,  # type: ignore[type-arg]
                 timeout: float = 3.0) -> None:
        self._sessions = sessions
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="records")
        self._timeout = timeout

    async def run(self, work: Callable[[Session], T]) -> T:
        def job() -> T:
            with self._sessions() as session:
                return work(session)

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._executor, job), self._timeout)

    async def _safely(self, what: str, work: Callable[[Session], Any], attempts: int = 1) -> bool:
        for attempt in range(1, attempts + 1):
            try:
                await self.run(work)
                return True
            except Exception as exc:  # a record write must never break a live call
                log.error("call record: %s failed (attempt %d/%d): %s", what, attempt, attempts,
                          exc)
                if attempt < attempts:
                    await asyncio.sleep(0.2 * attempt)
        return False

    async def open(self, **fields: Any) -> bool:
        return await self._safely("open", functools.partial(_open, fields=fields), attempts=2)

    async def save_path(self, call_id: str, path: list[dict[str, Any]]) -> bool:
        return await self._safely("save path", lambda s: calls.save_path(s, call_id, path))

    async def close(self, call_id: str, outcome: str, path: list[dict[str, Any]]) -> bool:
        return await self._safely(
            "close", lambda s: calls.close_call(s, call_id, outcome=outcome, path=path), 3
        )

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _open(session: Session, fields: dict[str, Any]) -> None:
    calls.open_call(session, **fields)
