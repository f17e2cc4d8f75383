"""The PostgreSQL server of the records stopped for a while, mid-traffic: every lookup and
write fails at once, callers asking for a request's status hear the apology and reach an
operator, and the call records wait in the spool until the server is back. The 10 s outage runs
in ``make test``, the 30 s one in ``make soak``."""

from __future__ import annotations

import pytest

from hotline.sipcall import wait_for_records
from records.demo import DEMO

from .conftest import Hotline, steps
from .database_outage import SETTINGS, record_writes, run_outage, status_line

pytestmark = pytest.mark.e2e
DATABASE = "postgresql"
__all__ = ["SETTINGS"]  # the hotline of this module


@pytest.mark.parametrize("outage_s", [10.0, pytest.param(30.0, marks=pytest.mark.soak)])
async def test_a_stopped_server_costs_callers_no_silence_and_no_record(
        hotline: Hotline, outage_s: float) -> None:
    server = hotline.postgres
    assert server is not None

    def bring_back(_: None) -> None:
        server.start_server()

    await run_outage(hotline, name=f"postgresql stopped, {hotline.flavour}",
                     keys="4 20260014#", outage_s=outage_s, take_down=server.stop_server,
                     bring_back=bring_back)


def test_the_spool_outlives_a_controller_restart_while_the_server_is_down(
        hotline: Hotline) -> None:
    """A call while the server is down, then the controller stopped (SIGTERM) and started again
    before the server is back: its writes wait in the spool on disk through the restart, the
    new controller takes them in, and they land once the server is back."""
    server = hotline.postgres
    assert server is not None
    server.stop_server()
    try:
        placed = hotline.place("", caller=DEMO.caller_unknown, hangup_after_s=7.0)
        hotline.wait_until(lambda: record_writes(hotline).get("spooled", 0) >= 3 and
                           record_writes(hotline).get("pending") == 0, 30,
                           "the call's writes in the spool")
        spooled = record_writes(hotline)["spooled"]
        hotline.stop_controller()
        kept = list((hotline.settings.runtime / "spool" / "records" / "calls").iterdir())
        assert len(kept) == 1, kept
        hotline.start_controller()
        hotline.wait_until(lambda: record_writes(hotline).get("spooled") == spooled, 20,
                           "the restarted controller took the spool in")
        assert status_line(hotline).startswith(
            f"records:    0 call-record writes pending, {spooled} in the spool, 0 rejected")
    finally:
        server.start_server()
    hotline.wait_until(lambda: record_writes(hotline) == {"pending": 0, "spooled": 0,
                                                          "rejected": 0}, 30, "the spool landed")
    (record,) = wait_for_records(hotline.settings, placed.call_ids, 30)
    assert record is not None
    assert hotline.count_records(placed.call_ids[0]) == 1
    assert record["outcome"] == "abandoned" and record["menu_version"]
    assert "welcome" in steps(record) and steps(record)[-1] == "(caller_hung_up)"
