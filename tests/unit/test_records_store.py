"""The records store on a real SQLite file and a real PostgreSQL: lookups answer within their
deadline whatever the database does; call-record writes never make the caller wait, keep their
order within a call, go independently across calls, overflow to the on-disk spool, land exactly
once (replayed or not, across a restart and a shutdown), and a write the database refuses for
good is quarantined instead of holding up the ones after it."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from records import lookups
from records.calls import append_path, close_call, open_call, save_path, set_queue_result
from records.database import make_engine, make_sessions, migrate
from records.models import Call
from records.results import NotFound, Unavailable
from records.spool import Spool
from records.store import RecordsStore, WriteCounts

from ..databases import PostgresCluster


class Stores:
    """Stores on one database, each shut down (and its engine let go) at the end."""

    def __init__(self, url: str, spool: Path) -> None:
        self.url, self.spool = url, spool
        self._made: list[tuple[RecordsStore, Any]] = []

    def make(self, busy_timeout_ms: int = 200, url: str | None = None,
             **kwargs: Any) -> RecordsStore:
        engine = make_engine(url or self.url, busy_timeout_ms=busy_timeout_ms)
        settings: dict[str, Any] = {"lookup_timeout": 0.5, "write_timeout": 5.0,
                                    "retry_every": 0.05, **kwargs}
        store = RecordsStore(make_sessions(engine), self.spool, **settings)
        self._made.append((store, engine))
        return store

    async def close(self) -> None:
        for store, engine in self._made:
            if not store._closed:
                await store.shutdown(flush_s=1, grace_s=1)
            engine.dispose()


@pytest.fixture
async def stores(database_url: str, tmp_path: Path) -> AsyncIterator[Stores]:
    made = Stores(database_url, tmp_path / "spool")
    yield made
    await made.close()


@pytest.fixture
async def sqlite_stores(tmp_path: Path) -> AsyncIterator[Stores]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    migrate(url)
    # in WAL mode already, as after the controller's first connection (switching needs the
    # file to itself, which the tests' lockers would refuse)
    sqlite3.connect(tmp_path / "records.db").execute("PRAGMA journal_mode=WAL").connection.close()
    made = Stores(url, tmp_path / "spool")
    yield made
    await made.close()


def calls_in(url: str) -> dict[str, Call]:
    engine = make_engine(url)
    with make_sessions(engine)() as s:
        rows = {c.call_id: c for c in s.scalars(select(Call))}
    engine.dispose()
    return rows


async def until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Wait for a condition of the store or the database, with a generous deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.01)


#: a guard against a hang, not a measure: a call that returns at all before the test lets the
#: database go returned while its write was held there (a write waited for never would)
HANG_S = 5


async def returns(write: Awaitable[None]) -> None:
    await asyncio.wait_for(write, HANG_S)


def statements_sent(store: RecordsStore) -> list[str]:
    """The statements the store's engine sends to the database, as they are sent (before the
    database answers): watched, not changed."""
    engine: Engine = store._sessions.kw["bind"]
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    return sent


def lock_exclusively(db: Path) -> sqlite3.Connection:
    """Another process holding the SQLite file exclusively: nobody reads or writes."""
    locker = sqlite3.connect(db, isolation_level=None, timeout=5)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE journal_offsets SET offset = offset")
    return locker


def hold_writes(db: Path) -> sqlite3.Connection:
    """Another process in the middle of a long write: readers go on (WAL), writers wait."""
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    return writer


def release(connection: sqlite3.Connection) -> None:
    connection.execute("ROLLBACK")
    connection.close()


async def test_a_locked_sqlite_database(sqlite_stores: Stores, tmp_path: Path) -> None:
    db = tmp_path / "records.db"
    store = sqlite_stores.make()
    assert await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001")) == \
        NotFound("customer", "PE01000000001")

    # a plain write lock does not stop readers in WAL mode: lookups keep answering
    writer = hold_writes(db)
    assert isinstance(await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001")),
                      NotFound)
    release(writer)
    # a process holding the database exclusively stops everyone
    store._sessions.kw["bind"].dispose()  # type: ignore[attr-defined]  # let go of the file
    locker = lock_exclusively(db)
    started = time.monotonic()
    result = await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001"))
    assert isinstance(result, Unavailable)
    assert time.monotonic() - started < 5  # bounded (not hanging), whatever the database does
    # the caller's path does not wait for a record write at all: each call returns with its
    # write still held by the store, neither landed nor failed into the spool (the database
    # refuses it only after the busy timeout)
    await returns(store.open(call_id="1.1", caller_number="0909123456",
                             started_at=lookups.utcnow()))
    assert store.counts == WriteCounts(pending=1, spooled=0, rejected=0)
    await returns(store.save_path("1.1", [{"node": "welcome"}]))
    assert store.counts == WriteCounts(pending=2, spooled=0, rejected=0)
    await returns(store.close("1.1", "completed", [{"node": "welcome"}, {"node": "goodbye"}]))
    assert store.counts == WriteCounts(pending=3, spooled=0, rejected=0)
    await until(lambda: store.counts.spooled == 3, "three writes in the spool")
    assert store.counts.pending == 0
    release(locker)
    assert await store.settled(10)
    call = calls_in(sqlite_stores.url)["1.1"]
    assert call.outcome == "completed"
    assert [e["node"] for e in call.path] == ["welcome", "goodbye"]
    assert not list((sqlite_stores.spool / "calls").iterdir())


async def test_the_callers_path_never_waits_for_a_write_in_flight(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """Another process holds the write lock: the call's first write goes to the database and
    waits there for the lock; the call's later writes are made meanwhile and return while it
    still waits (nothing landed); once the lock is let go, the three land, each once."""
    store = sqlite_stores.make(busy_timeout_ms=20000, write_timeout=30)
    sent = statements_sent(store)
    writer = hold_writes(tmp_path / "records.db")
    try:
        await returns(store.open(call_id="1.2", caller_number="0909123456",
                                 started_at=lookups.utcnow()))
        await until(lambda: any(s.startswith("INSERT INTO calls ") for s in sent),
                    "the open in the database, waiting for the lock")
        await returns(store.save_path("1.2", [{"node": "welcome"}]))
        await returns(store.close("1.2", "completed",
                                  [{"node": "welcome"}, {"node": "goodbye"}]))
        # both returned with the open still waiting for the lock the test holds
        assert "1.2" not in calls_in(sqlite_stores.url)  # readers go on (WAL): nothing landed
        assert store.counts == WriteCounts(pending=3, spooled=0, rejected=0)
    finally:
        release(writer)
    assert await store.settled(10)
    call = calls_in(sqlite_stores.url)["1.2"]
    assert (call.outcome, call.path) == ("completed", [{"node": "welcome"}, {"node": "goodbye"}])
    assert len([s for s in sent if s.startswith("INSERT INTO calls ")]) == 1  # not written twice
    assert store.counts == WriteCounts(pending=0, spooled=0, rejected=0)
    assert Spool(sqlite_stores.spool).scan() == {}


async def test_the_spool_survives_a_restart(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    dead = Stores(f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'records.db'}", spool)
    store = dead.make()  # cannot be opened
    assert isinstance(await store.lookup(lambda s: lookups.bill_status(s, 1)), Unavailable)
    when = lookups.utcnow()
    await store.open(call_id="2.1", caller_number="0909123456", started_at=when)
    await store.append_path("2.1", {"event": "callback_requested"})
    await store.close("2.1", "abandoned", [])
    await store.shutdown(flush_s=0.5, grace_s=0.5)  # the controller stops, writes waiting
    await dead.close()
    assert Spool(spool).scan() == {"2.1": 3}

    good = Stores(f"sqlite:///{tmp_path / 'records.db'}", spool)
    migrate(good.url)
    restarted = good.make()
    await restarted.start()
    assert await restarted.settled(10)
    call = calls_in(good.url)["2.1"]
    assert call.outcome == "abandoned"
    assert call.started_at == when  # the call's own time, not the time of the replay
    assert call.path == [{"event": "callback_requested"}]  # the IVR's path, then the ACD's
    await good.close()


async def test_a_postgresql_server_that_is_down(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    down = Stores(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x", tmp_path / "spool")
    store = down.make()
    started = time.monotonic()
    assert isinstance(await store.lookup(lambda s: lookups.request_by_number(s, "12345674")),
                      Unavailable)
    assert time.monotonic() - started < 5  # bounded (not hanging)
    # the open returns with its write held by the store: not failed into the spool yet
    await returns(store.open(call_id="3.1", caller_number="", started_at=lookups.utcnow()))
    assert store.counts == WriteCounts(pending=1, spooled=0, rejected=0)
    await until(lambda: store.counts.spooled == 1, "the write in the spool")
    await down.close()


@pytest.mark.parametrize("keyed", ["12", "PE1"])
async def test_malformed_input_needs_no_database(tmp_path: Path, keyed: str) -> None:
    nowhere = Stores("sqlite:////nonexistent/x.db", tmp_path / "spool")
    result = await nowhere.make().lookup(lambda s: lookups.customer_by_code(s, keyed))
    assert not isinstance(result, Unavailable)
    await nowhere.close()


# -- order, independence, bounds -------------------------------------------------------------

async def test_each_calls_writes_land_in_order(stores: Stores) -> None:
    """Five calls, each opened, walked through twenty steps, closed, then appended to by the
    ACD: every record ends as its last writes said, whatever ran beside it."""
    store = stores.make()
    for n in range(20):
        for call in range(5):
            call_id = f"4.{call}"
            if n == 0:
                await store.open(call_id=call_id, caller_number=f"09090000{call:02d}",
                                 started_at=lookups.utcnow())
            await store.save_path(call_id, [{"node": f"step{i}"} for i in range(n + 1)])
    for call in range(5):
        await store.close(f"4.{call}", "queued", [{"node": f"step{i}"} for i in range(20)])
        await store.append_path(f"4.{call}", {"event": "callback_requested"})
        await store.queue_result(f"4.{call}", "op07", 12.34)
        await store.append_path(f"4.{call}", {"event": "callback_attempt", "attempt": 1})
    assert await store.settled(20)
    records = calls_in(stores.url)
    for call in range(5):
        record = records[f"4.{call}"]
        assert record.outcome == "queued"
        assert [e.get("node") or e["event"] for e in record.path] == \
            [f"step{i}" for i in range(20)] + ["callback_requested", "callback_attempt"]
        assert (record.operator, record.queue_wait_s) == ("op07", 12.3)


async def test_a_slow_write_of_one_call_does_not_delay_another(
        postgres: PostgresCluster, tmp_path: Path) -> None:
    """One call's row is locked by someone else: its write waits for it, and the other calls'
    writes land meanwhile, several at once."""
    import psycopg

    made = Stores(postgres.fresh_database("migrated"), tmp_path / "spool")
    store = made.make(busy_timeout_ms=20000, write_timeout=30)
    await store.open(call_id="5.slow", caller_number="0909000001", started_at=lookups.utcnow())
    assert await store.settled(10)
    with psycopg.connect(made.url.replace("+psycopg", "")) as locker:
        locker.execute("SELECT * FROM calls WHERE call_id = '5.slow' FOR UPDATE")
        await store.close("5.slow", "completed", [{"node": "goodbye"}])
        await until(lambda: store.counts.pending == 1, "the slow write in flight")
        started = time.monotonic()
        for n in range(6):
            await store.open(call_id=f"5.{n}", caller_number="0909000002",
                             started_at=lookups.utcnow())
            await store.close(f"5.{n}", "abandoned", [])
        await until(lambda: store.counts.pending == 1, "the other calls' writes landed")
        others = time.monotonic() - started
        assert calls_in(made.url)["5.slow"].outcome == "in_progress"  # still held
        locker.rollback()
    assert await store.settled(10)
    records = calls_in(made.url)
    assert records["5.slow"].outcome == "completed"
    assert all(records[f"5.{n}"].outcome == "abandoned" for n in range(6))
    print(f"six other calls' writes landed in {others:.3f} s beside a held one")
    await made.close()


async def test_a_full_queue_overflows_to_the_spool_and_nothing_is_lost(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """The database is slow (another process writes for a long time): beyond the bound, writes
    go to the spool instead of piling up in memory, and all of them land once it is free."""
    store = sqlite_stores.make(busy_timeout_ms=20000, write_timeout=30, max_pending=5)
    writer = hold_writes(tmp_path / "records.db")
    for call in range(4):
        await store.open(call_id=f"6.{call}", caller_number="0909000003",
                         started_at=lookups.utcnow())
        for n in range(5):
            await store.save_path(f"6.{call}", [{"node": f"step{i}"} for i in range(n + 1)])
    await until(lambda: store.counts.pending <= 5 and store.counts.spooled >= 19,
                "the queue's overflow in the spool")
    assert store.counts.pending + store.counts.spooled >= 24  # none dropped
    release(writer)
    assert await store.settled(20)
    for call in range(4):
        record = calls_in(sqlite_stores.url)[f"6.{call}"]
        assert [e["node"] for e in record.path] == [f"step{i}" for i in range(5)]


async def test_lookups_keep_their_deadline_while_writes_are_stuck(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """Writes waiting for a lock take none of the lookups' threads."""
    store = sqlite_stores.make(busy_timeout_ms=20000, write_timeout=30, writers=2, workers=2)
    writer = hold_writes(tmp_path / "records.db")
    for call in range(6):
        await store.open(call_id=f"7.{call}", caller_number="", started_at=lookups.utcnow())
    await until(lambda: store.counts.pending == 6, "writes waiting")
    for _ in range(4):
        result = await store.lookup(lambda s: lookups.customer_by_code(s, "01000000001"))
        assert isinstance(result, NotFound)
    release(writer)
    assert await store.settled(10)


