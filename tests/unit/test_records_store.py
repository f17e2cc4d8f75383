"""A locked or dead database: lookups answer Unavailable within their deadline, call records
wait in the spool and land, in order, when the database is back, even after a restart."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from records import lookups
from records.database import make_engine, make_sessions, migrate
from records.models import Call
from records.results import NotFound, Unavailable
from records.store import RecordsStore


def store_for(url: str, spool: Path, **kwargs: float) -> RecordsStore:
    sessions = make_sessions(make_engine(url, busy_timeout_ms=200))
    return RecordsStore(sessions, spool, lookup_timeout=0.5, write_timeout=0.5,
                        retry_every=0.05, **kwargs)


def calls_in(url: str) -> dict[str, Call]:
    engine = make_engine(url)
    with make_sessions(engine)() as s:
        rows = {c.call_id: c for c in s.scalars(select(Call))}
    engine.dispose()
    return rows


async def test_a_locked_sqlite_database(tmp_path: Path) -> None:
    db = tmp_path / "records.db"
    url = f"sqlite:///{db}"
    migrate(url)
    store = store_for(url, tmp_path / "spool" / "calls.jsonl")
    assert await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001")) == \
        NotFound("customer", "PE01000000001")

    # a plain write lock does not stop readers in WAL mode: lookups keep answering
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    assert isinstance(await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001")),
                      NotFound)
    writer.execute("ROLLBACK")
    writer.close()
    # a process holding the database exclusively stops everyone
    store._sessions.kw["bind"].dispose()  # type: ignore[attr-defined]  # let go of the file
    locker = sqlite3.connect(db, isolation_level=None, timeout=5)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE journal_offsets SET offset = offset")
    started = time.monotonic()
    result = await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001"))
    assert isinstance(result, Unavailable)
    assert time.monotonic() - started < 1.5  # bounded, whatever the database does
    await store.open(call_id="1.1", caller_number="0909123456",
                     started_at=lookups.utcnow())
    await store.save_path("1.1", [{"node": "welcome"}])
    await store.close("1.1", "completed", [{"node": "welcome"}, {"node": "goodbye"}])
    assert store.spooled == 3
    locker.execute("ROLLBACK")
    locker.close()
    for _ in range(100):
        if not store.spooled:
            break
        await asyncio.sleep(0.05)
    assert store.spooled == 0
    call = calls_in(url)["1.1"]
    assert call.outcome == "completed"
    assert [e["node"] for e in call.path] == ["welcome", "goodbye"]
    await store.shutdown()


async def test_the_spool_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'records.db'}"  # cannot be opened
    spool = tmp_path / "spool" / "calls.jsonl"
    store = store_for(url, spool)
    assert isinstance(await store.lookup(lambda s: lookups.bill_status(s, 1)), Unavailable)
    when = lookups.utcnow()
    await store.open(call_id="2.1", caller_number="0909123456", started_at=when)
    await store.close("2.1", "abandoned", [])
    await store.shutdown()  # the controller stops with writes still waiting
    assert spool.exists()

    good = f"sqlite:///{tmp_path / 'records.db'}"
    migrate(good)
    restarted = store_for(good, spool)
    await restarted.start()
    for _ in range(100):
        if not restarted.spooled:
            break
        await asyncio.sleep(0.05)
    call = calls_in(good)["2.1"]
    assert call.outcome == "abandoned"
    assert call.started_at == when  # the call's own time, not the time of the replay
    await restarted.shutdown()


async def test_a_postgresql_server_that_is_down(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    store = store_for(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x", tmp_path / "spool.jsonl")
    started = time.monotonic()
    assert isinstance(await store.lookup(lambda s: lookups.request_by_number(s, "12345674")),
                      Unavailable)
    await store.open(call_id="3.1", caller_number="", started_at=lookups.utcnow())
    assert time.monotonic() - started < 3
    assert store.spooled == 1
    await store.shutdown()


@pytest.mark.parametrize("keyed", ["12", "PE1"])
async def test_malformed_input_needs_no_database(tmp_path: Path, keyed: str) -> None:
    store = store_for("sqlite:////nonexistent/x.db", tmp_path / "spool.jsonl")
    result = await store.lookup(lambda s: lookups.customer_by_code(s, keyed))
    assert not isinstance(result, Unavailable)
    await store.shutdown()
