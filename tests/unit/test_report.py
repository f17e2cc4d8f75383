"""The daily report on a migrated database (SQLite and PostgreSQL: tests/conftest.py) filled
with known calls and requests: every figure checked exactly, calls and requests just before and
just after local midnight (Asia/Ho_Chi_Minh, UTC+7) included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from records.database import make_engine, make_sessions
from records.models import Call, DistrictCompany, Request, RequestEvent
from records.report import (
    DailyReport,
    DistrictRow,
    ReportError,
    csv_rows,
    daily_report,
    day_bounds,
    local_today,
    menu_path,
    parse_day,
)

DAY = date(2026, 12, 7)  # local; in UTC from 2026-12-06 17:00 to 2026-12-07 17:00
LATER = datetime(2026, 12, 9, 3, 0)
S = timedelta(seconds=1)
MAIN_BILL = [{"node": "main", "key": "1"}, {"node": "bill", "outcome": "played"},
             {"node": "bill", "event": "repeat"}]
MAIN_OPERATOR = [{"node": "main", "key": "0"}, {"node": "operator"}, {"event": "queued"}]


def call(number: int, started: datetime, outcome: str, *, ivr_s: float | None = None,
         operator: str | None = None, wait_s: float | None = None, ended_s: float | None = None,
         queue_status: str | None = None, path: list[dict[str, Any]] | None = None) -> Call:
    """A call record; ``ended_s`` counts from entering the queue (leaving the IVR)."""
    entered = started + ivr_s * S if ivr_s is not None else started
    return Call(call_id=f"c{number}", caller_number=f"09000000{number:02d}", started_at=started,
                ivr_ended_at=entered if ivr_s is not None else None,
                ended_at=entered + ended_s * S if ended_s is not None else None,
                outcome=outcome, operator=operator, queue_wait_s=wait_s,
                queue_status=queue_status, path=path or [])


def request(number: int, district: int, created: datetime, deadline: datetime,
            changes: tuple[tuple[datetime, str], ...] = ()) -> list[object]:
    status = changes[-1][1] if changes else "open"
    row = Request(id=number, number=f"R{number}", type="advice", district_company_id=district,
                  created_at=created, deadline_at=deadline, status=status)
    events = [RequestEvent(request_id=number, at=created, status="open", actor="op07")]
    events += [RequestEvent(request_id=number, at=at, status=s, actor="pcsg")
               for at, s in changes]
    return [row, *events]


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_sessions(engine)() as s:
        s.add_all([DistrictCompany(id=1, code="PCSG", name="Công ty Điện lực Sài Gòn"),
                   DistrictCompany(id=2, code="PCCL", name="Công ty Điện lực Chợ Lớn")])
        s.flush()
        s.add_all([
            # local 23:59:59 the day before, and local 00:00:00 of the next day: not this day
            call(1, datetime(2026, 12, 6, 16, 59, 59), "completed", path=MAIN_BILL),
            call(2, datetime(2026, 12, 7, 17, 0, 0), "completed", path=MAIN_BILL),
            # local 00:00:00 and 23:59:59: this day's first and last second
            call(3, datetime(2026, 12, 6, 17, 0, 0), "completed", path=MAIN_BILL),
            call(4, datetime(2026, 12, 7, 16, 59, 59), "completed", path=MAIN_BILL),
            # 09:00 local: two answered, in 10 s (within 20) and 30 s; talk 200 s and 100 s
            call(5, datetime(2026, 12, 7, 2, 0), "queued", ivr_s=30, operator="op07",
                 wait_s=10, ended_s=210, queue_status="ANSWERED", path=MAIN_OPERATOR),
            call(6, datetime(2026, 12, 7, 2, 10), "queued", ivr_s=40, operator="op08",
                 wait_s=30, ended_s=130, queue_status="ANSWERED", path=MAIN_OPERATOR),
            # 10:00 local: an overflow caller gone in 3 s (a short abandon), a caller gone after
            # 60 s, and one who booked a callback (let go, not abandoned)
            call(7, datetime(2026, 12, 7, 3, 0), "overflow", ended_s=3),
            call(8, datetime(2026, 12, 7, 3, 5), "queued", ivr_s=20, ended_s=60,
                 path=MAIN_OPERATOR),
            call(9, datetime(2026, 12, 7, 3, 10), "queued", ivr_s=25, ended_s=90,
                 queue_status="CALLBACK", path=MAIN_OPERATOR),
            # 11:00 local: hung up in the IVR (neither served by it nor transferred)
            call(10, datetime(2026, 12, 7, 4, 0), "abandoned", path=[{"node": "main"}]),
        ])
        s.add_all([
            # PCSG: one opened this day; one from the day before resolved this day
            *request(1, 1, datetime(2026, 12, 7, 2, 0), datetime(2026, 12, 8, 2, 0)),
            *request(2, 1, datetime(2026, 12, 6, 16, 30), datetime(2026, 12, 7, 10, 0),
                     ((datetime(2026, 12, 7, 5, 0), "resolved"),)),
            # PCCL: overdue still; overdue at the day's end but resolved the day after; opened at
            # local 23:59:59; opened at local 00:00 the next day (not this day's)
            *request(3, 2, datetime(2026, 12, 5), datetime(2026, 12, 6),
                     ((datetime(2026, 12, 5, 1), "forwarded"),)),
            *request(4, 2, datetime(2026, 12, 5), datetime(2026, 12, 6),
                     ((datetime(2026, 12, 8, 1), "resolved"),)),
            *request(5, 2, datetime(2026, 12, 7, 16, 59, 59), datetime(2026, 12, 9)),
            *request(6, 2, datetime(2026, 12, 7, 17, 0, 0), datetime(2026, 12, 9)),
        ])
        s.commit()
        yield s
    engine.dispose()


def test_the_days_calls_counted_exactly(session: Session) -> None:
    report = daily_report(session, DAY, now=LATER)
    assert (report.offered, report.ivr_only, report.transferred, report.answered,
            report.abandoned, report.short_abandons, report.answered_in_threshold) == (
        8, 2, 5, 2, 2, 1, 1)
    assert report.service_level == pytest.approx(1 / 4)  # answered in 20 s / (5 - 1 short)
    assert report.asa_s == pytest.approx(20.0)
    assert report.aht_s == pytest.approx(150.0)


def test_calls_by_local_hour(session: Session) -> None:
    hours = {h.hour: (h.offered, h.transferred, h.answered, h.abandoned)
             for h in daily_report(session, DAY, now=LATER).hours if h.offered}
    assert hours == {0: (1, 0, 0, 0), 9: (2, 2, 2, 0), 10: (3, 3, 0, 2), 11: (1, 0, 0, 0),
                     23: (1, 0, 0, 0)}


def test_top_menu_paths(session: Session) -> None:
    assert daily_report(session, DAY, now=LATER).paths == (
        ("main > operator", 4), ("main > bill", 2), ("main", 1))
    assert menu_path(MAIN_BILL) == "main > bill"


def test_requests_per_district_company(session: Session) -> None:
    assert daily_report(session, DAY, now=LATER).districts == (
        DistrictRow("PCCL", "Công ty Điện lực Chợ Lớn", opened=1, closed=0, overdue=2),
        DistrictRow("PCSG", "Công ty Điện lực Sài Gòn", opened=1, closed=1, overdue=0))


def test_today_counts_overdue_as_of_now(session: Session) -> None:
    # at 12:00 UTC on the day request 1 is not yet due; request 2 was resolved at 05:00
    now = datetime(2026, 12, 7, 12, 0)
    pcsg = daily_report(session, DAY, now=now).districts[1]
    assert (pcsg.opened, pcsg.closed, pcsg.overdue) == (1, 1, 0)
    # at 04:00 UTC request 2 (due 10:00) is open and not due; requests 3 and 4 are overdue
    early = daily_report(session, DAY, now=datetime(2026, 12, 7, 4, 0)).districts
    assert [d.overdue for d in early] == [2, 0]
    # request 4, due the day before and resolved the day after, was overdue all that day
    assert daily_report(session, date(2026, 12, 6), now=LATER).districts[0].overdue == 2


def test_a_threshold_of_40_s_counts_both_answers(session: Session) -> None:
    report = daily_report(session, DAY, threshold_s=40, now=LATER)
    assert report.answered_in_threshold == 2
    assert report.service_level == pytest.approx(0.5)


def test_an_empty_day_has_no_rates(session: Session) -> None:
    report = daily_report(session, date(2026, 1, 1), now=LATER)
    assert (report.offered, report.service_level, report.asa_s, report.aht_s) == (
        0, None, None, None)
    assert len(report.hours) == 24


def test_csv_rows_carry_the_figures(session: Session) -> None:
    rows = csv_rows(daily_report(session, DAY, now=LATER))
    assert ("calls", "offered", "8") in rows
    assert ("calls", "service_level_pct", "25.0") in rows
    assert ("hour 10", "abandoned", "2") in rows
    assert ("menu path", "main > operator", "4") in rows
    assert ("requests PCCL", "overdue", "2") in rows


def test_days_and_bad_days() -> None:
    assert parse_day("2026-12-07") == DAY
    assert parse_day(None, today=DAY) == DAY
    assert parse_day("", today=DAY) == DAY
    assert day_bounds(DAY) == (datetime(2026, 12, 6, 17), datetime(2026, 12, 7, 17))
    assert local_today(datetime(2026, 12, 6, 17, 0)) == DAY
    assert local_today(datetime(2026, 12, 6, 16, 59, 59)) == date(2026, 12, 6)
    for bad in ("2026-13-01", "07/12/2026", "yesterday", "2026-02-30"):
        with pytest.raises(ReportError, match="YYYY-MM-DD"):
            parse_day(bad)


def test_the_report_is_a_frozen_dataclass(session: Session) -> None:
    report = daily_report(session, DAY, now=LATER)
    assert isinstance(report, DailyReport)
    with pytest.raises(AttributeError):
        report.offered = 0  # type: ignore[misc]