# -- exactly once ---------------------------------------------------------------------------

def test_an_append_lands_once_and_the_ivr_path_keeps_it(database_url: str) -> None:
    engine = make_engine(database_url)
    with make_sessions(engine)() as session:
        open_call(session, call_id="8.1", caller_number="0909000004")
        for _ in range(2):
            append_path(session, "8.1", {"event": "callback_attempt"}, write_id="a" * 32)
        append_path(session, "8.1", {"event": "callback_attempt"}, write_id="b" * 32)
        close_call(session, "8.1", outcome="queued", path=[{"node": "operator"}])
        save_path(session, "8.1", [{"node": "operator"}])
        call = session.scalars(select(Call).where(Call.call_id == "8.1")).one()
        assert call.path == [{"node": "operator"}] + [{"event": "callback_attempt"}] * 2
    engine.dispose()


def test_an_answered_attempt_and_its_operator_land_together_once(database_url: str) -> None:
    """A callback answered: the operator, the wait and the attempt's step are one transaction,
    and replaying it (the spool after a crash) adds nothing."""
    engine = make_engine(database_url)
    step = {"event": "callback_attempt", "attempt": 1, "operator": "op08", "status": "ANSWER"}
    with make_sessions(engine)() as session:
        open_call(session, call_id="8.2", caller_number="0909000004")
        for _ in range(2):
            set_queue_result(session, "8.2", "op08", 12.5, step=step, write_id="c" * 32)
        close_call(session, "8.2", outcome="queued", path=[{"node": "operator"}])
        call = session.scalars(select(Call).where(Call.call_id == "8.2")).one()
        assert (call.operator, call.queue_wait_s) == ("op08", 12.5)
        assert call.path == [{"node": "operator"}, step]
        with pytest.raises(ValueError, match="write id"):
            set_queue_result(session, "8.2", "op08", 12.5, step=step)
    engine.dispose()


