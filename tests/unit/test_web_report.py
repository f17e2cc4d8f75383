"""The daily report page and its CSV over ASGI: real Redis, a migrated SQLite database with
known calls and requests; the figures as records/report.py computes them (tests/unit/
test_report.py checks those exactly), the day's errors, and who may read it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from records.database import make_engine, make_sessions
from records.models import Call, DistrictCompany, Request
from records.report import local_today
from web.accounts import Account, Role

from .web_site import asgi_client, web_settings

HOSTILE = "<script>alert(1)</script> Điện lực"


@pytest.fixture
async def site(tmp_path: Path, redis_server: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = await web_settings(tmp_path, redis_server)
    engine = make_engine(settings.database_url)
    with make_sessions(engine)() as s:
        s.add(DistrictCompany(id=1, code="PCSG", name=HOSTILE))
        s.flush()
        s.add_all([
            # 2026-12-07 local: 00:00:00, 09:00 (answered in 12 s), 09:05 (abandoned after 40 s)
            Call(call_id="c1", started_at=datetime(2026, 12, 6, 17, 0), outcome="completed",
                 path=[{"node": "main"}, {"node": "bill"}]),
            Call(call_id="c2", started_at=datetime(2026, 12, 7, 2, 0), outcome="queued",
                 ivr_ended_at=datetime(2026, 12, 7, 2, 0, 20), operator="op07",
                 queue_wait_s=12.0, ended_at=datetime(2026, 12, 7, 2, 3, 32),
                 path=[{"node": "main"}, {"node": "operator"}]),
            Call(call_id="c3", started_at=datetime(2026, 12, 7, 2, 5), outcome="queued",
                 ivr_ended_at=datetime(2026, 12, 7, 2, 5, 20),
                 ended_at=datetime(2026, 12, 7, 2, 6), path=[{"node": "main"}, {"node": "operator"}]),
            # 2026-12-08 local, 00:00:00: another day
            Call(call_id="c4", started_at=datetime(2026, 12, 7, 17, 0), outcome="completed"),
            Request(number="R1", type="advice", district_company_id=1, status="forwarded",
                    created_at=datetime(2026, 12, 7, 3, 0), deadline_at=datetime(2026, 12, 7, 9)),
        ])
        s.commit()
    engine.dispose()
    async with asgi_client(settings) as client:
        yield client


async def _as(site: httpx.AsyncClient, account: Account) -> None:
    web = site._transport.app.state.web  # type: ignore[attr-defined]
    site.cookies.set("hotline_session", await web.sessions.create(account))


SUPERVISOR = Account("supervisor", Role.SUPERVISOR)


async def test_the_page_shows_the_days_figures(site: httpx.AsyncClient) -> None:
    await _as(site, SUPERVISOR)
    page = await site.get("/report", params={"day": "2026-12-07"})
    assert page.status_code == 200
    text = page.text
    assert "Calls on 07/12/2026" in text
    assert "<tr><th>Offered</th><td>3</td></tr>" in text
    assert "<tr><th>Transferred to operators</th><td>2</td></tr>" in text
    assert "50.0 %" in text   # 1 answered within 20 s of 2 transferred
    assert "12 s" in text     # ASA
    assert "180 s" in text    # AHT: 20 s in the IVR, 12 s waiting, 180 s talking
    assert "<td>main &gt; operator</td><td>2</td>" in text
    assert text.count("<rect ") == 48  # 24 hours, offered and answered
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<td>1</td><td>0</td><td>1</td>" in text  # opened, closed, overdue


async def test_the_csv_has_the_same_figures(site: httpx.AsyncClient) -> None:
    await _as(site, SUPERVISOR)
    download = await site.get("/report.csv", params={"day": "2026-12-07", "threshold": "10"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == \
        'attachment; filename="report-2026-12-07.csv"'
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "item", "value"]
    assert ["calls", "offered", "3"] in rows
    assert ["calls", "answered_in_threshold", "0"] in rows  # 12 s is not within 10
    assert ["day", "service_level_threshold_s", "10"] in rows
    assert ["hour 09", "abandoned", "1"] in rows
    assert ["requests PCSG", "overdue", "1"] in rows
    same = await site.get("/report", params={"day": "2026-12-07", "threshold": "10",
                                             "format": "csv"})
    assert same.content == download.content


async def test_without_a_day_it_is_today(site: httpx.AsyncClient) -> None:
    await _as(site, SUPERVISOR)
    page = await site.get("/report")
    assert page.status_code == 200
    assert f'value="{local_today().isoformat()}"' in page.text


@pytest.mark.parametrize(("query", "status", "message"), [
    ({"day": "07/12/2026"}, 400, "is not a date: give it as YYYY-MM-DD"),
    ({"day": "2026-02-30"}, 400, "is not a date: give it as YYYY-MM-DD"),
    ({"day": "2026-12-07", "format": "pdf"}, 400, "is not one of html, csv"),
    ({"day": "2026-12-07", "threshold": "0"}, 422, "threshold"),
])
async def test_a_bad_request_is_one_clear_error(site: httpx.AsyncClient, query: dict[str, str],
                                                status: int, message: str) -> None:
    await _as(site, SUPERVISOR)
    for path in ("/report", "/report.csv"):
        if "format" in query and path == "/report.csv":
            continue
        answer = await site.get(path, params=query)
        assert answer.status_code == status, path
        assert message in answer.text
        assert answer.text.count('class="problem"') == 1


@pytest.mark.parametrize("account", [Account("op07", Role.OPERATOR, agent_id="op07"),
                                     Account("district-pcsg", Role.DISTRICT,
                                             district_code="PCSG")])
async def test_operators_and_districts_are_refused(site: httpx.AsyncClient,
                                                   account: Account) -> None:
    await _as(site, account)
    for path in ("/report", "/report.csv"):
        answer = await site.get(path, params={"day": "2026-12-07"})
        assert answer.status_code == 403
        assert "Offered" not in answer.text and "offered" not in answer.text


async def test_an_admin_reads_it(site: httpx.AsyncClient) -> None:
    await _as(site, Account("admin", Role.ADMIN))
    assert (await site.get("/report", params={"day": "2026-12-07"})).status_code == 200
