"""The hotline in the browser and over HTTP: the operators' desk, the HTTP API, and the
foundations other surfaces build on.

    app.py          the FastAPI application (create_app) and its error pages
    server.py       ``hotline web``: the context from the hotline's settings, uvicorn
    context.py      what pages and endpoints share (built once, no singletons)
    accounts.py     accounts, roles, argon2id passwords, API tokens
    sessions.py     login sessions and login throttling in Redis
    permissions.py  what each role may do, and whose things
    auth.py         the dependencies that check it on every request (and CSRF)
    events.py       live events: Redis pub/sub fanned out to server-sent event streams
    controller.py   the controller's control socket (operators' commands)
    records.py      the records database off the event loop, with deadlines
    desk_pop.py     the operator's screen pop, read from the records
    pages/          one module per surface: login.py, desk.py
    api/            the HTTP API (``/api/v1``)
    templates/, static/   Jinja2 pages; vendored htmx, its SSE extension, uPlot
"""
