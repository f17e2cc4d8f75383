"""The records from the web's event loop: every query on a small thread pool of its own, with a
deadline, so a slow or locked database never stalls the pages' live updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class RecordsUnavailable(Exception):
    """The records database did not answer in time (or is down): the page says so (503)."""

    code = "web.records_unavailable"


class Records:
    def __init__(self, sessions: sessionmaker, workers: int = 4,  # type: ignore[type-arg]
                 timeout: float = 3.0) -> None:
        self._sessions = sessions
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="web-records")
        self.timeout = timeout

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self._sessions() as session:
            return work(session)

    async def run(self, work: Callable[[Session], T], timeout: float | None = None) -> T:
        """``work(session)`` on the pool; RecordsUnavailable past the deadline or when the
        database cannot be reached (the query itself may still finish on its thread)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._in_session, work)
        try:
            return await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError:
            raise RecordsUnavailable("the records did not answer in time") from None
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
            raise RecordsUnavailable(f"the records cannot be read ({type(exc).__name__})") \
                from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
