"""The HTTP API, ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``): customers, the call
history, requests, queue statistics, operators' states and commands. The same accounts and
roles as the pages (:mod:`web.permissions`): other systems send an ``Authorization: Bearer``
token; a browser's session works too, with its CSRF token on changes."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.security import HTTPBearer

from ..context import WebContext
from . import agents, calls, customers, queues, requests

VERSION = "1.0"


def create_api(web: WebContext) -> FastAPI:
    api = FastAPI(title="Hotline 19001122 API", version=VERSION, openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Customers, calls, requests, queues and operators of the "
                              "19001122 customer-care hotline. Errors: "
                              '{"error": "<stable id>", "message": "..."}.')
    api.state.web = web
    bearer = HTTPBearer(auto_error=False, description="an API token (hotline web token)")
    for module in (customers, calls, requests, queues, agents):
        api.include_router(module.router, dependencies=[Depends(bearer)])
    return api
