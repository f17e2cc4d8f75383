"""The SQLite records database taken by another process for a while, mid-traffic.

In WAL mode another process cannot stop the controller from reading a database it holds open
(every WAL connection keeps a shared lock on the file), but ``BEGIN EXCLUSIVE`` from another
connection stops every write: call-record writes fail, and so does creating a request, so
callers reporting an outage hear the apology and reach an operator, while the lookups of
existing data go on. The 10 s outage runs in ``make test``, the 30 s one in ``make soak``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from .conftest import Hotline
from .database_outage import SETTINGS, run_outage

pytestmark = pytest.mark.e2e
__all__ = ["SETTINGS"]  # the hotline of this module


@pytest.mark.parametrize("outage_s", [10.0, pytest.param(30.0, marks=pytest.mark.soak)])
async def test_a_locked_database_costs_callers_no_silence_and_no_record(
        hotline: Hotline, outage_s: float) -> None:
    db = Path(hotline.settings.database_url.removeprefix("sqlite:///"))

    def take_down() -> sqlite3.Connection:
        locker = sqlite3.connect(db, isolation_level=None, timeout=10, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        return locker

    def bring_back(locker: sqlite3.Connection) -> None:
        locker.execute("ROLLBACK")
        locker.close()

    await run_outage(hotline, name=f"sqlite locked, {hotline.flavour}", keys="3 2",
                     outage_s=outage_s, take_down=take_down, bring_back=bring_back)
