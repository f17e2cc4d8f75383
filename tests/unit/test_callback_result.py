"""How a callback attempt lands in the call's record, through the real ACD part
(:class:`acd.service_callbacks.Callbacks` on a real Redis) and the real records store (SQLite):
an answered attempt and the operator who made it become visible together, so a reader never finds
the attempt in the path with the record's operator still empty; an attempt not answered is noted
alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from acd.ami.protocol import Message
from acd.decision import WaitingCall
from acd.live import LiveState
from acd.service_callbacks import Callbacks
from acd.service_context import AcdContext, AcdSettings
from records.database import make_engine, make_sessions, migrate
from records.models import Call
from records.store import RecordsStore


class Records:
    """The controller's hooks into a real store; after each write lands, what a reader of the
    record sees then (operator, path)."""

    def __init__(self, url: str, spool: Path) -> None:
        self.engine = make_engine(url)
        self.store = RecordsStore(make_sessions(self.engine), spool)
        self.seen: list[tuple[str | None, list[dict[str, Any]]]] = []

    async def on_attempt(self, call_id: str, entry: dict[str, Any]) -> None:
        await self.store.append_path(call_id, entry)
        await self._read(call_id)

    async def on_connected(self, call_id: str, agent_id: str, wait_s: float,
                           step: dict[str, Any] | None = None) -> None:
        await self.store.queue_result(call_id, agent_id, wait_s, step)
        await self._read(call_id)

    async def _read(self, call_id: str) -> None:
        assert await self.store.settled(10)
        with make_sessions(self.engine)() as session:
            call = session.scalars(select(Call).where(Call.call_id == call_id)).one()
            self.seen.append((call.operator, list(call.path or [])))


@pytest.fixture
async def records(tmp_path: Path) -> AsyncIterator[Records]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    migrate(url)
    made = Records(url, tmp_path / "spool")
    yield made
    await made.store.shutdown(flush_s=1, grace_s=1)
    made.engine.dispose()


async def _calling_back(live: LiveState, records: Records, call_id: str) -> Callbacks:
    await records.store.open(call_id=call_id, caller_number="0909777201")
    await records.store.close(call_id, "queued", [{"node": "operator"}])
    assert await records.store.settled(10)
    await live.add_call(WaitingCall(call_id, ("general",), "vi", 0, 100.0), caller="0909777201")
    await live.set_call_state(call_id, "calling_back", agent="op08")
    ctx = AcdContext(live, Any, dict, "", AcdSettings(callback=True, callback_attempts=3),
                     Any, lambda: 130.0, route_soon=lambda: None,
                     on_connected=records.on_connected, on_attempt=records.on_attempt)
    return Callbacks(ctx)


def _result(call_id: str, status: str, leg: str) -> Message:
    return Message((("Event", "UserEvent"), ("UserEvent", "AcdCallbackResult"),
                    ("AcdCall", call_id), ("AcdStatus", status), ("Uniqueid", leg)))


async def test_an_answered_callback_shows_its_operator_with_its_attempt(
        redis: Redis, records: Records) -> None:
    callbacks = await _calling_back(LiveState(redis), records, "50.1")
    await callbacks.result(_result("50.1", "ANSWER", "50.9"))
    attempt = {"event": "callback_attempt", "attempt": 1, "operator": "op08",
               "status": "ANSWER"}
    half_done = [(operator, path) for operator, path in records.seen
                 if attempt in path and operator is None]
    assert half_done == []
    assert records.seen[-1] == ("op08", [{"node": "operator"}, attempt])
    with make_sessions(records.engine)() as session:
        call = session.scalars(select(Call).where(Call.call_id == "50.1")).one()
        assert call.queue_wait_s == 30.0  # joined at 100, answered at 130


async def test_an_unanswered_attempt_is_noted_without_an_operator(
        redis: Redis, records: Records) -> None:
    callbacks = await _calling_back(LiveState(redis), records, "51.1")
    await callbacks.result(_result("51.1", "NOANSWER", "51.9"))
    assert records.seen == [(None, [{"node": "operator"}, {
        "event": "callback_attempt", "attempt": 1, "operator": "op08", "status": "NOANSWER"}])]
