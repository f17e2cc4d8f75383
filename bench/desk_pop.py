"""Ring to screen pop on the operator's desk, against a bare SSE echo of the same event.

    .venv/bin/python -m bench.desk_pop              # 200 offers, 50 operators' desks open
    .venv/bin/python -m bench.desk_pop --quick      # 40 offers
    .venv/bin/python -m bench.desk_pop --json

A private Redis and SQLite records (2,000 generated customers and the demo ones), the web
application on uvicorn in this process, and headless Chromium on op01's desk; the other
operators' desks are open too (their SSE streams read by httpx), and every offer also moves two
of them, so the web process fans events out to 50 streams as it would in the centre.

Each trial is one offer as the ACD makes it: the caller's call record (customer identified, the
menu path) is in the records, the waiting call in Redis, and the clock starts just before the
ACD's reservation of op01 (`LiveState.reserve`, which publishes the offer; the ACD rings the
phone right after it, and tests/e2e/test_desk.py checks the pop against the real INVITE).
It stops when the page has swapped in the pop for that call (htmx's `htmx:sseMessage`, after the
swap, `Date.now()` in the page: the same clock). The baseline, in the same run and on the same
offer: a bare SSE endpoint in the same web process that forwards the event as it arrives from
Redis (no records, no rendering), read by an `EventSource` in the same page. The ratio says
what the pop's reading and drawing add to the transport.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from acd.decision import WaitingCall
from acd.live import LiveState
from acd.states import Event
from bench.rig import log, ms_summary
from hotline import config, processes
from records import calls
from records.database import make_engine, make_sessions, migrate
from records.demo import load_demo
from records.models import CustomerPhone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


RECORD = """
window.__pops = {}; window.__echoes = {};
document.addEventListener('htmx:sseMessage', (e) => {
  if (e.detail.type !== 'pop') return;
  const call = document.querySelector('#pop-call')?.dataset.call;
  if (call) window.__pops[call] = Date.now();
}, true);
window.__startEcho = () => {
  const source = new EventSource('/bench/echo');
  source.addEventListener('echo', (m) => {
    const event = JSON.parse(m.data);
    if (event.state === 'reserved') window.__echoes[event.call_id] = Date.now();
  });
  return new Promise((ok) => source.addEventListener('open', () => ok(true)));
};
"""


def prepare_records(settings: config.Settings) -> list[tuple[int, str]]:
    """Demo data and 2,000 customers; (customer id, phone) of those who have a phone."""
    from records.datagen import generate

    migrate(settings.database_url)
    generate(settings.database_url, 2000, progress=False)
    engine = make_engine(settings.database_url)
    with make_sessions(engine)() as session:
        load_demo(session)
        rows = session.execute(select(CustomerPhone.customer_id, CustomerPhone.phone)
                               .order_by(CustomerPhone.phone).limit(500)).all()
        callers = [(int(customer_id), str(phone)) for customer_id, phone in rows]
    engine.dispose()
    return callers


def add_echo(app: Any) -> None:
    """The baseline: op01's events from Redis, forwarded as they come (no records, no HTML)."""
    from fastapi.sse import EventSourceResponse, ServerSentEvent

    async def echo() -> AsyncIterator[ServerSentEvent]:
        async with app.state.web.events.subscribe(
                lambda e: e.get("agent") == "op01") as subscriber:
            while True:
                event = await subscriber.queue.get()
                yield ServerSentEvent(raw_data=json.dumps(event), event="echo")

    app.add_api_route("/bench/echo", echo, response_class=EventSourceResponse)


