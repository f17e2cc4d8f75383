"""The supervisor's decisions (hung or not, how long to wait before the next start, the reason
in words) as pure functions, and a controller that cannot start: one clear error, nothing left
running. Restarts of a killed and of a hung controller are end to end in
tests/e2e/test_fault_controller.py."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from hotline import config, processes
from hotline.cli import _lease_text, _supervisor_text
from hotline.supervisor import Policy, exit_reason, hung, restart_delay

POLICY = Policy(heartbeat_timeout_s=5.0, start_timeout_s=60.0)


def test_the_first_restart_is_at_once_then_the_wait_doubles_up_to_30_s() -> None:
    assert [restart_delay(POLICY, n) for n in range(1, 10)] == \
        [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert restart_delay(POLICY, 0) == 0.0  # the very first start


def test_a_controller_is_hung_when_its_heartbeat_stops_or_never_comes() -> None:
    assert hung(POLICY, now=100.0, started_at=50.0, last_beat_at=None) is None  # starting
    assert hung(POLICY, now=111.0, started_at=50.0, last_beat_at=None) == \
        "not ready within 60 s of its start"
    assert hung(POLICY, now=100.0, started_at=50.0, last_beat_at=95.5) is None
    assert hung(POLICY, now=100.0, started_at=50.0, last_beat_at=94.0) == \
        "hung: no heartbeat for 6.0 s"


def test_exit_reasons_in_words() -> None:
    """From the raw wait status, as the supervisor reaps its child."""
    child = os.posix_spawn(sys.executable, [sys.executable, "-c", "raise SystemExit(2)"],
                           os.environ)
    _, status = os.waitpid(child, 0)
    assert exit_reason(status) == "exited with code 2"
    child = os.posix_spawn(sys.executable, [sys.executable, "-c", "input()"], os.environ)
    os.kill(child, signal.SIGKILL)
    _, status = os.waitpid(child, 0)
    assert exit_reason(status) == "killed by SIGKILL"


def test_status_says_how_often_the_controller_was_restarted_and_why() -> None:
    assert _supervisor_text({"state": "not running"}) == \
        "not running (the controller is not restarted if it dies)"
    assert _supervisor_text({"state": "running", "pid": 42, "restarts": 0}) == \
        "running pid 42, controller restarts 0"
    assert _supervisor_text({
        "state": "running", "pid": 42, "restarts": 3, "last_reason": "killed by SIGKILL",
        "last_restart_at": "2026-12-07T14:00:00", "next_start_in_s": 2.0}) == (
        "running pid 42, controller restarts 3 (last: killed by SIGKILL at "
        "2026-12-07T14:00:00), next start in 2 s")


def test_a_controller_that_cannot_start_is_one_clear_error_and_nothing_stays(
        tmp_path: Path) -> None:
    """No prompts built: the menu cannot load and the controller exits with code 2. The
    supervisor would try again and again; `hotline up` says so once and stops it."""
    settings = config.load_or_create(tmp_path, ami_port=config.free_port(),
                                     agi_port=config.free_port(),
                                     redis_port=config.free_port())
    for folder in ("run", "log"):
        (settings.runtime / folder).mkdir()
    with pytest.raises(processes.StartError) as failed:
        processes.start_controller(settings)
    assert str(failed.value) == \
        f"the controller exited at start; see {settings.logs / 'controller.log'}"
    assert processes.supervisor_pid(settings) is None
    assert processes.controller_pid(settings) is None
    log = (settings.logs / "supervisor.log").read_text()
    assert "exited with code 2" in log and "supervisor stopped" in log


def test_status_says_whether_the_acd_lease_is_renewed() -> None:
    assert _lease_text({"renewed_s_ago": 0.4, "not_renewed_because": None}) == \
        "renewed 0.4 s ago (waiting callers stay with the ACD)"
    assert _lease_text({"renewed_s_ago": 5.3,
                        "not_renewed_because": "Redis does not answer (TimeoutError)"}) == (
        "not renewed: Redis does not answer (TimeoutError) (waiting callers go to the fallback "
        "queue unless another controller renews it)")
