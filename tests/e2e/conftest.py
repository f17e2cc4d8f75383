"""End-to-end harness: a whole hotline (Asterisk, Redis, controller, SQLite) per test module and
Asterisk flavour, started the way `hotline up` starts it, on private ports in a temp folder.
A module sets ``SETTINGS`` (a dict of hotline settings) for its hotline, and
``DATABASE = "postgresql"`` to keep its records in the test session's PostgreSQL instead.

Flavours: Asterisk 16 on the host, and Asterisk 22 in the Debian sid chroot made by
scripts/install-asterisk22.sh. HOTLINE_E2E_FLAVOURS=asterisk16 limits a local run to one.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline import config, processes
from hotline.redact import secrets_of
from hotline.sipcall import CallPlan, SippResult, place, wait_for_records
from records.database import make_engine, make_sessions
from records.demo import load_demo
from records.models import Call

from ..databases import PostgresCluster
from . import amiwatch
from .browser import browser  # noqa: F401 - the browser tests' fixture

AST22_ROOT = os.environ.get("HOTLINE_AST22_ROOT", "/var/cache/hotline/asterisk22")
FLAVOURS = {"asterisk16": "", "asterisk22": AST22_ROOT}
SELECTED = [f for f in os.environ.get("HOTLINE_E2E_FLAVOURS", ",".join(FLAVOURS)).split(",") if f]

Record = dict[str, Any]


def steps(record: Record) -> list[str]:
    """A call's path in short: node names, `node:key` for keys, `(event)` for events."""
    out = []
    for entry in record["path"]:
        if entry.get("key") is not None:
            out.append(f"{entry['node']}:{entry['key']}")
        elif entry.get("event"):
            out.append(f"({entry['event']})")
        else:
            out.append(entry["node"])
    return out


def heard(record: Record) -> list[str]:
    return [p for entry in record["path"] for p in entry.get("played", [])]


