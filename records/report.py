"""The daily report: one local day (Asia/Ho_Chi_Minh, UTC+7, no daylight saving) of calls and
requests, as ../shared/CALLCENTRE.md defines the measures.

A call belongs to the local day it started in. Of those calls:

* offered: every call to the hotline;
* served by the IVR alone: the IVR took the caller to its goodbye (outcome ``completed``);
* transferred: handed to the operators' queue (``queued``, ``overflow``, ``fallback``); these are
  the queue's offered callers, the base of service level;
* answered: an operator took the call (the record names the operator);
* abandoned: a transferred caller who hung up unanswered (not one the system let go: a callback
  booked, the maximum wait, no operator at all). A short abandon hung up within
  ``short_abandon_s`` of entering the queue: counted apart, left out of service level;
* service level: answered within ``threshold_s`` / (transferred - short abandons);
* ASA: the mean queue wait of answered callers;
* AHT: the mean time from the operator's answer to the hang-up per answered call (the records
  keep no hold or wrap-up time apart: talk and hold are in it, wrap-up is not).

Entering the queue is leaving the IVR (``ivr_ended_at``), or the call's start for a caller who
never reached the IVR. Requests per district company: opened that day, closed that day
(resolved, closed or cancelled), and overdue at the day's end (or now, for today): open at that
moment with the deadline passed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .lookups import OPEN_STATUSES
from .models import Call, DistrictCompany, Request, RequestEvent

LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh; the records keep naive UTC
TRANSFERRED = ("queued", "overflow", "fallback")
CLOSING = ("resolved", "closed", "cancelled")
#: how a transferred caller left unanswered without hanging up: the ACD's overflow reasons (a
#: callback booked, or the announcement: acd/service_joins.py) and app_queue's QUEUESTATUS
LET_GO = ("CALLBACK", "MAX_WAIT", "NO_OPERATOR", "QUEUE_FULL", "TIMEOUT", "JOINEMPTY",
          "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "FULL")
TOP_PATHS = 10


class ReportError(ValueError):
    """A day that is no day."""


def parse_day(text: str | None, today: date | None = None) -> date:
    """``YYYY-MM-DD``; nothing (or blank) is today, local time."""
    if text is None or not text.strip():
        return today or local_today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"day {text.strip()[:40]!r} is not a date: give it as YYYY-MM-DD "
                          f"(e.g. 2026-12-07)") from None


def local_today(now: datetime | None = None) -> date:
    return ((now or utcnow()) + LOCAL).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as naive UTC: [start, end)."""
    start = datetime.combine(day, time()) - LOCAL
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class HourRow:
    hour: int  # local
    offered: int
    transferred: int
    answered: int
    abandoned: int


@dataclass(frozen=True)
class DistrictRow:
    code: str
    name: str
    opened: int
    closed: int
    overdue: int


@dataclass(frozen=True)
class DailyReport:
    day: date
    threshold_s: float
    short_abandon_s: float
    offered: int
    ivr_only: int
    transferred: int
    answered: int
    abandoned: int  # short abandons included
    short_abandons: int
    answered_in_threshold: int
    service_level: float | None  # 0..1; None when nobody counts
    asa_s: float | None
    aht_s: float | None
    hours: tuple[HourRow, ...]
    paths: tuple[tuple[str, int], ...]  # the most taken IVR paths, most first
    districts: tuple[DistrictRow, ...]


def menu_path(path: list[dict[str, Any]] | None) -> str:
    """The IVR menus a call went through, in order (a node repeated in a row counts once)."""
    nodes: list[str] = []
    for entry in path or []:
        node = entry.get("node") if isinstance(entry, dict) else None
        if node and (not nodes or nodes[-1] != node):
            nodes.append(str(node))
    return " > ".join(nodes)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def daily_report(session: Session, day: date, *, threshold_s: float = 20,
                 short_abandon_s: float = 5, now: datetime | None = None) -> DailyReport:
    start, end = day_bounds(day)
    rows = session.execute(
        select(Call.started_at, Call.ended_at, Call.ivr_ended_at, Call.outcome,
               Call.queue_status, Call.queue_wait_s, Call.operator, Call.path)
        .where(Call.started_at >= start, Call.started_at < end)).all()
    hours = {h: Counter[str]() for h in range(24)}
    paths: Counter[str] = Counter()
    ivr_only = transferred = answered = abandoned = short = in_threshold = 0
    waits: list[float] = []
    handles: list[float] = []
    for started, ended, ivr_ended, outcome, status, wait, operator, path in rows:
        hour = hours[(started + LOCAL).hour]
        hour["offered"] += 1
        walked = menu_path(path)
        if walked:
            paths[walked] += 1
        if outcome == "completed" and operator is None:
            ivr_only += 1
        if outcome not in TRANSFERRED and operator is None:
            continue
        transferred += 1
        hour["transferred"] += 1
        entered = ivr_ended or started
        if operator is not None:
            answered += 1
            hour["answered"] += 1
            if wait is not None:
                waits.append(wait)
                in_threshold += wait <= threshold_s
                if ended is not None:
                    handles.append(max(0.0, (ended - entered).total_seconds() - wait))
        elif (status or "").upper() not in LET_GO:
            abandoned += 1
            hour["abandoned"] += 1
            if ended is not None and (ended - entered).total_seconds() < short_abandon_s:
                short += 1
    counted = transferred - short
    return DailyReport(
        day=day, threshold_s=threshold_s, short_abandon_s=short_abandon_s, offered=len(rows),
        ivr_only=ivr_only, transferred=transferred, answered=answered, abandoned=abandoned,
        short_abandons=short, answered_in_threshold=in_threshold,
        service_level=in_threshold / counted if counted > 0 else None,
        asa_s=_mean(waits), aht_s=_mean(handles),
        hours=tuple(HourRow(h, c["offered"], c["transferred"], c["answered"], c["abandoned"])
                    for h, c in hours.items()),
        paths=tuple(sorted(paths.items(), key=lambda p: (-p[1], p[0]))[:TOP_PATHS]),
        districts=_districts(session, start, end, min(end, now or utcnow())))


