"""The controller dies or stops while callers are in the menu: nobody gets dead air, every call
keeps exactly one record, and the controller comes back cleanly."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline, steps

pytestmark = pytest.mark.e2e
# the dialplan's own fallback with no controller at all: nothing restarts it here (the
# supervisor's restarts are tested in test_fault_controller.py)
SETTINGS = {"supervised": False}


def _in_menu(hotline: Hotline, call_ids: list[str]) -> bool:
    rows = [r for cid in call_ids for r in hotline.records_where(sip_call_id=cid)]
    return len(rows) == len(call_ids) and all(
        r["outcome"] == "in_progress" and "main" in steps(r) for r in rows)


def test_kill_9_sends_callers_to_the_dialplan_fallback_and_restart_is_clean(
        hotline: Hotline) -> None:
    plan = CallPlan(number=hotline.settings.hotline_number, keys="", count=2, max_call_s=90)
    ids = [plan.call_id(1), plan.call_id(2)]
    with ThreadPoolExecutor(1) as pool:
        in_call = pool.submit(place, plan, "127.0.0.1", hotline.settings.sip_port)
        hotline.wait_until(lambda: _in_menu(hotline, ids), 20, "both callers in the menu")
        hotline.kill_controller()
        # a caller arriving while the controller is dead gets the apology path at once
        (dead,) = hotline.call("1", wait_s=60, max_call_s=60)
        in_call.result()
    assert dead is not None
    assert dead["outcome"] == "fallback" and dead["path"] == []
    assert dead["queue_status"] == "JOINEMPTY"
    for record in wait_for_records(hotline.settings, ids, 60):
        assert record is not None
        assert record["outcome"] == "fallback"
        assert "main" in steps(record)  # what the controller saw is kept
        assert record["ended_at"] is not None
    hotline.start_controller()
    hotline.wait_until(lambda: (hotline.status() or {}).get("ami") == "connected", 20,
                       "AMI connected after restart")
    (again,) = hotline.call("", hangup_after_s=7.0)
    assert again is not None and "main" in steps(again)  # the controller serves again
    for call_id in ids + [dead["sip_call_id"], again["sip_call_id"]]:
        assert hotline.count_records(call_id) == 1


def test_sigterm_lets_the_call_finish_its_step_then_hands_it_to_operators(
        hotline: Hotline) -> None:
    plan = CallPlan(number=hotline.settings.hotline_number, keys="", max_call_s=90)
    call_id = plan.call_id(1)
    pid = hotline.controller_pid()
    assert pid
    with ThreadPoolExecutor(1) as pool:
        in_call = pool.submit(place, plan, "127.0.0.1", hotline.settings.sip_port)
        hotline.wait_until(lambda: _in_menu(hotline, [call_id]), 20, "caller in the menu")
        import os

        os.kill(pid, signal.SIGTERM)
        hotline.wait_until(lambda: hotline.controller_pid() is None, 60, "controller stopped")
        in_call.result()
    (record,) = wait_for_records(hotline.settings, [call_id], 30)
    assert record is not None
    assert record["outcome"] == "queued"
    assert "(controller_stopping)" in steps(record)
    assert record["path"][-1]["event"] == "controller_stopping"
    log = hotline.controller_log()
    assert "stopping: no new calls" in log and "controller stopped" in log
    hotline.start_controller()
    (again,) = hotline.call("", hangup_after_s=7.0)
    assert again is not None and "main" in steps(again)


def test_asterisk_restart_the_controller_reconnects_to_ami(hotline: Hotline) -> None:
    from hotline import processes

    hotline.wait_until(lambda: (hotline.status() or {}).get("ami") == "connected", 20,
                       "AMI connected")
    processes.stop_asterisk(hotline.settings)
    hotline.wait_until(lambda: (hotline.status() or {}).get("ami") != "connected", 20,
                       "the controller noticed Asterisk is gone")
    processes.start_asterisk(hotline.settings)
    hotline.wait_until(lambda: (hotline.status() or {}).get("ami") == "connected", 40,
                       "AMI reconnected")
    (record,) = hotline.call("", hangup_after_s=7.0)
    assert record is not None and "main" in steps(record)
    assert "AMI connected" in hotline.controller_log()
