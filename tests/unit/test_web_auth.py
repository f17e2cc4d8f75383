"""The web's doors, on a real Redis and a real SQLite records database, through the whole
application (ASGI, no server): logging in (argon2id hashes, a demo account's row written at its
first login), the login form's CSRF, throttling, sessions that expire and end at logout, CSRF on
every change, roles refused, API tokens, no open redirect."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hotline.config import Settings
from records.database import make_engine, make_sessions
from records.models import WebAccount
from web import accounts
from web.accounts import Account, Role
from web.app import SECURITY_HEADERS

from .web_site import asgi_client, web_settings


@pytest.fixture
async def site(tmp_path: Path, redis_server: str) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                         Settings]]:
    settings = await web_settings(tmp_path, redis_server)
    async with asgi_client(settings) as client:
        yield client, settings


async def log_in(client: httpx.AsyncClient, username: str, password: str,
                 next_: str = "/") -> httpx.Response:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    return await client.post("/login", data={"username": username, "password": password,
                                             "csrf_token": token[1], "next": next_})


def page_csrf(html: str) -> str:
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found, html
    return found[1]


async def test_an_operator_logs_in_and_the_password_is_kept_hashed(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    password = settings.web_passwords["op07"]
    answer = await log_in(client, "op07", password)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    home = await client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/desk"
    desk = await client.get("/desk")
    assert desk.status_code == 200 and "Desk of op07" in desk.text
    for name, value in SECURITY_HEADERS.items():
        assert desk.headers[name] == value
    engine = make_engine(settings.database_url)
    with make_sessions(engine)() as session:
        row = session.scalar(select(WebAccount).where(WebAccount.username == "op07"))
        assert row is not None and row.role == "operator" and row.agent_id == "op07"
        assert row.password_hash.startswith("$argon2id$") and password not in row.password_hash
    engine.dispose()


async def test_a_wrong_password_or_a_stale_form_is_refused(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    wrong = await log_in(client, "op07", "not the password")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    nobody = await log_in(client, "nobody", "whatever")
    assert nobody.status_code == 401
    await client.get("/login")
    forged = await client.post("/login", data={"username": "op07", "csrf_token": "forged",
                                               "password": settings.web_passwords["op07"]})
    assert forged.status_code == 403
    assert (await client.get("/desk")).status_code == 303  # still nobody logged in


async def test_logins_are_throttled_per_user(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    for _ in range(5):
        assert (await log_in(client, "op09", "guess")).status_code == 401
    blocked = await log_in(client, "op09", settings.web_passwords["op09"])
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    other = await log_in(client, "op10", settings.web_passwords["op10"])
    assert other.status_code == 303  # another user from the same address may still log in


async def test_a_change_needs_the_pages_csrf_token(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    await log_in(client, "op07", settings.web_passwords["op07"])
    token = page_csrf((await client.get("/desk")).text)
    refused = await client.post("/desk/state", data={"action": "login"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = await client.post("/desk/state", data={"action": "login"},
                              headers={"X-CSRF-Token": "x" + token})
    assert wrong.status_code == 403
    taken = await client.post("/desk/state", data={"action": "login"},
                              headers={"X-CSRF-Token": token})
    assert taken.status_code == 200  # the controller is not running here: said on the page
    assert "controller is not running" in taken.text


async def test_sessions_expire_and_end_at_logout(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    await log_in(client, "op07", settings.web_passwords["op07"])
    context = client._transport.app.state.web  # type: ignore[attr-defined]
    keys = [k async for k in context.redis.scan_iter("web:session:*")]
    assert len(keys) == 1 and 0 < await context.redis.ttl(keys[0]) <= context.sessions.idle_s
    token = page_csrf((await client.get("/desk")).text)
    context.sessions.max_age_s = 0  # the session is now older than any session may be
    assert (await client.get("/desk")).headers.get("location", "").startswith("/login")
    context.sessions.max_age_s = 3600
    await log_in(client, "op07", settings.web_passwords["op07"])
    token = page_csrf((await client.get("/desk")).text)
    out = await client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await client.get("/desk")).status_code == 303
    assert [k async for k in context.redis.scan_iter("web:session:*")] == []


@pytest.mark.parametrize("username", ["supervisor", "admin", "district-pcsg"])
async def test_the_desk_is_an_operators_only(site, username: str) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    settings.web_passwords["district-pcsg"] = "district password 1"
    client._transport.app.state.web.demo_passwords = settings.web_passwords  # type: ignore[attr-defined]
    assert (await log_in(client, username, settings.web_passwords[username])).status_code == 303
    for path in ("/desk", "/desk/events", "/desk/search?q=PE01000000001"):
        assert (await client.get(path)).status_code == 403, path


async def test_api_tokens_name_their_account(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    engine = make_engine(settings.database_url)
    with make_sessions(engine)() as session:
        accounts.create(session, Account("website", Role.API))
        token = accounts.issue_token(session, "website", "the website")
        assert accounts.by_token(session, token) == Account("website", Role.API)
        assert accounts.by_token(session, token + "x") is None
    engine.dispose()
    assert (await client.get("/desk", headers={"Authorization": f"Bearer {token}"})
            ).status_code == 403
    assert (await client.get("/desk", headers={"Authorization": "Bearer nope"})
            ).status_code == 303


async def test_no_open_redirect_after_login(site) -> None:  # type: ignore[no-untyped-def]
    client, settings = site
    answer = await log_in(client, "op07", settings.web_passwords["op07"], "//evil.example/x")
    assert answer.headers["location"] == "/"
