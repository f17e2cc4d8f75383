"""The automated part takes at most 40 callers at once; the 41st goes straight to the queue."""

from __future__ import annotations

import threading

import pytest

from hotline.sipcall import wait_for_records

from .conftest import Hotline
from .test_acd import operators

pytestmark = pytest.mark.e2e


def test_the_41st_simultaneous_caller_overflows_to_an_operator(hotline: Hotline) -> None:
    assert hotline.settings.ivr_lines == 40
    seen_in_use: list[int] = []

    def watch_lines() -> None:
        def full() -> bool:
            status = hotline.status() or {}
            seen_in_use.append(int(status.get("lines_in_use") or 0))
            return seen_in_use[-1] >= 40

        hotline.wait_until(full, 20, "40 IVR lines in use")

    watcher = threading.Thread(target=watch_lines)
    watcher.start()
    # 41 callers within about a second; each stays ~8 s, then hangs up; one operator is in
    with operators(hotline, op08="now"):
        result = hotline.place("", count=41, delay_ms=1000, hangup_after_s=7.0)
    watcher.join()
    records = wait_for_records(hotline.settings, result.call_ids, 30)
    assert all(records), "every caller has a record"
    outcomes = sorted(r["outcome"] for r in records if r)
    assert outcomes.count("overflow") == 1, outcomes
    assert outcomes.count("abandoned") == 40, outcomes
    overflow = next(r for r in records if r and r["outcome"] == "overflow")
    assert overflow["path"] == []  # never reached the IVR
    assert overflow["operator"] == "op08"  # the operator queue took it at once
    assert overflow["queue_status"] == "ANSWERED"
    assert max(seen_in_use) == 40
    # the lines are free again
    hotline.wait_until(lambda: (hotline.status() or {}).get("lines_in_use") == 0, 10,
                       "IVR lines released")
