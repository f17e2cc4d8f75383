"""The daily report (``/report?day=YYYY-MM-DD``, supervisors and admins): one local day of calls
and requests (:mod:`records.report`), with calls by hour as an SVG bar chart drawn on the
server (no script), and the same figures as CSV (``/report.csv?day=``, or ``&format=csv``).
A missing day is today (local); a day that is no date is one clear error (400)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from records.report import (
    CSV_HEADER,
    DailyReport,
    HourRow,
    ReportError,
    csv_rows,
    daily_report,
    parse_day,
)

from ..auth import Principal, context, require
from ..permissions import Permission

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]
Day = Annotated[str | None, Query(max_length=40)]
Threshold = Annotated[int, Query(ge=1, le=600, description="service level threshold, s")]
FORMATS = ("html", "csv")

CHART_HEIGHT = 120  # px of the tallest bar
BAR_WIDTH, BAR_GAP = 18, 6


@dataclass(frozen=True)
class Bar:
    hour: int
    x: int
    offered_y: int
    offered_h: int
    answered_y: int
    answered_h: int
    offered: int
    answered: int


def bars(hours: tuple[HourRow, ...]) -> list[Bar]:
    """The chart's bars: offered per local hour, the answered part drawn over it."""
    top = max((h.offered for h in hours), default=0) or 1
    found = []
    for h in hours:
        offered = round(CHART_HEIGHT * h.offered / top)
        answered = round(CHART_HEIGHT * h.answered / top)
        found.append(Bar(h.hour, h.hour * (BAR_WIDTH + BAR_GAP), CHART_HEIGHT - offered, offered,
                         CHART_HEIGHT - answered, answered, h.offered, h.answered))
    return found


async def _report(request: Request, day: str | None, threshold: int) -> DailyReport:
    try:
        wanted = parse_day(day)
    except ReportError as exc:
        raise HTTPException(400, str(exc)) from None
    return await context(request).records.run(
        lambda session: daily_report(session, wanted, threshold_s=threshold), timeout=15)


def _csv(report: DailyReport) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    # a byte-order mark, so that a spreadsheet reads the Vietnamese names as UTF-8
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="report-{report.day.isoformat()}.csv"'})


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


@router.get("/report", response_class=HTMLResponse)
async def report_page(request: Request, who: Reader, day: Day = None, threshold: Threshold = 20,
                      format: Annotated[str, Query(max_length=8)] = "html") -> Response:
    if format not in FORMATS:
        raise HTTPException(400, f"format {format[:8]!r} is not one of {', '.join(FORMATS)}")
    report = await _report(request, day, threshold)
    if format == "csv":
        return _csv(report)
    values: dict[str, Any] = {
        "who": who, "report": report, "bars": bars(report.hours), "percent": _percent,
        "seconds": _seconds, "chart_height": CHART_HEIGHT, "bar_width": BAR_WIDTH,
        "chart_width": 24 * (BAR_WIDTH + BAR_GAP)}
    return HTMLResponse(context(request).templates.get_template("report.html").render(values))


@router.get("/report.csv")
async def report_csv(request: Request, who: Reader, day: Day = None,
                     threshold: Threshold = 20) -> Response:
    return _csv(await _report(request, day, threshold))
