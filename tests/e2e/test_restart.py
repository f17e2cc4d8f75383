"""`make run`, calls, `make stop`, `make run` again, twice: the hotline starts each time with the
demo data, keeps the call records and requests of the earlier runs, and takes new calls.

Driven as a user drives it: the `hotline` command (`up --demo`, `call`, `down`) in a runtime
folder of its own, with real calls (SIPp) into a real Asterisk.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline import config
from hotline.config import PROJECT_ROOT
from records.database import make_engine, make_sessions
from records.demo import DEMO
from records.models import Call, CallRequest, Customer, Request

from .conftest import FLAVOURS, SELECTED

pytestmark = pytest.mark.e2e

Record = dict[str, Any]


def hotline(runtime: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", "--runtime", str(runtime), *args],
                          check=False, capture_output=True, text=True, timeout=timeout,
                          cwd=PROJECT_ROOT)


def up(runtime: Path) -> None:
    result = hotline(runtime, "up", "--demo")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"hotline up --demo failed:\n{output[-3000:]}"
    assert "Traceback" not in output
    assert "controller ready" in result.stdout


def down(runtime: Path) -> None:
    result = hotline(runtime, "down")
    assert result.returncode == 0, result.stdout + result.stderr


def call(runtime: Path, keys: str, gap_s: float = 2.5) -> Record:
    """`hotline call 19001122 --keys ...` as the demo caller, who hangs up once the answer
    plays; the finished call record."""
    result = hotline(runtime, "call", "19001122", "--keys", keys, "--gap", str(gap_s),
                     "--hangup-after", "8", "--wait", "40", "--json", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    records = json.loads(result.stdout)["calls"]
    assert len(records) == 1 and records[0] is not None
    return records[0]  # type: ignore[no-any-return]


def nodes(record: Record) -> list[str]:
    return [entry.get("node", "") for entry in record["path"]]


def heard_bill(record: Record) -> bool:
    return {"node": "bill_lookup", "action": "bill_status", "outcome": "found"} in record["path"] \
        and "bill_info" in nodes(record)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url

    def snapshot(self) -> dict[str, Any]:
        """The calls (by call id), their links to requests, and the demo customer's requests."""
        engine = make_engine(self.url)
        try:
            with make_sessions(engine)() as s:
                an = s.scalars(select(Customer).where(Customer.code == DEMO.customer_code)).one()
                calls = {c.call_id: (c.customer_id, c.outcome) for c in s.scalars(select(Call))}
                links = set(s.execute(select(Call.call_id, Request.number, CallRequest.relation)
                                      .join(Call, Call.id == CallRequest.call_id)
                                      .join(Request, Request.id == CallRequest.request_id)).all())
                requests = {r.number: (r.customer_id, r.status) for r in s.scalars(
                    select(Request).where(Request.customer_id == an.id))}
                return {"customer_id": an.id, "calls": calls, "links": links,
                        "requests": requests}
        finally:
            engine.dispose()


@pytest.fixture(params=SELECTED)
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    root = FLAVOURS[request.param]
    if root and not Path(root, "usr/sbin/asterisk").exists():
        pytest.fail(f"{request.param}: no Asterisk in {root}; run scripts/install-asterisk22.sh")
    # private ports, so that it runs beside other hotlines; `hotline up` keeps stored settings
    config.load_or_create(tmp_path, sip_port=config.free_port(0, kind=socket.SOCK_DGRAM,
                                                              both=True),
                          ami_port=config.free_port(), agi_port=config.free_port(),
                          redis_port=config.free_port(), web_port=config.free_port(),
                          tls_port=config.free_port(), asterisk_root=root)
    try:
        yield tmp_path
    finally:
        hotline(tmp_path, "down")


def test_make_run_again_keeps_the_calls_and_requests_of_earlier_runs(runtime: Path) -> None:
    database = Database(config.load(runtime).database_url)
    up(runtime)
    # the demo caller hears the bill, reports an outage (a request on their customer record) and
    # asks for the demo request (a link from the call to it): all point at demo records
    with ThreadPoolExecutor(3) as pool:
        bill, report, asked = pool.map(lambda plan: call(runtime, *plan), [
            ("2",), ("3 2",), (f"4 {DEMO.request_number}#", 3.0)])
    assert heard_bill(bill)
    assert "create_outage_report" in nodes(report)
    assert "request_info" in nodes(asked)
    first = database.snapshot()
    assert {bill["call_id"], report["call_id"], asked["call_id"]} <= set(first["calls"])
    assert first["calls"][bill["call_id"]][0] == first["customer_id"]
    assert (asked["call_id"], DEMO.request_number, "asked") in first["links"]
    assert len(first["requests"]) == 2  # the demo request and the outage report

    down(runtime)
    up(runtime)  # re-seeds the demo data over the records that point at it
    second = database.snapshot()
    assert second == first  # same customer row, every call, link and request kept as it was
    again = call(runtime, "2")
    assert heard_bill(again)

    down(runtime)
    up(runtime)
    third = database.snapshot()
    assert third["calls"] == {**first["calls"], again["call_id"]: third["calls"][again["call_id"]]}
    assert third["calls"][again["call_id"]][0] == first["customer_id"]
    assert (third["links"], third["requests"]) == (first["links"], first["requests"])
    assert heard_bill(call(runtime, "2"))
