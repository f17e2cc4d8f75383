"""Logging in and out, and the home page that leads each role to its pages.

Login failures are counted per user name and per client address (:mod:`web.sessions`); past
the limit the answer is 429 until the window passes, whatever the password. The login form
carries a token that must match a cookie set with it (double submit), so another site cannot
log a browser in under an account of its choosing.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import accounts
from ..auth import COOKIE, CsrfRejected, Principal, context, principal
from ..permissions import Permission, may

log = logging.getLogger("web.login")
router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "hotline_login_csrf"

#: the pages each permission opens (the home page lists those the account may open)
PAGES = ((Permission.DESK, "/desk", "My desk"),
         (Permission.REPORTS_READ, "/report", "Daily report"),
         (Permission.DISTRICT_PORTAL, "/district", "District company portal"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(request: Request, *, problem: str = "", username: str = "", next_: str = "/",
                status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = context(request).templates.TemplateResponse(
        request, "login.html", {"who": None, "problem": problem, "username": username,
                                "next": _safe_next(next_), "login_csrf": token},
        status_code=status)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=context(request).secure_cookies, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_=next)


@router.post("/login")
async def login(request: Request, username: str = Form(max_length=64),
                password: str = Form(max_length=256), csrf_token: str = Form(""),
                next: str = Form("/")) -> Response:
    web = context(request)
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        raise CsrfRejected("the login form is stale: reload the page")
    username = username.strip().lower()
    address = request.client.host if request.client else "?"
    wait_s = await web.sessions.login_blocked(username, address)
    if wait_s:
        log.warning("login refused for %r from %s: too many failures", username, address)
        return _login_page(request, problem=f"Too many failed logins: try again in "
                           f"{max(1, round(wait_s / 60))} minute(s).", username=username,
                           next_=next, status=429)
    account = await web.records.run(
        lambda s: accounts.authenticate(s, username, password, web.demo_passwords), 10)
    if account is None:
        await web.sessions.login_failed(username, address)
        log.info("login failed for %r from %s", username, address)
        return _login_page(request, problem="Wrong user name or password.",
                           username=username, next_=next, status=401)
    await web.sessions.login_succeeded(username)
    session_id = await web.sessions.create(account)
    log.info("%s logged in from %s", account.username, address)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict",
                        secure=web.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: str = Form("")) -> Response:
    web = context(request)
    who = await principal(request)
    if who is not None and who.session is not None:
        if not who.session.csrf_matches(csrf_token or request.headers.get("x-csrf-token")):
            raise CsrfRejected("this change did not carry the page's CSRF token: reload the "
                               "page")
        await web.sessions.delete(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    who: Principal | None = await principal(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    links = [(href, title) for permission, href, title in PAGES if may(who.account, permission)]
    if len(links) == 1:
        return RedirectResponse(links[0][0], status_code=303)
    return context(request).templates.TemplateResponse(request, "home.html",
                                                       {"who": who, "links": links})