def _per_district(session: Session, query: Select) -> Counter[int | None]:  # type: ignore[type-arg]
    """``query`` (a request id column selected, conditions set) counted per district company."""
    rows = session.execute(query.add_columns(Request.district_company_id)
                           .group_by(Request.district_company_id)).all()
    return Counter({district: int(count) for count, district in rows})


def _districts(session: Session, start: datetime, end: datetime, moment: datetime
               ) -> tuple[DistrictRow, ...]:
    opened = _per_district(session, select(func.count(Request.id))
                           .where(Request.created_at >= start, Request.created_at < end))
    closed = _per_district(session, select(func.count(Request.id)).where(
        exists().where(RequestEvent.request_id == Request.id, RequestEvent.at >= start,
                       RequestEvent.at < end, RequestEvent.status.in_(CLOSING))))
    overdue = _per_district(session, _overdue_at(moment))
    companies = session.execute(select(DistrictCompany.id, DistrictCompany.code,
                                       DistrictCompany.name).order_by(DistrictCompany.code))
    found = [DistrictRow(code, name, opened[cid], closed[cid], overdue[cid])
             for cid, code, name in companies]
    if opened[None] or closed[None] or overdue[None]:
        found.append(DistrictRow("", "no district company", opened[None], closed[None],
                                 overdue[None]))
    return tuple(found)


def _overdue_at(moment: datetime) -> Select:  # type: ignore[type-arg]
    """The requests open at ``moment`` with their deadline passed: their last change up to then
    left them open (only a request open now, or changed since, can have been)."""
    status_then = (select(RequestEvent.status)
                   .where(RequestEvent.request_id == Request.id, RequestEvent.at <= moment)
                   .order_by(RequestEvent.at.desc(), RequestEvent.id.desc()).limit(1)
                   .correlate(Request).scalar_subquery())
    return select(func.count(Request.id)).where(
        Request.created_at <= moment, Request.deadline_at < moment,
        Request.status.in_(OPEN_STATUSES)
        | exists().where(RequestEvent.request_id == Request.id, RequestEvent.at > moment),
        func.coalesce(status_then, "open").in_(OPEN_STATUSES))


CSV_HEADER = ("section", "item", "value")


def csv_rows(report: DailyReport) -> list[tuple[str, str, str]]:
    """The report as (section, item, value) rows: one flat table a spreadsheet reads."""
    def number(value: float | None, digits: int = 1) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    rows = [("day", "date", report.day.isoformat()),
            ("day", "service_level_threshold_s", f"{report.threshold_s:g}"),
            ("day", "short_abandon_s", f"{report.short_abandon_s:g}")]
    for item in ("offered", "ivr_only", "transferred", "answered", "abandoned",
                 "short_abandons", "answered_in_threshold"):
        rows.append(("calls", item, str(getattr(report, item))))
    rows += [("calls", "service_level_pct",
              number(None if report.service_level is None else report.service_level * 100)),
             ("calls", "asa_s", number(report.asa_s)), ("calls", "aht_s", number(report.aht_s))]
    for h in report.hours:
        for item in ("offered", "transferred", "answered", "abandoned"):
            rows.append((f"hour {h.hour:02d}", item, str(getattr(h, item))))
    rows += [("menu path", walked, str(count)) for walked, count in report.paths]
    for d in report.districts:
        for item in ("opened", "closed", "overdue"):
            rows.append((f"requests {d.code or '-'}", item, str(getattr(d, item))))
    return rows


def text_lines(report: DailyReport) -> list[str]:
    """The report for a terminal."""
    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f} %"

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} s"

    t = f"{report.threshold_s:g}"
    lines = [f"Daily report {report.day.isoformat()} (Asia/Ho_Chi_Minh)",
             f"  offered                  {report.offered}",
             f"  served by the IVR alone  {report.ivr_only}",
             f"  transferred              {report.transferred}",
             f"  answered                 {report.answered}",
             (f"  abandoned                {report.abandoned} ({report.short_abandons} short, "
              f"under {report.short_abandon_s:g} s)"),
             (f"  service level ({t} s)    {rate(report.service_level)} "
              f"({report.answered_in_threshold} answered within {t} s)"),
             f"  ASA                      {secs(report.asa_s)}",
             f"  AHT                      {secs(report.aht_s)}",
             "Calls by hour: offered, transferred, answered, abandoned"]
    lines += [f"  {h.hour:02d}:00  {h.offered:>6} {h.transferred:>6} {h.answered:>6} "
              f"{h.abandoned:>6}" for h in report.hours if h.offered]
    lines.append("Top menu paths")
    lines += [f"  {count:>6}  {walked}" for walked, count in report.paths] or ["  none"]
    lines.append("Requests per district company: opened, closed, overdue at the day's end")
    lines += [f"  {d.code or '-':<8} {d.opened:>6} {d.closed:>6} {d.overdue:>6}  {d.name}"
              for d in report.districts] or ["  none"]
    return lines