async def test_a_spool_replayed_twice_lands_once(stores: Stores, tmp_path: Path) -> None:
    """A crash after the spool's writes landed but before the spool forgot them: the next
    start replays them all again, and the record is as if they had landed once."""
    spool = Spool(stores.spool)
    dead = Stores("sqlite:////nonexistent/x.db", stores.spool)
    store = dead.make()
    await store.open(call_id="9.1", caller_number="0909000005", started_at=lookups.utcnow())
    await store.close("9.1", "queued", [{"node": "operator"}])
    await store.append_path("9.1", {"event": "callback_attempt", "attempt": 1})
    # the answered attempt comes with its operator, in one write
    await store.queue_result("9.1", "op03", 40.0, {"event": "callback_attempt", "attempt": 2})
    await until(lambda: store.counts.spooled == 4, "the writes in the spool")
    await dead.close()
    kept = tmp_path / "kept.jsonl"
    shutil.copy(spool.file("9.1"), kept)

    first = stores.make()
    await first.start()
    assert await first.settled(10)
    shutil.copy(kept, spool.file("9.1"))  # as if the spool had not been told
    second = stores.make()
    await second.start()
    assert await second.settled(10)
    call = calls_in(stores.url)["9.1"]
    assert call.path == [{"node": "operator"}, {"event": "callback_attempt", "attempt": 1},
                         {"event": "callback_attempt", "attempt": 2}]
    assert (call.outcome, call.operator) == ("queued", "op03")


