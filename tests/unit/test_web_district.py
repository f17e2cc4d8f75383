"""The district company portal (``/district``) over ASGI, on the session's real Redis and a
migrated SQLite database with the demo records: a company sees its own requests by deadline,
accepts one and marks it done, every change in the records with who and when; another company
neither sees nor moves it; every bad input is one clear error and changes nothing."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from records import history, requests
from records.clock import utcnow
from records.database import make_engine, make_sessions
from records.demo import DEMO, load_demo
from records.models import Customer
from records.rules import DEFAULT_RULES
from web.accounts import Account, Role

from .web_site import asgi_client, web_settings

HTML_NAME = '<script>alert("x")</script> Nguyễn <b>Văn</b> An'
ACCOUNTS = {"pcsg": Account("district-pcsg", Role.DISTRICT, district_code="PCSG"),
            "pccl": Account("district-pccl", Role.DISTRICT, district_code="PCCL"),
            "supervisor": Account("supervisor", Role.SUPERVISOR),
            "admin": Account("admin", Role.ADMIN),
            "op07": Account("op07", Role.OPERATOR, agent_id="op07")}


@dataclass
class Portal:
    client: httpx.AsyncClient
    records: sessionmaker[Session]
    overdue: str    # a PCSG request past its deadline
    cholon: str     # a PCCL request

    async def as_(self, who: str) -> None:
        """Log the client in as ``who`` (a session, as the login page makes it)."""
        web = self.client._transport.app.state.web  # type: ignore[attr-defined]
        self.client.cookies.set("hotline_session", await web.sessions.create(ACCOUNTS[who]))

    async def change(self, number: str, action: str, note: str = "",
                     csrf: str | None = None) -> httpx.Response:
        if csrf is None:
            page = await self.client.get("/district")
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            csrf = found.group(1) if found else ""
        return await self.client.post(f"/district/requests/{number}",
                                      data={"action": action, "note": note,
                                            "csrf_token": csrf})

    def detail(self, number: str) -> history.RequestDetail:
        with self.records() as session:
            found = history.request_detail(session, number)
        assert found is not None
        return found


@pytest.fixture
async def portal(tmp_path: Path, redis_server: str) -> AsyncIterator[Portal]:
    settings = await web_settings(tmp_path, redis_server)
    engine = make_engine(settings.database_url)
    records = make_sessions(engine)
    with records() as session:
        load_demo(session)
        session.execute(update(Customer).where(Customer.code == DEMO.customer_code)
                        .values(name=HTML_NAME))
        session.commit()
        an, binh = (session.query(Customer.id).filter(Customer.code == code).scalar()
                    for code in (DEMO.customer_code, DEMO.other_customer_code))
        overdue = requests.create(session, DEFAULT_RULES, request_type="outage_report",
                                  actor="ivr", customer_id=an, description="Cháy công tơ",
                                  now=utcnow() - dt.timedelta(days=3)).number
        cholon = requests.create(session, DEFAULT_RULES, request_type="outage_report",
                                 actor="op07", customer_id=binh,
                                 description="Mất điện Chợ Lớn").number
    async with asgi_client(settings) as client:
        yield Portal(client, records, overdue, cholon)
    engine.dispose()


async def test_a_district_company_sees_its_requests_by_deadline(portal: Portal) -> None:
    await portal.as_("pcsg")
    page = await portal.client.get("/district")
    assert page.status_code == 200
    text = page.text
    assert text.index(f'id="r{portal.overdue}"') < text.index(f'id="r{DEMO.request_number}"')
    overdue = text[text.index(f'id="r{portal.overdue}"'):text.index(f'id="r{DEMO.request_number}"')]
    assert "overdue by" in overdue and "Cháy công tơ" in overdue
    assert portal.cholon not in text and "Mất điện Chợ Lớn" not in text
    assert "Mất điện cả hẻm" in text and "forwarded to the district company" in text
    # the customer's name is text, never markup
    assert "<script>alert" not in text and "<b>Văn</b>" not in text
    assert html.escape(HTML_NAME, quote=False) in text.replace("&#34;", '"')
    home = await portal.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/district"


async def test_accept_then_done_is_recorded_with_who_and_when(portal: Portal) -> None:
    await portal.as_("pcsg")
    before = utcnow()
    accepted = await portal.change(DEMO.request_number, "accept", "Đội 3 đang đến")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/district#r{DEMO.request_number}"
    detail = portal.detail(DEMO.request_number)
    assert detail.request.status == "forwarded"  # accepted, not yet under way
    last = detail.changes[-1]
    assert (last.actor, last.note) == ("district:PCSG", "accepted: Đội 3 đang đến")
    assert before - dt.timedelta(seconds=1) <= last.at <= utcnow()
    assert (await portal.change(DEMO.request_number, "in_progress")).status_code == 303
    done = await portal.change(DEMO.request_number, "done", "Đã đóng điện lại; báo khách")
    assert done.status_code == 303
    detail = portal.detail(DEMO.request_number)  # what the API and the screen pop read
    assert detail.request.status == "resolved"
    assert [(c.status, c.actor) for c in detail.changes[-3:]] == [
        ("forwarded", "district:PCSG"), ("in_progress", "district:PCSG"),
        ("resolved", "district:PCSG")]
    page = (await portal.client.get("/district")).text
    shown = page[page.index('id="finished-requests"'):]
    assert f'id="r{DEMO.request_number}"' in shown and "Đã đóng điện lại; báo khách" in shown
    assert "district:PCSG" in shown
    await portal.as_("supervisor")  # the centre, through the API, at once
    seen = (await portal.client.get(f"/api/v1/requests/{DEMO.request_number}")).json()
    assert seen["status"] == "resolved" and seen["changes"][-1]["actor"] == "district:PCSG"


async def test_another_company_neither_sees_nor_moves_the_request(portal: Portal) -> None:
    await portal.as_("pccl")
    page = await portal.client.get("/district")
    assert page.status_code == 200 and portal.cholon in page.text
    assert DEMO.request_number not in page.text and "Nguyễn" not in page.text
    assert (await portal.client.get("/district", params={"code": "PCSG"})).status_code == 403
    for action in ("accept", "done", "note"):
        refused = await portal.change(DEMO.request_number, action, "không phải của tôi")
        assert refused.status_code == 404
        assert "Nguyễn" not in refused.text and "Mất điện cả hẻm" not in refused.text
    assert [c.actor for c in portal.detail(DEMO.request_number).changes] == ["op07", "op07"]


async def test_every_bad_input_is_one_clear_error_and_changes_nothing(portal: Portal) -> None:
    await portal.as_("pcsg")
    number = DEMO.request_number
    unknown = await portal.change(number, "approve", "giữ lại ghi chú này")
    assert unknown.status_code == 422 and "is not a change the portal makes" in unknown.text
    assert "giữ lại ghi chú này</textarea>" in unknown.text  # the note as typed
    no_reason = await portal.change(number, "cannot", "   ")
    assert no_reason.status_code == 422 and "the reason is required" in no_reason.text
    assert (await portal.change(number, "note", "")).status_code == 422
    missing = await portal.change("99999999", "accept")
    assert missing.status_code == 404 and "no request 99999999" in missing.text
    stale = await portal.change(number, "accept", csrf="not-the-token")
    assert stale.status_code == 403 and "CSRF" in stale.text
    assert len(portal.detail(number).changes) == 2  # nothing recorded
    cannot = await portal.change(number, "cannot", "Lưới điện của tổng công ty, không phải "
                                                   "của chúng tôi")
    assert cannot.status_code == 303
    assert portal.detail(number).request.status == "cancelled"
    late = await portal.change(number, "accept")
    assert late.status_code == 409 and f"request {number} is cancelled" in late.text
    assert portal.detail(number).changes[-1].note.startswith("Lưới điện")


async def test_the_centre_may_look_and_a_supervisor_may_move(portal: Portal) -> None:
    await portal.as_("op07")
    assert (await portal.client.get("/district")).status_code == 403
    await portal.as_("admin")
    companies = await portal.client.get("/district")
    assert companies.status_code == 200 and "/district?code=PCCL" in companies.text
    looked = await portal.client.get("/district", params={"code": "PCCL"})
    assert looked.status_code == 200 and portal.cholon in looked.text
    assert 'name="action"' not in looked.text  # an admin looks, it does not move
    assert (await portal.change(portal.cholon, "accept")).status_code == 403
    await portal.as_("supervisor")
    assert (await portal.client.get("/district", params={"code": "XX"})).status_code == 404
    moved = await portal.change(portal.cholon, "in_progress", "giám sát viên nhận")
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/district?code=PCCL#r{portal.cholon}"
    assert portal.detail(portal.cholon).changes[-1].actor == "supervisor"
