"""The web application: pages for each role and the HTTP API, built in one place.

    create_app(web)   the FastAPI app over a :class:`web.context.WebContext`
    build_context()   that context from a hotline's settings (Redis, records, controller)

Pages render on the server (Jinja2, autoescaped: nothing a caller or a customer record holds
becomes markup) and update by server-sent events (htmx and its SSE extension, vendored under
``static/vendor``). Every response forbids framing and inline scripts from elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from .api import create_api
from .auth import CsrfRejected, Forbidden, NotAuthenticated
from .context import WebContext
from .controller import ControllerUnavailable
from .pages import desk, district, login, report
from .records import RecordsUnavailable

log = logging.getLogger("web")

HERE = Path(__file__).resolve().parent
LOCAL = dt.timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving; the records keep UTC

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    env = found.env
    env.filters["local"] = lambda t: (t + LOCAL).strftime("%d/%m/%Y %H:%M") if t else ""
    env.filters["clock"] = lambda epoch: dt.datetime.fromtimestamp(
        epoch, dt.UTC).astimezone(dt.timezone(LOCAL)).strftime("%H:%M:%S") if epoch else "-"
    env.filters["dong"] = lambda amount: f"{amount:,}".replace(",", ".") + " đồng"
    env.filters["duration"] = _duration
    env.filters["spaced"] = lambda digits: " ".join(str(digits))
    return found


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{max(1, round(seconds / 60))} min"


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.headers.get("hx-request") == "true"


def error_handlers(app: FastAPI, context: WebContext) -> None:
    """Failures as their status code: JSON for the API (``{"error": id, "message": ...}``, the
    ids are a contract), a page or a fragment for the browser."""

    def answer(request: Request, status: int, error: str, message: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": error, "message": message}, status_code=status)
        return context.templates.TemplateResponse(
            request, "error.html", {"who": None, "title": f"{status}", "message": message},
            status_code=status)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if not _wants_json(request) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        response = answer(request, 401, exc.code, str(exc))
        if request.url.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    def plain(status: int) -> Any:
        async def handler(request: Request, exc: Exception) -> Response:
            return answer(request, status, exc.code, str(exc))  # type: ignore[attr-defined]
        return handler

    for refused, status in ((Forbidden, 403), (CsrfRejected, 403), (RecordsUnavailable, 503),
                            (ControllerUnavailable, 503)):
        app.add_exception_handler(refused, plain(status))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = answer(request, exc.status_code, f"web.http_{exc.status_code}",
                          str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                             for e in exc.errors())
        return answer(request, 422, "web.invalid", problems or "the request is not valid")


def create_app(context: WebContext, *, lifespan_context: Any = None) -> FastAPI:
    """The whole web application over ``context``."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        context.events.start()
        try:
            if lifespan_context is not None:
                async with lifespan_context():
                    yield
            else:
                yield
        finally:
            await context.events.stop()
            context.records.close()
            await context.redis.aclose()

    app = FastAPI(title="Hotline 19001122", openapi_url=None, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.web = context
    app.add_middleware(SecurityHeaders)
    error_handlers(app, context)
    app.include_router(login.router)
    app.include_router(desk.router)
    app.include_router(district.router)
    app.include_router(report.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    api = create_api(context)
    error_handlers(api, context)
    app.mount("/api/v1", api)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "live_events": context.events.connected.is_set()}

    return app