async def test_a_write_slower_than_its_deadline_is_waited_for_not_replayed_beside_it(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """A write outlives its deadline: the call's next writes go to the spool, and they are
    replayed only after that write ended, one writer per call, so a late commit never lands
    after a newer write (the old path never overwrites the new one) and no append doubles."""
    store = sqlite_stores.make(busy_timeout_ms=20000, write_timeout=0.2)
    writer = hold_writes(tmp_path / "records.db")
    await store.open(call_id="10.1", caller_number="0909000006", started_at=lookups.utcnow())
    for n in range(5):
        await store.save_path("10.1", [{"node": f"step{i}"} for i in range(n + 1)])
        await store.append_path("10.1", {"event": f"e{n}"})
    await until(lambda: store.counts.spooled >= 10, "later writes spooled behind the slow one")
    assert store.counts.pending <= 1
    release(writer)
    assert await store.settled(20)
    call = calls_in(sqlite_stores.url)["10.1"]
    assert call.path == [{"node": f"step{i}"} for i in range(5)] + \
        [{"event": f"e{n}"} for n in range(5)]


# -- quarantine ------------------------------------------------------------------------------

async def test_a_write_the_database_refuses_is_quarantined_and_the_rest_go_on(
        stores: Stores, caplog: pytest.LogCaptureFixture) -> None:
    """A customer that does not exist (a foreign key) is refused by a database that answers:
    after three tries the write goes to the rejected file, with a log line naming it; the
    call's later writes land, and another call was never held up."""
    store = stores.make(retry_every=3.0, max_strikes=3)
    await store.open(call_id="11.bad", caller_number="0909000007", started_at=lookups.utcnow())
    await store.set_customer("11.bad", 999999)
    await store.close("11.bad", "completed", [{"node": "goodbye"}])
    await store.open(call_id="11.good", caller_number="0909000008", started_at=lookups.utcnow())
    await store.close("11.good", "completed", [{"node": "goodbye"}])
    await until(lambda: calls_in(stores.url).get("11.good") is not None
                and calls_in(stores.url)["11.good"].outcome == "completed", "the other call")
    # not behind the refused write's tries (3 s apart): it is still being tried, not yet refused
    assert store.counts.rejected == 0
    with caplog.at_level(logging.WARNING, logger="records"):
        assert await store.settled(30)
    assert store.counts.rejected == 1
    rejected = [json.loads(line) for line in
                (stores.spool / "rejected.jsonl").read_text().splitlines()]
    assert [r["write"]["op"] for r in rejected] == ["customer"]
    assert rejected[0]["write"]["call"] == "11.bad"
    assert "IntegrityError" in rejected[0]["reason"]
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("customer of call 11.bad" in line and "rejected after 3 tries" in line
               and rejected[0]["write"]["id"] in line for line in said), said
    call = calls_in(stores.url)["11.bad"]
    assert (call.outcome, call.customer_id) == ("completed", None)


async def test_a_database_that_is_down_is_not_a_reason_to_quarantine(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    store = sqlite_stores.make(max_strikes=2, retry_every=0.02)
    store._sessions.kw["bind"].dispose()  # type: ignore[attr-defined]
    locker = lock_exclusively(tmp_path / "records.db")
    await store.open(call_id="12.1", caller_number="0909000009", started_at=lookups.utcnow())
    await until(lambda: store.counts.spooled == 1, "the write in the spool")
    down_since = time.monotonic()
    await until(lambda: time.monotonic() - down_since > 0.5, "many probes later")
    release(locker)
    assert await store.settled(10)
    assert store.counts.rejected == 0
    assert calls_in(sqlite_stores.url)["12.1"].caller_number == "0909000009"


# -- shutdown -------------------------------------------------------------------------------

async def test_shutdown_lands_what_waits_when_the_database_takes_it(stores: Stores) -> None:
    store = stores.make()
    for n in range(10):
        await store.open(call_id=f"13.{n}", caller_number="", started_at=lookups.utcnow())
        await store.close(f"13.{n}", "abandoned", [])
    await store.shutdown(flush_s=10)
    records = calls_in(stores.url)
    assert all(records[f"13.{n}"].outcome == "abandoned" for n in range(10))
    assert Spool(stores.spool).scan() == {}


async def test_shutdown_is_bounded_and_spools_what_did_not_land(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """The database holds every write up (a long write elsewhere): shutdown gives up within its
    bound, the writes wait in the spool, and the next start lands them."""
    store = sqlite_stores.make(busy_timeout_ms=20000, write_timeout=30)
    writer = hold_writes(tmp_path / "records.db")
    for n in range(6):
        await store.open(call_id=f"14.{n}", caller_number="", started_at=lookups.utcnow())
        await store.close(f"14.{n}", "abandoned", [{"event": "caller_hung_up"}])
    await until(lambda: store.counts.pending == 12, "writes waiting")
    started = time.monotonic()
    await store.shutdown(flush_s=0.3, grace_s=0.3)
    # bounded (0.6 s asked): far below the 30 s a write could take, with room for a loaded machine
    assert time.monotonic() - started < 5
    assert sum(Spool(sqlite_stores.spool).scan().values()) == 12
    release(writer)
    restarted = sqlite_stores.make()
    await restarted.start()
    assert await restarted.settled(20)
    records = calls_in(sqlite_stores.url)
    assert all(records[f"14.{n}"].outcome == "abandoned" for n in range(6))
    assert all(records[f"14.{n}"].path == [{"event": "caller_hung_up"}] for n in range(6))


async def test_a_spool_of_the_earlier_single_file_format_is_taken_in(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    earlier = tmp_path / "calls.jsonl"
    earlier.write_text(
        json.dumps({"op": "open", "args": {"call_id": "15.1", "caller_number": "0909000010",
                                           "started_at": "2026-11-20 08:00:00"}}) + "\n"
        + json.dumps({"op": "close", "args": {"call_id": "15.1", "outcome": "completed",
                                              "path": [{"node": "goodbye"}]}}) + "\n")
    store = sqlite_stores.make(earlier_spool=earlier)
    await store.start()
    assert await store.settled(10)
    assert not earlier.exists()
    call = calls_in(sqlite_stores.url)["15.1"]
    assert (call.outcome, call.started_at.isoformat()) == ("completed", "2026-11-20T08:00:00")


def test_a_torn_spool_line_is_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.calls.mkdir(parents=True)
    spool.file("16.1").write_text(
        '{"id": "x1", "call": "16.1", "op": "open", "args": {"call_id": "16.1"}}\n{"id": "x2", "ca')
    assert spool.scan() == {"16.1": 1}
    assert spool.rejected() == 1
    assert [w.id for w in spool.read("16.1")] == ["x1"]


# -- the database going and coming back ------------------------------------------------------

async def test_a_database_that_answers_reads_but_takes_no_writes_is_down(
        sqlite_stores: Stores, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Another process holds the write lock of a WAL database: reads go on, so only a write
    tells whether the database is back; the store does not keep trying the call's writes."""
    store = sqlite_stores.make(retry_every=0.05)
    writer = hold_writes(tmp_path / "records.db")
    with caplog.at_level(logging.INFO, logger="records"):
        await store.open(call_id="17.1", caller_number="0909000011",
                         started_at=lookups.utcnow())
        await until(lambda: store.counts.spooled == 1, "the write in the spool")
        probes_later = time.monotonic() + 1.0
        await until(lambda: time.monotonic() > probes_later, "a dozen probes")
        assert not [r for r in caplog.records if "the database is back" in r.getMessage()]
        release(writer)
        assert await store.settled(10)
    assert len([r for r in caplog.records if "does not take writes" in r.getMessage()]) == 1


async def test_writes_arriving_as_the_database_comes_back_all_land(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    """Two hundred calls each write once just as the database comes back, and never again:
    every call's writer, still putting its write in the spool when the database returns,
    replays it instead of leaving it there."""
    store = sqlite_stores.make(busy_timeout_ms=100, retry_every=0.001)
    writer = hold_writes(tmp_path / "records.db")
    await store.open(call_id="18.0", caller_number="", started_at=lookups.utcnow())
    await until(lambda: store.counts.spooled == 1, "the database noticed gone")
    for n in range(1, 201):
        await store.open(call_id=f"18.{n}", caller_number="", started_at=lookups.utcnow())
    release(writer)
    assert await store.settled(20), store.counts
    assert len(calls_in(sqlite_stores.url)) == 201
