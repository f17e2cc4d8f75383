"""Every page route of the web application, for every role: the table below says who may open
it; the others are refused (403), nobody logged in is sent to the login page (303) or refused
(401 for changes), and the table must name every route, so a new page cannot slip in unchecked.
Real Redis and SQLite, the whole application over ASGI; the controller is not running, so a
change that is let through says so (not 401/403)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from web.accounts import Account, Role

from .web_site import asgi_client, web_settings

OP = "operator"
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/"),
          ("GET", "/healthz")}
#: (method, path) -> roles let through
PAGES: dict[tuple[str, str], set[str]] = {
    ("GET", "/desk"): {OP},
    ("GET", "/desk/events"): {OP},
    ("POST", "/desk/state"): {OP},
    ("POST", "/desk/wrap-up"): {OP},
    ("GET", "/desk/pop"): {OP},
    ("GET", "/desk/search"): {OP},
    ("POST", "/desk/requests"): {OP},
    ("POST", "/desk/transfer"): {OP},
    ("GET", "/district"): {"district", "supervisor", "admin"},
    ("POST", "/district/requests/{number}"): {"district", "supervisor"},
    ("GET", "/report"): {"supervisor", "admin"},
    ("GET", "/report.csv"): {"supervisor", "admin"},
}
FORMS = {"/desk/state": {"action": "pause", "reason": "1"}, "/desk/wrap-up": {"code": "7"},
         "/desk/requests": {"type": "advice", "note": "x"},
         "/desk/transfer": {"target": "skill:billing", "call": "1.1"},
         "/district/requests/{number}": {"action": "accept"}}
QUERIES = {"/desk/search": {"q": "PE01000000001"}, "/desk/pop": {"customer": "PE01000000001"},
           "/report": {"day": "2026-12-07"}, "/report.csv": {"day": "2026-12-07"}}
ROLES = {OP: Account("op07", Role.OPERATOR, agent_id="op07"),
         "supervisor": Account("supervisor", Role.SUPERVISOR),
         "admin": Account("admin", Role.ADMIN),
         "district": Account("district-pcsg", Role.DISTRICT, district_code="PCSG"),
         "api": Account("website", Role.API)}


@pytest.fixture
async def site(tmp_path: Path, redis_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(await web_settings(tmp_path, redis_server)) as client:
        yield client


async def test_every_page_refuses_every_role_the_table_refuses(
        site: httpx.AsyncClient) -> None:
    app = site._transport.app  # type: ignore[attr-defined]
    routes = {(method, route.path) for route in _routes(app.routes)
              for method in route.methods if method != "HEAD"}
    assert routes == set(PAGES) | PUBLIC, "the table and the pages differ"
    context = app.state.web
    wrong = []
    for (method, path), allowed in sorted(PAGES.items()):
        site.cookies.clear()
        anonymous = await _ask(site, method, path, "")
        expected = 303 if method == "GET" else 401
        if anonymous.status_code != expected:
            wrong.append(f"{method} {path} anonymous: {anonymous.status_code}")
        for role, account in ROLES.items():
            session_id = await context.sessions.create(account)
            session = await context.sessions.get(session_id)
            site.cookies.set("hotline_session", session_id)
            if path == "/desk/events" and role in allowed:
                continue  # an endless stream; the desk's e2e test reads it
            answer = await _ask(site, method, path, session.csrf)
            refused = answer.status_code in (401, 403)
            if refused == (role in allowed):
                wrong.append(f"{method} {path} {role}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


def _routes(routes: list[object]) -> list[APIRoute]:
    """The app's routes, those of included routers too (FastAPI keeps them apart)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # an included router
            found += _routes(route.original_router.routes)
    return found


async def _ask(site: httpx.AsyncClient, method: str, path: str, csrf: str) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if method == "GET":
        return await site.get(path, params=QUERIES.get(path), headers=headers)
    return await site.post(path, data=FORMS.get(path, {}), headers=headers)
