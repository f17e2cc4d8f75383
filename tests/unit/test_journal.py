"""Asterisk's call journal folded into the call records: exactly one record per call, whoever
writes first, whatever is read twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from records import calls, journal
from records.database import make_engine, make_sessions
from records.models import Call

RECORDED = Path(__file__).parent.parent / "fixtures" / "journal" / "calls-asterisk16.csv"


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield make_sessions(engine)
    engine.dispose()


def line(uniqueid: str = "100.1", outcome: str = "fallback", end: str = "1700000010.5",
         dst: str = "", hotline: str = "1", queue_status: str = "JOINEMPTY",
         disposition: str = "ANSWERED") -> str:
    return (f'"{hotline}","{uniqueid}","{uniqueid}","0909000111","hcabcx1@127.0.0.1",'
            f'"PJSIP/trunk-00000001","{dst}","1700000000.25","1700000000.3","{end}",'
            f'"{disposition}","{outcome}","{queue_status}"\n')


def count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Call)) or 0)


def test_recorded_journal_lines_parse() -> None:
    entries = [journal.parse_line(raw) for raw in RECORDED.read_text().splitlines()]
    assert all(entries)
    first = entries[0]
    assert first is not None
    assert first.call_id == "1795650412.0"
    assert first.caller == "0909000111"
    assert first.sip_call_id == "hc2d642755210ax1@127.0.0.1"
    assert first.outcome == "completed"
    assert first.end is not None and first.end > first.start


@pytest.mark.parametrize("raw", [
    "", "garbage", '"1","x"', line(hotline=""), line(uniqueid=""),
    line().replace("1700000000.25", "not-a-time"), "\x00\xff", '"unterminated',
])
def test_lines_that_are_not_hotline_calls_are_skipped(raw: str) -> None:
    assert journal.parse_line(raw) is None


def test_a_call_the_controller_never_saw_gets_its_record_from_the_journal(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(line())
    assert journal.ingest(sessions, path) == 1
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert (call.call_id, call.outcome, call.queue_status) == ("100.1", "fallback", "JOINEMPTY")
        assert call.path == [] and call.ended_at is not None


def test_reading_twice_or_with_a_second_reader_changes_nothing(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    shutil.copy(RECORDED, path)
    lines = len(RECORDED.read_text().splitlines())
    assert journal.ingest(sessions, path) == lines
    assert journal.ingest(sessions, path) == 0
    # another process that lost its offset (or a new database view) re-reads everything
    with sessions() as s:
        s.query(journal.JournalOffset).delete()
        s.commit()
    assert journal.ingest(sessions, path) == lines
    assert count(sessions) == lines


def test_a_half_written_last_line_waits_for_its_end(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    whole = line(uniqueid="1.1") + line(uniqueid="1.2")
    path.write_text(whole[:-20])
    assert journal.ingest(sessions, path) == 1
    path.write_text(whole)
    assert journal.ingest(sessions, path) == 1
    assert count(sessions) == 2


def test_a_rotated_journal_is_read_from_its_start(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(line(uniqueid="1.1") + line(uniqueid="1.2"))
    journal.ingest(sessions, path)
    path.unlink()
    path.write_text(line(uniqueid="2.1"))
    assert journal.ingest(sessions, path) == 1
    assert count(sessions) == 3


def test_the_controllers_record_keeps_its_path_and_outcome(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s:
        calls.open_call(s, call_id="100.1", caller_number="0909000111")
        calls.close_call(s, "100.1", outcome="queued", path=[{"node": "welcome"}])
    path = tmp_path / "calls.csv"
    path.write_text(line(outcome="queued", dst="PJSIP/op07-00000003", queue_status=""))
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert call.outcome == "queued"
        assert call.path == [{"node": "welcome"}]
        assert call.operator == "op07"
        assert str(call.ended_at) == "2023-11-14 22:13:30.500000"  # the journal's true end


def test_a_call_left_in_progress_by_a_killed_controller_takes_the_dialplans_outcome(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s:
        calls.open_call(s, call_id="100.1", caller_number="0909000111")
        calls.save_path(s, "100.1", [{"node": "welcome"}, {"node": "main"}])
    path = tmp_path / "calls.csv"
    path.write_text(line(outcome="fallback"))
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert call.outcome == "fallback"
        assert [e["node"] for e in call.path] == ["welcome", "main"]


def test_a_hang_up_the_controller_never_closed_is_abandoned(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(line(outcome="in_progress"))
    journal.ingest(sessions, path)
    with sessions() as s:
        assert s.scalars(select(Call)).one().outcome == "abandoned"


def test_the_journal_first_then_the_controller_is_still_one_record(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "calls.csv"
    path.write_text(line(outcome="in_progress"))
    journal.ingest(sessions, path)
    with sessions() as s:
        calls.open_call(s, call_id="100.1", caller_number="0909000111", menu_version="abc")
        calls.close_call(s, "100.1", outcome="completed", path=[])
    assert count(sessions) == 1
    with sessions() as s:
        call = s.scalars(select(Call)).one()
        assert (call.outcome, call.menu_version) == ("completed", "abc")


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        calls.close_call(None, "x", outcome="exploded", path=[])  # type: ignore[arg-type]


def test_an_operators_leg_lands_on_the_callers_record(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    """Recorded from Asterisk 16: the caller's CDR ends when the ACD bridges the operator's
    leg in; the leg's own CDR (its linkedid is the caller's) carries the operator and the end."""
    path = tmp_path / "calls.csv"
    path.write_text(
        '"1","1795656321.3","1795656321.3","0909999999","hc2f66fb466f27x1@127.0.0.1",'
        '"PJSIP/trunk-00000001","","1795656321.370359","1795656321.371382","1795656364.226519",'
        '"ANSWERED","queued",""\n'
        '"1","acd-1795656321.3-4","1795656321.3","0909999999","hc2f66fb466f27x1@127.0.0.1",'
        '"PJSIP/op01-00000002","PJSIP/trunk-00000001","1795656364.220778","1795656364.225317",'
        '"1795656368.231001","ANSWERED","queued",""\n')
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert (call.call_id, call.operator, call.outcome) == ("1795656321.3", "op01", "queued")
        assert str(call.ended_at) == "2026-11-26 01:26:08.231001"  # the real end, in UTC


def test_a_leg_journalled_before_the_caller_does_not_move_the_start(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    """Recorded from Asterisk 16 (an overflow caller, no IVR row): the operator's leg ends and is
    journalled before the caller's CDRs; the call still starts when the caller called."""
    path = tmp_path / "calls.csv"
    path.write_text(
        '"1","acd-1795663230.65-21","1795663230.65","090955565","hcd2a0303416f4x65@127.0.0.1",'
        '"PJSIP/op32-000000e7","PJSIP/trunk-00000040","1795663236.539298","1795663236.548871",'
        '"1795663237.553659","ANSWERED","overflow","ANSWERED"\n'
        '"1","1795663230.65","1795663230.65","090955565","hcd2a0303416f4x65@127.0.0.1",'
        '"PJSIP/trunk-00000040","","1795663230.493671","1795663230.494740","1795663236.550577",'
        '"ANSWERED","overflow","ANSWERED"\n'
        '"1","1795663230.65","1795663230.65","090955565","hcd2a0303416f4x65@127.0.0.1",'
        '"PJSIP/trunk-00000040","","1795663237.555347","1795663237.555347","1795663237.56",'
        '"ANSWERED","overflow","ANSWERED"\n')
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert call.operator == "op32"
        assert str(call.started_at) == "2026-11-26 03:20:30.493671"
        assert str(call.ended_at) == "2026-11-26 03:20:37.560000"


