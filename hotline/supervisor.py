"""The supervisor ``hotline up`` runs the controller under (the dev and demo way; a site runs
the controller under systemd instead: ``asterisk-config/systemd/``, docs/operations.md).

* A controller that exits (a crash, ``kill -9``, a stop nobody asked for) is started again: at
  once the first time, then after 1, 2, 4 ... up to 30 s while it keeps failing within a
  minute of its start (back-off), so a controller that cannot start (a broken menu) does not
  spin. Waiting callers stay in the dialplan meanwhile; the new controller takes them back.
* A controller that hangs (its event loop stalled: it accepts connections and answers none) is
  the same fault: its heartbeat file (``hotline/heartbeat.py``) stops changing, and after
  ``heartbeat_timeout_s`` it is killed (SIGKILL). Its FastAGI connections close, so the callers
  in its IVR get ``AGISTATUS`` FAILURE and the dialplan's fallback, and it is started again.
* SIGTERM (``hotline down``) stops the controller the clean way (it drains its calls; SIGKILL
  after ``stop_timeout_s``), then the supervisor.

Every restart is logged (``<runtime>/log/supervisor.log``) with its reason; the count, the last
reason and the controller's pid are in ``<runtime>/run/supervisor.json`` (``hotline status``).
A controller already running when the supervisor starts (one left by a supervisor that was
killed) is adopted, not started twice.

The decisions (is the controller hung? how long to wait before the next start?) are pure
functions of the times observed, tested without processes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from . import heartbeat, processes
from .config import Settings
from .processes import heartbeat_file, supervisor_pidfile, supervisor_statefile
from .redact import configure_logging

log = logging.getLogger("hotline.supervisor")


@dataclass(frozen=True)
class Policy:
    heartbeat_timeout_s: float = 5.0   # no beat for this long: hung, killed
    start_timeout_s: float = 60.0      # no first beat for this long after the start: killed
    stop_timeout_s: float = processes.SUPERVISOR_STOP_S - 10  # then SIGKILL
    backoff_s: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    stable_after_s: float = 60.0       # a controller that served this long resets the back-off
    check_every_s: float = 0.25


def restart_delay(policy: Policy, quick_failures: int) -> float:
    """Seconds to wait before the next start after ``quick_failures`` failures in a row (each
    within ``stable_after_s`` of its start; the first failure counts 1)."""
    steps = policy.backoff_s
    return steps[min(max(quick_failures - 1, 0), len(steps) - 1)]


def hung(policy: Policy, now: float, started_at: float, last_beat_at: float | None
         ) -> str | None:
    """Why a running controller must be killed, or None. Times are monotonic seconds:
    ``last_beat_at`` is when its heartbeat last changed (None: no beat yet since its start)."""
    if last_beat_at is None:
        if now - started_at > policy.start_timeout_s:
            return f"not ready within {policy.start_timeout_s:g} s of its start"
        return None
    silent = now - last_beat_at
    if silent > policy.heartbeat_timeout_s:
        return f"hung: no heartbeat for {silent:.1f} s"
    return None


def exit_reason(status: int) -> str:
    """A wait status in words: "exited with code 2", "killed by SIGKILL"."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, settings: Settings, policy: Policy = Policy()) -> None:
        self.settings = settings
        self.policy = policy
        self._stopping = False
        self.pid: int | None = None          # the controller's
        self._child = False                  # started by us (waitpid works) or adopted
        self._started_at = 0.0
        self._beat: tuple[int, float] | None = None  # (pid, mtime) last seen
        self._beat_at: float | None = None   # monotonic time it last changed
        self._quick_failures = 0
        self.state: dict[str, Any] = {
            "pid": os.getpid(), "state": "starting", "controller_pid": None,
            "controller_ready": False, "restarts": 0, "failed_starts": 0,
            "last_reason": None, "last_restart_at": None, "next_start_in_s": None,
        }

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop_requested)
        supervisor_pidfile(self.settings).write_text(f"{os.getpid()}\n")
        adopted = processes.controller_pid(self.settings)
        if adopted:
            log.info("supervising the running controller (pid %d)", adopted)
            self._watch(adopted, child=False)
        try:
            while not self._stopping:
                if self.pid is None:
                    self._start_after(restart_delay(self.policy, self._quick_failures))
                    continue
                reason = self._check()
                if reason is not None:
                    self._lost(reason)
                else:
                    time.sleep(self.policy.check_every_s)
        finally:
            self._stop_controller()
            self._save(state="stopped", controller_pid=None, controller_ready=False)
            if supervisor_pidfile(self.settings).exists() and \
                    supervisor_pidfile(self.settings).read_text().strip() == str(os.getpid()):
                supervisor_pidfile(self.settings).unlink()
            log.info("supervisor stopped")
        return 0

    def _stop_requested(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def _start_after(self, delay: float) -> None:
        if delay:
            self._save(next_start_in_s=delay)
            deadline = time.monotonic() + delay
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(min(self.policy.check_every_s, delay))
            if self._stopping:
                return
        self._watch(processes.spawn_controller(self.settings), child=True)
        log.info("controller started (pid %d)", self.pid)

    def _watch(self, pid: int, *, child: bool) -> None:
        self.pid, self._child = pid, child
        self._started_at = time.monotonic()
        self._beat, self._beat_at = heartbeat.read(heartbeat_file(self.settings)), None
        self._save(state="running", controller_pid=pid, controller_ready=False,
                   next_start_in_s=None)

    def _check(self) -> str | None:
        """Why the controller is gone or must go; None while it is fine."""
        assert self.pid is not None
        exited = self._exited()
        if exited is not None:
            return exited
        beat = heartbeat.read(heartbeat_file(self.settings))
        if beat is not None and beat[0] == self.pid and beat != self._beat:
            self._beat, self._beat_at = beat, time.monotonic()
            if not self.state["controller_ready"]:
                log.info("controller pid %d serves (first heartbeat)", self.pid)
                self._save(controller_ready=True, failed_starts=0)
        reason = hung(self.policy, time.monotonic(), self._started_at, self._beat_at)
        if reason is not None:
            log.error("controller pid %d %s: killing it (SIGKILL)", self.pid, reason)
            self._kill()
        return reason

    def _exited(self) -> str | None:
        assert self.pid is not None
        if not self._child:
            return None if processes._alive(self.pid) else "exited (adopted: status unknown)"
        try:
            done, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return "exited (status lost)"
        return exit_reason(status) if done else None

    def _kill(self) -> None:
        assert self.pid is not None
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while self._exited() is None and time.monotonic() < deadline:
            time.sleep(0.05)

    def _lost(self, reason: str) -> None:
        ran = time.monotonic() - self._started_at
        ready = bool(self.state["controller_ready"])
        stable = ready and ran >= self.policy.stable_after_s
        self._quick_failures = 1 if stable else self._quick_failures + 1
        restarts = int(self.state["restarts"]) + 1
        delay = restart_delay(self.policy, self._quick_failures)
        log.error("controller pid %d %s after %.1f s; restart #%d in %g s", self.pid, reason,
                  ran, restarts, delay)
        self.pid = None
        self._save(restarts=restarts, last_reason=reason, controller_pid=None,
                   controller_ready=False,
                   failed_starts=0 if ready else int(self.state["failed_starts"]) + 1,
                   last_restart_at=time.strftime("%Y-%m-%dT%H:%M:%S"))

    def _stop_controller(self) -> None:
        if self.pid is None or self._exited() is not None:
            return
        log.info("stopping the controller (pid %d): it drains its calls", self.pid)
        self._save(state="stopping")
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.policy.stop_timeout_s
        while self._exited() is None:
            if time.monotonic() > deadline:
                log.error("the controller did not stop within %g s: SIGKILL",
                          self.policy.stop_timeout_s)
                self._kill()
                break
            time.sleep(0.1)
        processes.controller_pidfile(self.settings).unlink(missing_ok=True)

    def _save(self, **changes: Any) -> None:
        self.state.update(changes)
        path = supervisor_statefile(self.settings)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.state))
            os.replace(tmp, path)
        except OSError as exc:
            log.error("cannot write %s (%s)", path, exc)


def run(settings: Settings) -> int:
    configure_logging(settings, sys.stdout)  # every line masked: no secret reaches the log
    return Supervisor(settings, Policy(
        heartbeat_timeout_s=settings.controller_heartbeat_timeout_s)).run()
