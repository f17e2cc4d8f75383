"""The operator's desk in headless Chromium, on the hotline `hotline up` serves: op08 logs in,
its state follows the phone's feature codes and the phone follows the desk; a real SIPp call
pressing 0 rings op08's SIPp phone and the screen pop shows the caller's customer within 300 ms
of the ring; op08 creates a request (forwarded to the customer's district company, its number
shown) and gives a wrap-up code, and the call's record shows both. A customer name holding HTML
shows as text, and no page or log holds a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page
from sqlalchemy import select

from hotline import processes
from hotline.sipagent import SippOperator
from hotline.sipcall import CallPlan, place, wait_for_records
from records.database import make_engine, make_sessions
from records.demo import DEMO
from records.models import (
    Call,
    CallRequest,
    Customer,
    CustomerPhone,
    DistrictCompany,
    Request,
    WebAccount,
)

from .browser import RECORD_SSE
from .conftest import Hotline
from .test_acd import agent

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
SETTINGS = {"acd_wrap_up_s": 120.0}  # the wrap-up lasts until the operator gives a code
OPERATOR = "op08"  # general 5: taken at once by a caller pressing 0
POP_WITHIN_S = 0.3
SEEN: list[str] = []  # every page the tests saw, for the secrets check


def url(hotline: Hotline, path: str = "") -> str:
    return processes.web_url(hotline.settings) + path


@pytest_asyncio.fixture(loop_scope="session")
async def desk(hotline: Hotline, browser: Browser) -> AsyncIterator[Page]:
    """op08 logged in to its desk (and logged out of calls afterwards)."""
    context = await browser.new_context(bypass_csp=True)  # the tests evaluate scripts
    page = await context.new_page()
    await page.add_init_script(RECORD_SSE)
    try:
        await page.goto(url(hotline, "/desk"))
        assert page.url.startswith(url(hotline, "/login")), page.url  # sent to log in first
        await page.fill("input[name=username]", OPERATOR)
        await page.fill("input[name=password]", hotline.settings.web_passwords[OPERATOR])
        await page.click("button[type=submit]")
        await page.wait_for_url(url(hotline, "/desk"))
        await page.wait_for_function("window.__sse.some(e => e.type === 'state')")  # live
    except Exception as exc:  # what the web said, for whoever reads the failure
        web_log = hotline.settings.logs / "web.log"
        exc.add_note(f"page {page.url}; web pid {processes.web_pid(hotline.settings)}; "
                     f"web.log ends:\n{web_log.read_text(errors='replace')[-3000:]}")
        await context.close()
        raise
    try:
        yield page
    finally:
        SEEN.append(await page.content())
        await context.close()
        processes.controller_request(hotline.settings, f"agent {OPERATOR} logout")


def reachable(hotline: Hotline, operator: str, timeout_s: float = 45) -> None:
    """Wait until Asterisk has found the operator's phone reachable: its check (OPTIONS) right
    after the REGISTER can find nobody while the test phone's answering process starts, and
    then the next check is qualify_frequency (30 s) later; an offer before it fails at once."""
    def avail() -> bool:
        shown = processes.asterisk_cli(hotline.settings, f"pjsip show aor {operator}")
        return any(line.split()[:1] == ["Contact:"] and "Avail" in line.split()
                   for line in shown.splitlines())
    hotline.wait_until(avail, timeout_s, f"{operator}'s phone reachable")


async def state_shown(page: Page, name: str, timeout_s: float = 10) -> None:
    await page.wait_for_function(
        "name => document.querySelector('#state-name')?.textContent === name", arg=name,
        timeout=timeout_s * 1000)


async def feature_code(hotline: Hotline, code: str) -> None:
    """op08 dials a feature code from its own SIP account (as its phone does)."""
    settings = hotline.settings
    plan = CallPlan(number=code, account=(OPERATOR, settings.operator_passwords[OPERATOR]),
                    max_call_s=30)
    await asyncio.to_thread(place, plan, "127.0.0.1", settings.sip_port)


async def test_the_desk_and_the_phone_are_one_state(hotline: Hotline, desk: Page) -> None:
    await state_shown(desk, "Logged out")
    await desk.click("text=Log in to take calls")                  # the desk ...
    await state_shown(desk, "Available")
    assert agent(hotline, OPERATOR)["state"] == "available"         # ... is the ACD's state
    await feature_code(hotline, "*232")                            # the phone: pause, meal
    await state_shown(desk, "Paused")                              # live on the page
    assert "reason: meal" in await desk.inner_text("#state")
    await desk.click("#state >> text=Available")
    await state_shown(desk, "Available")
    await feature_code(hotline, "*22")                             # the phone logs out
    await state_shown(desk, "Logged out")


async def test_a_ringing_call_pops_the_customer_and_the_operator_files_a_request(
        hotline: Hotline, desk: Page) -> None:
    settings = hotline.settings
    phone = SippOperator(OPERATOR, settings.operator_passwords[OPERATOR], "127.0.0.1",
                         settings.sip_port, answer="after:1000", talk_s=6.0, wait_s=120)
    phone.start()
    try:
        await desk.click("text=Log in to take calls")
        await state_shown(desk, "Available")
        plan = CallPlan(number=settings.hotline_number, keys="0", caller=DEMO.caller_known,
                        delay_ms=6000, max_call_s=60)
        call = asyncio.create_task(asyncio.to_thread(place, plan, "127.0.0.1",
                                                     settings.sip_port))
        await desk.wait_for_function(
            "code => document.querySelector('#pop-call')?.dataset.customer === code",
            arg=DEMO.customer_code, timeout=40_000)
        pops = [e["at"] / 1000 for e in await desk.evaluate("window.__sse")
                if e["type"] == "pop"]
        for _ in range(300):  # SIPp writes its trace as the INVITE comes (30 s at most)
            if phone.invite_times():
                break
            await asyncio.sleep(0.1)
        (ring,) = phone.invite_times()
        assert pops[-1] - ring < POP_WITHIN_S, f"pop {pops[-1] - ring:.3f} s after the ring"
        pop_text = await desk.inner_text("#pop")
        assert "Nguyễn Văn An" in pop_text and "Công ty Điện lực Sài Gòn" in pop_text
        assert "Residential" in pop_text and "12 Lê Lợi" in pop_text
        assert DEMO.request_number in pop_text                      # an open request
        assert "main" in await desk.inner_text(".path")            # the IVR path it took
        call_id = await desk.get_attribute("#pop-call", "data-call")
        assert call_id
        await desk.fill("input[name=q]", "nguyễn văn an")              # search in the call:
        await desk.click("#search button[type=submit]")                # the pick keeps it
        await desk.click(f"#search-results button:has-text('{DEMO.customer_code}')")
        await desk.wait_for_function(
            "call => document.querySelector('#pop-call')?.dataset.call === call && "
            "document.querySelector('#pop-name')?.textContent === 'Nguyễn Văn An'",
            arg=call_id)

        await desk.select_option("#request-type", "outage_report")
        await desk.fill("#request-note", "Mất điện từ 8 giờ sáng")
        await desk.click("text=Create request")
        number = (await (await desk.wait_for_selector("#request-number")).inner_text()).strip()
        created = await desk.inner_text("#request-created")
        assert "forwarded to Công ty Điện lực Sài Gòn" in created

        await call
        await state_shown(desk, "Wrap-up")                          # the operator hung up
        await desk.fill("#wrap-up-code", "7")
        await desk.click("text=Save wrap-up code")
        await state_shown(desk, "Available")
        await desk.wait_for_selector("#wrap-up-saved")
    finally:
        phone.stop()
    (record,) = await asyncio.to_thread(wait_for_records, settings, [plan.call_id(1)], 30)
    assert record is not None and record["operator"] == OPERATOR
    assert record["call_id"] == call_id
    hotline.wait_until(lambda: hotline.records_where(call_id=call_id)[0]["wrap_up_code"] == "7",
                       20, "the wrap-up code in the call's record")
    request = _request(hotline, number)
    assert request["district"] == "PCSG" and request["status"] == "forwarded"
    assert request["linked_call"] == record["call_id"]
    assert request["caller_number"] == DEMO.caller_known


def _request(hotline: Hotline, number: str) -> dict[str, Any]:
    engine = make_engine(hotline.settings.database_url)
    try:
        with make_sessions(engine)() as session:
            row = session.execute(
                select(Request, DistrictCompany.code)
                .join(DistrictCompany, DistrictCompany.id == Request.district_company_id)
                .where(Request.number == number)).one()
            linked = session.scalar(select(Call.call_id).join(
                CallRequest, CallRequest.call_id == Call.id).where(
                    CallRequest.request_id == row[0].id))
            return {"district": row[1], "status": row[0].status, "linked_call": linked,
                    "caller_number": row[0].caller_number}
    finally:
        engine.dispose()


async def test_a_name_holding_html_shows_as_text(hotline: Hotline, desk: Page) -> None:
    name = '<img src=x onerror="window.__owned=1">Lê <b>Văn</b> Tám'
    engine = make_engine(hotline.settings.database_url)
    try:
        with make_sessions(engine)() as session:
            company = session.scalar(select(DistrictCompany.id).limit(1))
            customer = session.scalar(select(Customer).where(Customer.code == "PE09999999991"))
            if customer is None:
                customer = Customer(code="PE09999999991", name=name, address="<script>x</script>",
                                    district_company_id=company, area="Q1-BEN-NGHE",
                                    feeder="SG-471")
                session.add(customer)
                session.flush()
                session.add(CustomerPhone(customer_id=customer.id, phone="0909000999"))
                session.commit()
    finally:
        engine.dispose()
    await desk.fill("input[name=q]", "PE09999999991")
    await desk.click("#search >> text=Search")
    await desk.wait_for_selector("#search-results button")
    await desk.click("#search-results button")
    await desk.wait_for_function(
        "document.querySelector('#pop-call')?.dataset.customer === 'PE09999999991'")
    assert await desk.inner_text("#pop-name") == name                # the text, as typed
    assert await desk.locator("#pop img, #pop b, #pop script").count() == 0
    assert await desk.evaluate("window.__owned") is None
    await desk.fill("input[name=q]", "0909000999")                  # by phone number
    await desk.click("#search >> text=Search")
    await desk.wait_for_selector("#search-results button")
    assert "PE09999999991" in await desk.inner_text("#search-results")


async def test_no_page_or_log_holds_a_secret(hotline: Hotline, desk: Page) -> None:
    """The pages the tests saw (and the login page and the desk now), and every log."""
    settings = hotline.settings
    SEEN.append(await desk.content())
    await desk.goto(url(hotline, "/login"))
    SEEN.append(await desk.content())
    secrets = [settings.ami_secret, settings.agi_token, settings.caller_password,
               settings.redis_password, *settings.operator_passwords.values(),
               *settings.web_passwords.values()]
    assert len(secrets) > 100
    logs = [p.read_text(errors="replace") for p in settings.logs.rglob("*") if p.is_file()]
    assert any("logged in" in text for text in logs)  # the web's log is among them
    for text in [*SEEN, *logs]:
        found = [s for s in secrets if s in text]
        assert not found, f"{len(found)} secret(s) in a page or log"


async def test_the_api_on_the_running_hotline_drives_the_acd(hotline: Hotline) -> None:
    """A supervisor's system, with a token, logs op08 in and out through the real controller;
    the OpenAPI document is served."""
    import httpx

    from web import accounts

    engine = make_engine(hotline.settings.database_url)
    try:
        with make_sessions(engine)() as session:
            if session.scalar(select(WebAccount.id).where(WebAccount.username == "wallboard")
                              ) is None:
                accounts.create(session, accounts.Account("wallboard", accounts.Role.SUPERVISOR))
            token = accounts.issue_token(session, "wallboard", "e2e")
    finally:
        engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url(hotline, "/api/v1"), headers=headers) as api:
        assert (await api.get("/openapi.json")).json()["info"]["title"] == \
            "Hotline 19001122 API"
        try:
            answer = await api.post(f"/agents/by-id/{OPERATOR}/login")
            assert answer.status_code == 200 and answer.json()["logged"] is True, answer.text
            assert agent(hotline, OPERATOR)["state"] == "available"
            again = await api.post(f"/agents/by-id/{OPERATOR}/unpause")
            assert again.status_code == 409  # not paused: the ACD refuses, and says why
        finally:
            out = await api.post(f"/agents/by-id/{OPERATOR}/logoff")
        assert out.json()["state"] == "logged_out"


async def test_the_operator_transfers_the_caller_to_another_queue(
        hotline: Hotline, desk: Page) -> None:
    """op08 (general 5) takes a caller who pressed 0, then sends them to the billing queue:
    op10 (billing 5) answers; op08 is in its wrap-up; the record names op10 and the transfer."""
    settings = hotline.settings
    first = SippOperator(OPERATOR, settings.operator_passwords[OPERATOR], "127.0.0.1",
                         settings.sip_port, answer="now", talk_s=40.0, wait_s=120)
    second = SippOperator("op10", settings.operator_passwords["op10"], "127.0.0.1",
                          settings.sip_port, answer="now", talk_s=3.0, wait_s=120)
    first.start()
    second.start()
    try:
        await asyncio.to_thread(reachable, hotline, OPERATOR)
        await asyncio.to_thread(reachable, hotline, "op10")
        await desk.click("text=Log in to take calls")
        await state_shown(desk, "Available")
        assert processes.controller_request(settings, "agent op10 login")["state"] == \
            "available"
        plan = CallPlan(number=settings.hotline_number, keys="0", caller="0909000777",
                        delay_ms=6000, max_call_s=60)
        call = asyncio.create_task(asyncio.to_thread(place, plan, "127.0.0.1",
                                                     settings.sip_port))
        await state_shown(desk, "On a call", 40)
        await desk.select_option("#transfer-target", "skill:billing")
        await desk.click("#transfer-button")
        await desk.wait_for_selector("#transfer-result >> text=on the way to the billing queue")
        await state_shown(desk, "Wrap-up")
        await call
        assert second.invites() == 1 and first.invites() == 1
    finally:
        first.stop()
        second.stop()
        processes.controller_request(settings, "agent op10 logout")
    (record,) = await asyncio.to_thread(wait_for_records, settings, [plan.call_id(1)], 30)
    assert record is not None and record["operator"] == "op10"
    assert {"event": "transfer", "by": OPERATOR, "to": "billing"} in record["path"]