def test_the_queue_result_of_a_call_the_ivr_never_saw_is_kept(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    """An overflow caller has no row until the journal: the operator, the wait and callback
    attempts are not lost, and the journal completes the row (caller, start) later."""
    with sessions() as s:
        calls.set_queue_result(s, "1795663230.65", "op32", 6.0)
        calls.append_path(s, "1795663230.65", {"event": "callback_requested"}, write_id="w1")
    path = tmp_path / "calls.csv"
    path.write_text(
        '"1","1795663230.65","1795663230.65","090955565","hcd2a0303416f4x65@127.0.0.1",'
        '"PJSIP/trunk-00000040","","1795663230.493671","1795663230.494740","1795663236.550577",'
        '"ANSWERED","overflow","ANSWERED"\n')
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert (call.operator, call.queue_wait_s) == ("op32", 6.0)
        assert call.path == [{"event": "callback_requested"}]
        assert call.caller_number == "090955565"
        assert (call.outcome, str(call.started_at)) == ("overflow", "2026-11-26 03:20:30.493671")


FALLBACK_QUEUE = Path(__file__).parent.parent / "fixtures" / "journal" / "calls-fallback-queue.csv"


def test_a_caller_the_fallback_queue_answered_keeps_the_whole_wait(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    """Recorded on Asterisk 16, then 22: callers the ACD had accepted, moved to app_queue when
    their controller was killed, and answered there. The wait counts from joining the queue
    (the ACD's part included) to the operator's answer."""
    with sessions() as s:  # the controller had recorded the menu part and closed it
        for call_id in ("1796652004.12", "1796652558.1"):
            calls.open_call(s, call_id=call_id, caller_number="0909000222")
            calls.close_call(s, call_id, outcome="queued", path=[{"node": "operator"}])
    path = tmp_path / "calls.csv"
    shutil.copy(FALLBACK_QUEUE, path)
    assert journal.ingest(sessions, path) == 2
    with sessions() as s:
        rows = {c.call_id: (c.operator, c.queue_wait_s, c.outcome) for c in s.scalars(select(Call))}
    assert rows == {"1796652004.12": ("op08", 14.0, "queued"),
                    "1796652558.1": ("op13", 11.0, "queued")}


def test_older_journal_lines_without_the_queue_columns_still_parse() -> None:
    entry = journal.parse_line(line())
    assert entry is not None and entry.queue_wait_s is None
    newer = journal.parse_line(line().rstrip("\n") + ',"1700000003","1700000010"\n')
    assert newer is not None and newer.queue_wait_s == 7.0
    unanswered = journal.parse_line(line().rstrip("\n") + ',"1700000003",""\n')
    assert unanswered is not None and unanswered.queue_wait_s is None


def test_the_acds_own_wait_is_not_replaced_by_the_journals(tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s:
        calls.open_call(s, call_id="100.1", caller_number="0909000111")
        calls.set_queue_result(s, "100.1", "op07", 4.25)
    path = tmp_path / "calls.csv"
    path.write_text(line().rstrip("\n") + ',"1700000003","1700000010"\n')
    journal.ingest(sessions, path)
    with sessions() as s:
        assert s.scalars(select(Call)).one().queue_wait_s == 4.25


def test_an_operator_who_let_the_caller_ring_out_is_not_the_calls_operator(
        tmp_path: Path, sessions) -> None:  # type: ignore[no-untyped-def]
    """The caller's channel dials operators itself: a ring that was not answered leaves a line
    naming the operator it rang, and only an answered one names the call's operator."""
    path = tmp_path / "calls.csv"
    path.write_text(line(dst="PJSIP/op06-00000002", disposition="NO ANSWER", queue_status="")
                    + line(dst="PJSIP/op07-00000003", disposition="BUSY", queue_status="")
                    + line(outcome="queued", queue_status="ABANDON"))
    journal.ingest(sessions, path)
    with sessions() as s:
        (call,) = s.scalars(select(Call))
        assert (call.operator, call.queue_status) == (None, "ABANDON")
    path.write_text(path.read_text() + line(uniqueid="100.2", dst="PJSIP/op06-00000004",
                                            disposition="NO ANSWER", queue_status="")
                    + line(uniqueid="100.2", dst="PJSIP/op08-00000005", queue_status="ANSWERED"))
    journal.ingest(sessions, path)
    with sessions() as s:
        call = s.scalars(select(Call).where(Call.call_id == "100.2")).one()
        assert (call.operator, call.queue_status) == ("op08", "ANSWERED")
