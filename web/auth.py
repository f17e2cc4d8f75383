"""Who is asking, and may they: FastAPI dependencies every page and endpoint goes through.

A request is authenticated by its session cookie (people, in the browser) or by an
``Authorization: Bearer`` API token (other systems). :func:`require` names the permission an
endpoint needs (:mod:`web.permissions`); it refuses with 401 (nobody logged in: pages send the
browser to the login page) or 403 (logged in, not allowed). A change (any method but GET/HEAD)
made with a session cookie must carry the session's CSRF token (``X-CSRF-Token`` header, as
htmx sends it, or a ``csrf_token`` form field); bearer tokens are not sent by browsers on their
own, so they need none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from . import accounts
from .accounts import Account, Role
from .context import WebContext
from .permissions import Permission, may
from .sessions import Session

COOKIE = "hotline_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    code = "web.not_authenticated"


class Forbidden(Exception):
    code = "web.forbidden"


class CsrfRejected(Exception):
    code = "web.csrf"


@dataclass(frozen=True)
class Principal:
    account: Account
    session: Session | None  # None: an API token

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


def actor(who: Principal) -> str:
    """Who a change is recorded as: ``district:PCSG`` for a district company, else the
    account (``op07``, ``supervisor``, ``api:website``)."""
    account = who.account
    if account.role is Role.DISTRICT:
        return f"district:{account.district_code}"
    if account.role is Role.API:
        return f"api:{account.username}"
    return account.username


def context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


async def principal(request: Request) -> Principal | None:
    """The logged-in party of this request, or None."""
    web = context(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or len(token) > 256:
            return None
        account = await web.records.run(lambda s: accounts.by_token(s, token.strip()))
        return Principal(account, None) if account else None
    session = await web.sessions.get(request.cookies.get(COOKIE))
    return Principal(session.account, session) if session else None


async def _check_csrf(request: Request, who: Principal) -> None:
    if request.method in SAFE_METHODS or who.session is None:
        return
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not who.session.csrf_matches(token):
        raise CsrfRejected("this change did not carry the page's CSRF token: reload the page")


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the principal, if logged in and granted ``permission``."""

    async def dependency(request: Request) -> Principal:
        who = await principal(request)
        if who is None:
            raise NotAuthenticated("log in first")
        if not may(who.account, permission):
            raise Forbidden(f"{who.account.role.value} accounts may not do this "
                            f"({permission.value})")
        await _check_csrf(request, who)
        return who

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the tests
    return dependency
