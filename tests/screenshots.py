"""``make screenshots``: pictures of the web pages, for anyone to look at without running them.

    .venv/bin/python -m tests.screenshots [FOLDER]     # default: var/screenshots

A private Redis and SQLite records with the demo data, the web application on uvicorn in this
process, headless Chromium (Debian's ``chromium``): the login page, op08's desk with a ringing
caller (the demo customer, who pressed 0 after hearing their bill) as the ACD offers it, and the
supervisor's daily report of today (a made-up day of calls, every hour up to now).
No Asterisk: the offer is made in Redis the way the ACD makes it (``LiveState.reserve``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from acd.decision import WaitingCall
from acd.live import LiveState
from acd.states import Event
from hotline import config, processes
from records import calls
from records.clock import utcnow
from records.database import make_engine, make_sessions, migrate
from records.demo import DEMO, load_demo
from records.lookups import customer_by_code
from records.models import Call
from records.report import day_bounds, local_today
from records.results import Found

#: a made-up day's calls for the report's picture: (outcome, answered, wait s) in turn
_DAY = (("completed", False, 0.0), ("queued", True, 8.0), ("completed", False, 0.0),
        ("queued", True, 35.0), ("queued", False, 0.0), ("overflow", True, 15.0),
        ("abandoned", False, 0.0))
_PATHS = ([{"node": "main", "key": "1"}, {"node": "bill_lookup"}, {"node": "bill_info"}],
          [{"node": "main", "key": "2"}, {"node": "outage_lookup"}, {"node": "outage_info"}],
          [{"node": "main", "key": "0"}])


def _a_day_of_calls(session: Session) -> None:
    """Calls today (local), more at the busy hours, up to now."""
    start, _end = day_bounds(local_today())
    now, n = utcnow(), 0
    for hour in range(24):
        for i in range(2 + (hour % 12) // 2 + (4 if 8 <= (hour + 7) % 24 <= 11 else 0)):
            started = start + dt.timedelta(hours=hour, minutes=7 * i % 60)
            if started >= now:
                return
            outcome, answered, wait = _DAY[n % len(_DAY)]
            entered = started + dt.timedelta(seconds=40)
            session.add(Call(
                call_id=f"day.{n}", caller_number=f"0909{n:06d}", started_at=started,
                ivr_ended_at=entered if outcome == "queued" else None,
                ended_at=entered + dt.timedelta(seconds=wait + (180 if answered else 20)),
                outcome=outcome, operator="op07" if answered else None,
                queue_wait_s=wait if answered else None, path=_PATHS[n % len(_PATHS)]))
            n += 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def take(folder: Path) -> list[Path]:
    from playwright.async_api import async_playwright
    from redis.asyncio import Redis

    from web.app import create_app
    from web.server import build_context, serve_in_this_loop

    runtime = Path(tempfile.mkdtemp(prefix="screenshots-"))
    settings = config.Settings(runtime=runtime, redis_port=_free_port())
    settings.web_port = _free_port()
    (runtime / "run").mkdir(parents=True)
    (runtime / "redis").mkdir()
    processes.start_redis(settings)
    shots: list[Path] = []
    try:
        migrate(settings.database_url)
        engine = make_engine(settings.database_url)
        with make_sessions(engine)() as session:
            load_demo(session)
            found = customer_by_code(session, DEMO.customer_code)
            assert isinstance(found, Found)
            calls.open_call(session, call_id="shot.1", caller_number=DEMO.caller_known)
            calls.set_customer(session, "shot.1", found.value.id)
            calls.save_path(session, "shot.1", [
                {"node": "opening"}, {"node": "main", "key": "2"},
                {"node": "bill_lookup", "action": "bill_status", "outcome": "found"},
                {"node": "bill_info", "played": ["bill_latest", "amount", "due_date"]},
                {"node": "main", "key": "0"}])
            _a_day_of_calls(session)
            session.commit()
        engine.dispose()
        server, serving = await serve_in_this_loop(create_app(build_context(settings)),
                                                   settings.web_port)
        base = f"http://127.0.0.1:{settings.web_port}"
        redis = Redis(**settings.redis_connection())
        live = LiveState(redis)
        chromium = shutil.which("chromium")
        if chromium is None:
            raise SystemExit("chromium is not installed (scripts/install-deps.sh)")
        folder.mkdir(parents=True, exist_ok=True)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(base + "/login")
            shots.append(folder / "login.png")
            await page.screenshot(path=str(shots[-1]))
            await page.fill("input[name=username]", "op08")
            await page.fill("input[name=password]", settings.web_passwords["op08"])
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/desk")
            await live.apply("op08", Event("login"), time.time())
            await page.wait_for_selector("#state-name >> text=Available")
            await live.add_call(WaitingCall("shot.1", ("billing",), "vi", 2, time.time()),
                                caller=DEMO.caller_known)
            await live.reserve("op08", "shot.1", time.time())
            await page.wait_for_selector(f"#pop-call[data-customer='{DEMO.customer_code}']")
            await page.wait_for_selector("#state-name >> text=Ringing")
            shots.append(folder / "desk-ringing.png")
            await page.screenshot(path=str(shots[-1]), full_page=True)
            await page.fill("input[name=q]", "nguyễn văn")
            await page.click("#search button[type=submit]")
            await page.wait_for_selector("#search-results li")
            shots.append(folder / "desk-search.png")
            await page.screenshot(path=str(shots[-1]), full_page=True)
            supervisor = await browser.new_page(viewport={"width": 1280, "height": 900})
            await supervisor.goto(base + "/login")
            await supervisor.fill("input[name=username]", "supervisor")
            await supervisor.fill("input[name=password]", settings.web_passwords["supervisor"])
            await supervisor.click("button[type=submit]")
            await supervisor.wait_for_url(base + "/")  # home: the report and the portal
            await supervisor.goto(base + "/report")
            await supervisor.wait_for_selector("svg.chart rect")
            shots.append(folder / "report.png")
            await supervisor.screenshot(path=str(shots[-1]), full_page=True)
            await supervisor.goto(base + "/district")  # a supervisor looks at any company's
            await supervisor.click(".companies a >> text=PCSG")
            await supervisor.wait_for_selector("h1, h2")
            shots.append(folder / "district.png")
            await supervisor.screenshot(path=str(shots[-1]), full_page=True)
            await browser.close()
        await redis.aclose()
        server.should_exit = True
        await serving
    finally:
        processes.stop_redis(settings)
        shutil.rmtree(runtime, ignore_errors=True)
    return shots


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else config.PROJECT_ROOT / "var" / "screenshots").resolve()
    for path in asyncio.run(take(folder)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