class Hotline:
    """One running hotline instance, driven as a user would drive it."""

    def __init__(self, settings: config.Settings, flavour: str,
                 postgres: PostgresCluster | None = None) -> None:
        self.settings = settings
        self.flavour = flavour
        self.postgres = postgres  # the server of its records, if they are in PostgreSQL

    def place(self, keys: str = "", **plan: Any) -> SippResult:
        return place(CallPlan(number=self.settings.hotline_number, keys=keys, **plan),
                     "127.0.0.1", self.settings.sip_port)

    def call(self, keys: str = "", wait_s: float = 30, **plan: Any) -> list[Record | None]:
        """Place the call(s), wait for SIPp to end, return each call's finished record."""
        result = self.place(keys, **plan)
        return wait_for_records(self.settings, result.call_ids, wait_s)

    def records_where(self, **filters: Any) -> list[Record]:
        engine = make_engine(self.settings.database_url)
        try:
            with make_sessions(engine)() as session:
                query = select(Call).filter_by(**filters)
                return [c.as_dict() for c in session.scalars(query)]
        finally:
            engine.dispose()

    def count_records(self, sip_call_id: str) -> int:
        engine = make_engine(self.settings.database_url)
        try:
            with make_sessions(engine)() as session:
                return int(session.scalar(select(func.count()).select_from(Call)
                                          .where(Call.sip_call_id == sip_call_id)) or 0)
        finally:
            engine.dispose()

    def wait_until(self, predicate: Any, timeout: float = 20, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached within {timeout} s")
            time.sleep(0.1)

    def controller_pid(self) -> int | None:
        return processes.controller_pid(self.settings)

    def kill_controller(self, sig: int = signal.SIGKILL) -> int:
        """Send the controller ``sig`` (kill -9 by default); its pid. With SIGKILL, returns
        once it is gone (the supervisor, if on, starts another: see ``start_controller``)."""
        pid = self.controller_pid()
        assert pid, "controller is not running"
        os.kill(pid, sig)
        if sig == signal.SIGKILL:
            self.wait_until(lambda: not processes._alive(pid), 10, "controller gone")
        return pid

    def stop_controller(self) -> None:
        processes.stop_controller(self.settings)

    def start_controller(self) -> None:
        """Start the controller, or wait until the supervisor's new one serves."""
        processes.start_controller(self.settings)

    def status(self) -> dict[str, Any] | None:
        return processes.controller_status(self.settings)

    def controller_log(self) -> str:
        return (self.settings.logs / "controller.log").read_text(errors="replace")


@pytest.fixture(scope="module", params=SELECTED)
def hotline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Hotline]:
    flavour = request.param
    only_on = getattr(request.module, "ONLY_ON", None)  # a module for some flavours only
    if only_on is not None and flavour not in only_on:
        pytest.skip(f"{request.module.__name__} runs on {', '.join(only_on)} only: "
                    f"{request.module.ONLY_ON_WHY}")
    root = FLAVOURS[flavour]
    if root and not Path(root, "usr/sbin/asterisk").exists():
        pytest.fail(f"{flavour}: no Asterisk in {root}; run scripts/install-asterisk22.sh "
                    "(or set HOTLINE_E2E_FLAVOURS=asterisk16)")
    runtime = tmp_path_factory.mktemp(f"hl-{flavour}")
    menu_file = getattr(request.module, "MENU", None)  # a menu of the module's own
    if getattr(request.module, "OWN_MENU_COPY", False):  # tests that edit the running menu
        menu_file = runtime / "menu" / "19001122.yaml"
        menu_file.parent.mkdir()
        menu_file.write_bytes((config.PROJECT_ROOT / "dialplans" / "19001122.yaml").read_bytes())
    postgres: PostgresCluster | None = None
    database: dict[str, Any] = {}
    if getattr(request.module, "DATABASE", "sqlite") == "postgresql":  # else SQLite
        postgres = request.getfixturevalue("postgres")
        database["database_url"] = postgres.fresh_database("migrated")
    agents_file = runtime / "agents.yaml"  # its own copy: tests edit it while the hotline runs
    agents_file.write_bytes((config.PROJECT_ROOT / "dialplans" / "agents.yaml").read_bytes())
    settings = config.load_or_create(
        runtime, agents_file=str(agents_file), sip_port=config.free_port(0, kind=socket.SOCK_DGRAM),
        ami_port=config.free_port(), tls_port=config.free_port(),
        agi_port=config.free_port(), redis_port=config.free_port(), asterisk_root=root,
        # a spare port, never the default 8080: two hotlines starting at once both saw it free
        web_port=config.free_port(),
        menu_file=str(menu_file) if menu_file else None,
        **getattr(request.module, "SETTINGS", {}), **database,
    )
    amiwatch.install(settings)  # the tests' read-only AMI user (tests/e2e/amiwatch.py)
    try:
        processes.up(settings, progress=False)
        engine = make_engine(settings.database_url)
        with make_sessions(engine)() as session:
            load_demo(session)
        engine.dispose()
    except BaseException as exc:
        try:
            processes.down(settings)
        except Exception as cleanup:  # noqa: BLE001 - noted on the start's own error
            exc.add_note(f"and stopping the half-started hotline failed too: {cleanup}")
        raise
    try:
        yield Hotline(settings, flavour, postgres)
    finally:
        processes.down(settings)
    # every e2e run: no log of the whole run (Asterisk's, Redis's, the controller's, the
    # supervisor's, the desk's, the CDR journal) holds a secret the hotline generated
    leaks = secrets_in_logs(settings)
    assert not leaks, f"secrets in the logs: {leaks}"


def secrets_in_logs(settings: config.Settings) -> list[str]:
    """Each log file (under ``<runtime>/log``) holding a secret, with how many it holds."""
    secrets = [s.encode() for s in secrets_of(settings)]
    found = []
    for path in sorted(settings.logs.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            count = sum(secret in data for secret in secrets)
            if count:
                found.append(f"{path.relative_to(settings.runtime)}: {count}")
    return found