async def login(client: httpx.AsyncClient, username: str, password: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    answer = await client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": token[1]})
    assert answer.status_code == 303, answer.text[:200]


async def read_stream(client: httpx.AsyncClient, counts: dict[str, int], name: str) -> None:
    async with client.stream("GET", "/desk/events", timeout=None) as response:
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                counts[name] = counts.get(name, 0) + 1


async def run(trials: int, operators: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from web.app import create_app
    from web.server import build_context, serve_in_this_loop

    runtime = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    settings = config.Settings(runtime=runtime, redis_port=_free_port(),
                               operator_count=operators)
    (runtime / "run").mkdir(parents=True)
    (runtime / "redis").mkdir()
    settings.web_port = _free_port()
    processes.start_redis(settings)
    servers: list[Any] = []
    try:
        log("[bench] records: 2,000 customers")
        callers = prepare_records(settings)
        context = build_context(settings)
        app = create_app(context)
        add_echo(app)
        server, serving = await serve_in_this_loop(app, settings.web_port, lifespan="on")
        servers.append(server)
        base = f"http://127.0.0.1:{settings.web_port}"
        from redis.asyncio import Redis

        redis = Redis(**settings.redis_connection())
        live = LiveState(redis)
        names = settings.operators
        for name in names:
            await live.apply(name, Event("login"), time.time())
        log(f"[bench] {operators} desks open (op01 in Chromium, the others over httpx)")
        counts: dict[str, int] = {}
        clients = [httpx.AsyncClient(base_url=base) for _ in names[1:]]
        readers = []
        for name, client in zip(names[1:], clients):
            await login(client, name, settings.web_passwords[name])
            readers.append(asyncio.create_task(read_stream(client, counts, name)))
        chromium = shutil.which("chromium")
        if chromium is None:
            raise SystemExit("chromium is not installed (scripts/install-deps.sh)")
        engine = make_engine(settings.database_url)
        sessions = make_sessions(engine)
        pops: list[float] = []
        echoes: list[float] = []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            page = await (await browser.new_context(bypass_csp=True)).new_page()
            await page.add_init_script(RECORD)
            await page.goto(base + "/login")
            await page.fill("input[name=username]", "op01")
            await page.fill("input[name=password]", settings.web_passwords["op01"])
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/desk")
            await page.evaluate("window.__startEcho()")
            await asyncio.sleep(0.5)  # the desk's own stream connects too (no sync point)
            rng = random.Random(1)
            for trial in range(trials):
                call_id = f"bench-{trial}"
                customer_id, phone = rng.choice(callers)
                with sessions() as session:
                    calls.open_call(session, call_id=call_id, caller_number=phone)
                    calls.set_customer(session, call_id, customer_id)
                    calls.save_path(session, call_id, [
                        {"node": "main", "key": "0", "played": ["welcome", "main_menu"]}])
                now = time.time()
                await live.add_call(WaitingCall(call_id, ("general",), "vi", 0, now),
                                    caller=phone)
                started = time.time()
                assert await live.reserve("op01", call_id, started)
                for other in rng.sample(names[1:], 2):  # the centre moves on meanwhile
                    await live.apply(other, Event("pause", reason="break"), time.time())
                await page.wait_for_function(
                    "call => window.__pops[call] && window.__echoes[call]", arg=call_id,
                    timeout=10_000)
                shown = await page.evaluate(
                    "call => [window.__pops[call], window.__echoes[call]]", call_id)
                pops.append(shown[0] - started * 1000)
                echoes.append(shown[1] - started * 1000)
                await live.apply("op01", Event("caller_gone", call_id=call_id), time.time())
                await live.set_call_state(call_id, "gone")
                for name in names[1:]:
                    status = await live.agent(name)
                    if status.state.value == "paused":
                        await live.apply(name, Event("unpause"), time.time())
                if (trial + 1) % 20 == 0:
                    log(f"[bench] {trial + 1}/{trials} offers")
            await browser.close()
        engine.dispose()
        for task in readers:
            task.cancel()
        for client in clients:
            await client.aclose()
        await redis.aclose()
        server.should_exit = True
        await serving
        pop, echo = ms_summary(pops), ms_summary(echoes)
        return {"trials": trials, "operators": operators, "pop": pop, "echo": echo,
                "ratio_p50": pop["p50_ms"] / echo["p50_ms"] if echo["p50_ms"] else None,
                "ratio_p99": pop["p99_ms"] / echo["p99_ms"] if echo["p99_ms"] else None,
                "events_to_other_desks": sum(counts.values())}
    finally:
        for server in servers:
            server.should_exit = True
        processes.stop_redis(settings)
        shutil.rmtree(runtime, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.desk_pop", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="40 offers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    trials = 40 if args.quick else args.trials
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run(trials, args.operators))
        if args.json:
            print(json.dumps(result, indent=2))
            return 0
        print(f"ring (the ACD's offer) to screen pop on op01's desk, {trials} offers, "
              f"{args.operators} desks open")
        print(f"{'':22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, row in (("screen pop (ours)", result["pop"]),
                          ("bare SSE echo", result["echo"])):
            print(f"{name:22}{row['p50_ms']:9.1f}{row['p99_ms']:9.1f}{row['max_ms']:9.1f}")
        print(f"pop / echo: p50 x{result['ratio_p50']:.2f}, p99 x{result['ratio_p99']:.2f}; "
              f"goal: pop p99 < 300 ms; {result['events_to_other_desks']} events reached the "
              "other desks")
        return 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
