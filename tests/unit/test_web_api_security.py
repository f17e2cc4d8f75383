"""Every endpoint of the HTTP API, for every role: refused (401 without credentials, 403 for a
role without the permission) or let through, as the table below says; the table must name every
operation of the OpenAPI document, so a new endpoint cannot slip in unchecked. Then ownership:
an operator acts on itself only, a district company sees its own requests only. Real Redis,
real SQLite with the demo records, the whole application over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from records.database import make_engine, make_sessions
from records.demo import DEMO, load_demo
from web import accounts
from web.accounts import Account, Role

from .web_site import asgi_client, web_settings

OP, SUP, ADM, DIS, API = "operator", "supervisor", "admin", "district", "api"
#: (method, path) -> the roles let through; everyone else is refused
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/customers"): {OP, SUP, API},
    ("GET", "/customers/{code}"): {OP, SUP, API},
    ("GET", "/calls"): {OP, SUP},
    ("GET", "/calls/{call_id}"): {OP, SUP},
    ("POST", "/requests"): {OP, SUP, API},
    ("GET", "/requests"): {OP, SUP, DIS, API},
    ("GET", "/requests/{number}"): {OP, SUP, DIS, API},
    ("PUT", "/requests/{number}/status"): {SUP, DIS},
    ("GET", "/queues/statistics"): {SUP, ADM},
    ("GET", "/agents"): {OP, SUP, ADM},
    ("GET", "/agents/by-id/{agent_id}"): {OP, SUP, ADM},
    ("POST", "/agents/by-id/{agent_id}/login"): {OP, SUP},
    ("POST", "/agents/by-id/{agent_id}/logoff"): {OP, SUP},
    ("POST", "/agents/by-id/{agent_id}/pause"): {OP, SUP},
    ("POST", "/agents/by-id/{agent_id}/unpause"): {OP, SUP},
    ("POST", "/agents/by-id/{agent_id}/wrap-up"): {OP, SUP},
}
PARAMS = {"code": DEMO.customer_code, "call_id": "1700000000.1",
          "number": DEMO.request_number, "agent_id": "op07"}
QUERY = {"/customers": {"search": DEMO.customer_code}}
BODIES: dict[str, Any] = {
    "/requests": {"type": "outage_report", "customer_code": DEMO.customer_code,
                  "description": "Mất điện", "channel": "website"},
    "/requests/{number}/status": {"status": "in_progress", "note": "on the way"},
    "/agents/by-id/{agent_id}/pause": {"reason": "2"},
    "/agents/by-id/{agent_id}/wrap-up": {"code": "7"},
}
ACCOUNTS = {OP: Account("op07", Role.OPERATOR, agent_id="op07"),
            SUP: Account("supervisor", Role.SUPERVISOR), ADM: Account("admin", Role.ADMIN),
            DIS: Account("district-pcsg", Role.DISTRICT, district_code="PCSG"),
            API: Account("website", Role.API)}


@pytest.fixture
async def api(tmp_path: Path, redis_server: str
              ) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = await web_settings(tmp_path, redis_server)
    engine = make_engine(settings.database_url)
    tokens = {}
    with make_sessions(engine)() as session:
        load_demo(session)
        for role, account in [*ACCOUNTS.items(),
                              ("district-pccl", Account("district-pccl", Role.DISTRICT,
                                                        district_code="PCCL")),
                              ("op08", Account("op08", Role.OPERATOR, agent_id="op08"))]:
            accounts.create(session, account)
            tokens[role] = accounts.issue_token(session, account.username, "tests")
    engine.dispose()
    async with asgi_client(settings) as client:
        yield client, tokens


async def call(client: httpx.AsyncClient, method: str, path: str, token: str | None,
               **params: str) -> httpx.Response:
    url = "/api/v1" + path.format(**{**PARAMS, **params})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.request(method, url, headers=headers, params=QUERY.get(path),
                                json=BODIES.get(path) if method in ("POST", "PUT") else None)


async def test_every_endpoint_refuses_every_role_the_table_refuses(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = {(method.upper(), path) for path, item in document["paths"].items()
                  for method in item}
    assert operations == set(EXPECTED), "the table and the API differ"
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    wrong = []
    for (method, path), allowed in sorted(EXPECTED.items()):
        anonymous = await call(client, method, path, None)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {path} anonymous: {anonymous.status_code}")
        for role in ACCOUNTS:
            answer = await call(client, method, path, tokens[role])
            refused = answer.status_code in (401, 403)
            if refused == (role in allowed):
                wrong.append(f"{method} {path} {role}: {answer.status_code} {answer.text[:80]}")
            if refused:
                assert answer.json()["error"] in ("web.forbidden", "web.not_authenticated")
    assert not wrong, "\n".join(wrong)


async def test_an_operator_sees_and_acts_on_itself_only(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    for method, path in [("GET", "/agents/by-id/{agent_id}"),
                         ("POST", "/agents/by-id/{agent_id}/login"),
                         ("POST", "/agents/by-id/{agent_id}/pause")]:
        assert (await call(client, method, path, tokens[OP], agent_id="op08")
                ).status_code == 403
        assert (await call(client, method, path, tokens["op08"], agent_id="op08")
                ).status_code not in (401, 403)
    listed = (await call(client, "GET", "/agents", tokens[OP])).json()
    assert [a["id"] for a in listed] == ["op07"]
    assert len((await call(client, "GET", "/agents", tokens[SUP])).json()) == 50


async def test_a_district_company_sees_its_own_requests_only(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    mine = await call(client, "GET", "/requests/{number}", tokens[DIS])
    assert mine.status_code == 200 and mine.json()["district_company"] == "PCSG"
    assert [c["actor"] for c in mine.json()["changes"]] == ["op07", "op07"]
    other = tokens["district-pccl"]
    assert (await call(client, "GET", "/requests/{number}", other)).status_code == 403
    assert (await call(client, "PUT", "/requests/{number}/status", other)).status_code == 403
    listed = (await client.get("/api/v1/requests", headers={"Authorization": f"Bearer {other}"}
                               )).json()
    assert listed["items"] == [] and listed["filtered"] == 0
    assert (await client.get("/api/v1/requests", params={"district": "PCSG"},
                             headers={"Authorization": f"Bearer {other}"})).status_code == 403
    moved = await call(client, "PUT", "/requests/{number}/status", tokens[DIS])
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    assert moved.json()["changes"][-1]["actor"] == "district:PCSG"


async def test_the_website_brings_a_request_in(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens = api
    created = await call(client, "POST", "/requests", tokens[API])
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert created.json()["forwarded"] is True
    shown = (await call(client, "GET", "/requests/{number}", tokens[API], number=number)).json()
    assert shown["district_company"] == "PCSG" and shown["customer_code"] == DEMO.customer_code
    assert shown["changes"][0]["actor"] == "api:website"
    found = (await call(client, "GET", "/customers", tokens[API])).json()
    assert [c["code"] for c in found["items"]] == [DEMO.customer_code]
    assert found["items"][0]["name"] == "Nguyễn Văn An"
    assert (await client.post("/api/v1/requests", json={"type": "nonsense"},
                              headers={"Authorization": f"Bearer {tokens[API]}"})
            ).status_code == 422


async def test_a_browser_session_needs_its_csrf_token_on_the_api_too(api) -> None:  # type: ignore[no-untyped-def]
    client, _tokens = api
    context = client._transport.app.state.web  # type: ignore[attr-defined]
    session_id = await context.sessions.create(ACCOUNTS[SUP])
    client.cookies.set("hotline_session", session_id)
    assert (await client.get("/api/v1/queues/statistics")).status_code == 200
    assert (await client.post("/api/v1/requests", json=BODIES["/requests"])
            ).status_code == 403
    session = await context.sessions.get(session_id)
    assert (await client.post("/api/v1/requests", json=BODIES["/requests"],
                              headers={"X-CSRF-Token": session.csrf})).status_code == 201
