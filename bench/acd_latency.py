"""ACD latency: from "an operator becomes free" to "the operator's phone rings", our ACD vs
Asterisk's app_queue with the same operator, in the same run.

    .venv/bin/python -m bench.acd_latency                 # 20 rounds (~5.5 min)
    .venv/bin/python -m bench.acd_latency --quick         # 5 rounds (~1.5 min)
    .venv/bin/python -m bench.acd_latency --rounds 40 --operator op13 --json > out.json
    .venv/bin/python -m bench.acd_latency --roster 50     # 49 more operators logged in, paused
    .venv/bin/python -m bench.acd_latency --roster 50 --waiting 150   # and a long queue

One private hotline (Asterisk 16, Redis, controller) is started as ``tests/e2e/conftest.py``
starts it, in a temp runtime folder on free ports. The benchmark writes
``<runtime>/etc/extensions_local.conf`` (19001198 in ``[from-trunk]``: ``Answer``, then straight
into ``Queue(operators)``, Asterisk's own queue with the 50 operators as static members) and
``manager_local.conf`` (its own AMI user: loopback, generated secret, read/write call,agent),
reloads both, registers one SIPp operator phone (``hotline.sipagent.SippOperator``, it rings
and never answers) and logs it in to our ACD.

Each round measures both sides, in alternating order (AB, BA, ...), after one discarded
warm-up round:

* **ours**: the operator is paused in our ACD; a SIPp caller (a number that is no customer)
  presses 0 at the main menu of 19001122 and ends up waiting in ``acd-wait``. Once the
  controller lists the call as waiting (``acd`` on the control socket), after a random pause,
  the benchmark sends ``agent opNN unpause`` on the control socket.
* **app_queue**: the same operator is paused in app_queue (AMI ``QueuePause``); a SIPp caller
  dials 19001198. Once ``QueueCallerJoin`` came and ``QueueStatus`` shows the caller in the
  queue and the member paused, after a random pause, the benchmark sends ``QueuePause
  Interface=PJSIP/opNN Paused=false``.

The latency is from ``time.time()`` taken right before the request is written to the socket to
the kernel receive timestamp of the first INVITE that reaches the operator phone's UDP port
(a read-only ``AF_PACKET`` socket on ``lo`` with a kernel BPF filter,
``bench.rig.LoopbackSniffer``; root only). Two more read-only sockets on the AMI and Redis ports split
our side: the controller's part ends when its ``Action: Originate`` is on the wire (with the
Redis requests it made on the way and the time it waited for their replies), Asterisk's part
is from that Originate to the INVITE. Then the caller is hung up (AMI ``Hangup``), which stops
the ring, and the operator is paused again. Everything is stopped at the end, also on errors
and SIGTERM. This is a benchmark: it prints numbers and never fails on timing.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acd.ami.protocol import ActionComplete, AmiConnection, EventReceived, Message
from bench.rig import (
    LoopbackSniffer,
    add_run_options,
    caller_number,
    install_local_config,
    log,
    manager_user,
    ms_summary,
    private_settings,
    run_report,
    sound_ms,
    start_hotline,
    stop_hotline,
)
from hotline import config, processes
from hotline.sipagent import SippOperator
from hotline.sipcall import CallError, CallPlan, place

HOTLINE = "19001122"
QUEUE_NUMBER = "19001198"
QUEUE = "operators"
AMI_USER = "acdbench"
SIDES = ("ours", "app_queue")
GOAL_MS = 100.0
LABEL = 50                # width of the table's first column
CALLER_PREFIX = "02897"   # callers: 02897, the side, the round (no demo customer has them)
KEY_MARGIN_MS = 1500      # key 0 goes this long after the welcome prompt's length
JOIN_TIMEOUT_S = 30.0     # a caller must be waiting within this long
RING_TIMEOUT_S = 8.0      # an INVITE must reach the phone within this long of the unpause
SETTLE_S = 0.3            # after the join, before the random part of the pause
KEPT_EVENTS = {"Newchannel", "Hangup", "QueueCallerJoin", "QueueMemberPause"}


def local_dialplan() -> str:
    return "\n".join([
        "; Written by bench/acd_latency.py into a private benchmark instance: callers of this",
        "; number go straight into Asterisk's app_queue (the 'operators' queue of queues.conf).",
        "[from-trunk](+)",
        f"exten => {QUEUE_NUMBER},1,Answer()",
        f" same => n,Queue({QUEUE},,,,600)",
        " same => n,Hangup()", ""])


# == AMI: a blocking client on the project's sans-IO protocol core ===============================


class Ami:
    """One AMI session: ``action()`` blocks for the answer; a reader thread keeps the events
    the benchmark needs (with the time they arrived and Asterisk's ``Timestamp``)."""

    def __init__(self, port: int, user: str, secret: str) -> None:
        self.conn = AmiConnection(action_id_prefix="acdbench")
        self.lock = threading.Lock()
        self.changed = threading.Condition()
        self.answers: dict[str, ActionComplete] = {}
        self.events: list[dict[str, str | float]] = []
        self.stopping = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, name="ami", daemon=True)
        self.thread.start()
        challenge = self.action("Challenge", [("AuthType", "MD5")]).response.get("Challenge", "")
        key = hashlib.md5((challenge + secret).encode()).hexdigest()
        login = self.action("Login", [("AuthType", "MD5"), ("Username", user), ("Key", key),
                                      ("Events", "call,agent")])
        if login.response.get("Response", "").lower() != "success":
            raise SystemExit(f"AMI login as {user} refused: {login.response.get('Message')}")

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError, InterruptedError):
                continue
            except OSError:
                break
            if not data:
                break
            now = time.time()
            with self.lock:
                out = self.conn.receive_data(data)
            kept = False
            for item in out:
                if isinstance(item, ActionComplete):
                    self.answers[item.action_id] = item
                    kept = True
                elif isinstance(item, EventReceived) and item.message.name in KEPT_EVENTS:
                    self.events.append(self._compact(item.message, now))
                    kept = True
            if kept:
                with self.changed:
                    self.changed.notify_all()
        with self.changed:
            self.stopping.set()
            self.changed.notify_all()

    @staticmethod
    def _compact(m: Message, now: float) -> dict[str, str | float]:
        out: dict[str, str | float] = {"event": m.name, "recv": now,
                                       "ts": float(m.get("Timestamp") or "nan")}
        for name in ("Channel", "Uniqueid", "CallerIDNum", "Queue", "Interface", "Paused"):
            out[name.lower()] = m.get(name, "")
        return out

    def send(self, name: str, headers: list[tuple[str, str]]) -> tuple[str, float]:
        """Write one action; returns its ActionID and the time taken right before the write."""
        with self.lock:
            action_id, data = self.conn.send(name, headers)
        sent = time.time()
        self.sock.sendall(data)
        return action_id, sent

    def wait(self, action_id: str, timeout: float = 10.0) -> ActionComplete:
        deadline = time.monotonic() + timeout
        with self.changed:
            while action_id not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.stopping.is_set():
                    with self.lock:
                        self.conn.forget(action_id)
                    raise TimeoutError(f"no AMI answer to {action_id} within {timeout:g} s")
                self.changed.wait(left)
            return self.answers.pop(action_id)

    def action(self, name: str, headers: list[tuple[str, str]] | None = None,
               timeout: float = 10.0) -> ActionComplete:
        return self.wait(self.send(name, headers or [])[0], timeout)

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}: not within {timeout:g} s")
                self.changed.wait(min(left, 0.2))
            return value

    def find(self, event: str, **fields: str) -> list[dict[str, str | float]]:
        return [e for e in list(self.events) if e["event"] == event and
                all(e.get(k) == v for k, v in fields.items())]

    def close(self) -> None:
        if not self.stopping.is_set():
            try:
                self.action("Logoff", timeout=2)
            except (OSError, TimeoutError):
                pass
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


# == on the wire ==================================================================================


def resp_commands(payload: bytes) -> list[str]:
    """The command names in a client-to-Redis segment (RESP arrays of bulk strings)."""
    names, i = [], 0
    try:
        while i < len(payload) and payload[i:i + 1] == b"*":
            end = payload.index(b"\r\n", i)
            count, i = int(payload[i + 1:end]), end + 2
            first = "?"
            for k in range(count):
                end = payload.index(b"\r\n", i)
                length, i = int(payload[i + 1:end]), end + 2
                if k == 0:
                    first = payload[i:i + length].decode(errors="replace").upper()
                i += length + 2
            names.append(first)
    except ValueError:  # a segment cut short (a large HSET): count what was read
        names.append("?")
    return names or ["?"]


class Wire:
    """Kernel-timestamped copies of loopback packets (root only; they change no traffic):
    INVITEs to the operator's phone, the AMI actions that ring it, the controller's Redis
    traffic."""

    def __init__(self, phone_port: int, ami_port: int, redis_port: int) -> None:
        self.phone_port, self.ami_port, self.redis_port = phone_port, ami_port, redis_port
        self.invites: list[tuple[float, str]] = []            # (ts, From header)
        self.actions: list[tuple[float, str]] = []            # (ts, action name)
        self.redis: list[tuple[float, int, bool, bytes]] = []  # (ts, conn port, to redis, data)
        self.sniffers: list[LoopbackSniffer] = []
        try:
            self.sniffers = [LoopbackSniffer(17, phone_port, phone_port, self._sip),
                             LoopbackSniffer(6, ami_port, ami_port, self._ami),
                             LoopbackSniffer(6, redis_port, redis_port, self._redis)]
        except OSError:
            self.stop()
            raise

    def start(self) -> None:
        for sniffer in self.sniffers:
            sniffer.start()

    def stop(self) -> None:
        for sniffer in self.sniffers:
            sniffer.stop()
        self.sniffers = []

    def _sip(self, ts: float, sport: int, dport: int, payload: bytes) -> None:
        if dport == self.phone_port and payload.startswith(b"INVITE "):
            head = payload.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
            sender = next((line for line in head.split("\r\n")
                           if line.lower().startswith(("from:", "f:"))), "")
            self.invites.append((ts, sender))

    def _ami(self, ts: float, sport: int, dport: int, payload: bytes) -> None:
        if dport != self.ami_port:
            return
        for name in (b"Originate", b"QueuePause"):
            if b"Action: " + name + b"\r\n" in payload:
                self.actions.append((ts, name.decode()))

    def _redis(self, ts: float, sport: int, dport: int, payload: bytes) -> None:
        to_redis = dport == self.redis_port
        self.redis.append((ts, sport if to_redis else dport, to_redis, payload[:4096]))

    def first_invite(self, after: float, caller: str) -> tuple[float, str] | None:
        return next(((ts, sender) for ts, sender in list(self.invites)
                     if ts >= after and caller in sender), None)

    def invites_between(self, start: float, end: float) -> int:
        return sum(1 for ts, _ in list(self.invites) if start <= ts < end)

    def action_after(self, name: str, after: float, before: float) -> float | None:
        return next((ts for ts, n in list(self.actions) if n == name and after <= ts < before),
                    None)

    def redis_between(self, start: float, end: float) -> dict[str, Any]:
        """The controller's Redis requests in [start, end): how many, which, and how long it
        waited for the replies (request segment out -> first reply segment back, per
        connection)."""
        segments = list(self.redis)
        requests = [(ts, conn, data) for ts, conn, to_redis, data in segments
                    if to_redis and start <= ts < end]
        waited, commands, last_reply = 0.0, [], start
        for ts, conn, data in requests:
            commands += resp_commands(data)
            reply = next((r for r, c, to_redis, _ in segments
                          if not to_redis and c == conn and r > ts), None)
            if reply is not None:
                waited += min(reply, end) - ts
                last_reply = max(last_reply, min(reply, end))
        return {"requests": len(requests), "commands": commands,
                "first_ms": (requests[0][0] - start) * 1e3 if requests else float("nan"),
                "wait_ms": waited * 1e3, "last_reply": last_reply}


# == the benchmark ================================================================================


class Bench:
    def __init__(self, settings: config.Settings, ami: Ami, wire: Wire | None,
                 operator: str, phone: SippOperator, rng: random.Random, jitter_s: float,
                 key_delay_ms: int) -> None:
        self.settings, self.ami, self.wire = settings, ami, wire
        self.operator, self.phone, self.rng = operator, phone, rng
        self.jitter_s, self.key_delay_ms = jitter_s, key_delay_ms
        self.interface = f"PJSIP/{operator}"
        self.caller_errors: list[str] = []

    # -- helpers ---------------------------------------------------------------------------------

    def control(self, line: str, timeout: float = 10.0) -> tuple[float, float, Any]:
        """One control-socket request: (time right before the write, time of the answer,
        answer). The connection is open before the clock starts, as the AMI one is."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(processes.control_socket(self.settings)))
            sent = time.time()
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return sent, time.time(), json.loads(data) if data else None

    def agent_state(self) -> str:
        rows = processes.controller_request(self.settings, "agents") or []
        return next((r["state"] for r in rows if r["agent"] == self.operator), "?")

    def until(self, predicate: Callable[[], Any], timeout: float, what: str,
              every: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout:g} s")
            time.sleep(every)
        return value

    def ours_paused(self) -> None:
        state = self.until(lambda: (s := self.agent_state()) in ("available", "paused") and s,
                           15, f"{self.operator} free or paused in our ACD")
        if state != "paused":
            answer = processes.controller_request(self.settings, f"agent {self.operator} pause")
            if not answer or answer.get("state") != "paused":
                raise SystemExit(f"could not pause {self.operator} in our ACD: {answer}")

    def queue_pause(self, paused: bool) -> float:
        action_id, sent = self.ami.send("QueuePause", [
            ("Interface", self.interface), ("Queue", QUEUE),
            ("Paused", "true" if paused else "false")])
        answer = self.ami.wait(action_id)
        if answer.response.get("Response", "").lower() != "success":
            raise SystemExit(f"QueuePause {self.interface} paused={paused} refused: "
                             f"{answer.response.get('Message')}")
        return sent

    def queue_status(self) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The operator's QueueMember row and the callers (QueueEntry) in the queue."""
        answer = self.ami.action("QueueStatus", [("Queue", QUEUE)])
        member: dict[str, str] = {}
        entries = []
        for m in answer.events:
            row = {k: v for k, v in m.headers}
            if m.name == "QueueMember" and self.interface in (row.get("Location"),
                                                             row.get("StateInterface")):
                member = row
            elif m.name == "QueueEntry":
                entries.append(row)
        return member, entries

    def start_caller(self, number: str, caller: str, keys: str, delay_ms: int
                     ) -> threading.Thread:
        plan = CallPlan(number=number, keys=keys, caller=caller, delay_ms=delay_ms,
                        max_call_s=90)

        def call() -> None:
            try:
                place(plan, "127.0.0.1", self.settings.sip_port)
            except (CallError, OSError, ValueError) as exc:  # UnicodeDecodeError: a ValueError
                self.caller_errors.append(f"{caller}: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=call, name=f"caller {caller}", daemon=True)
        thread.start()
        return thread

    def caller_channel(self, caller: str) -> dict[str, str | float]:
        def placed() -> dict[str, str | float] | None:
            return next(iter(self.ami.find("Newchannel", calleridnum=caller)), None)

        found: dict[str, str | float] = self.ami.wait_for(placed, 20, f"the call from {caller}")
        return found

    def operator_channel(self, after: float) -> dict[str, str | float] | None:
        prefix = f"{self.interface}-"
        return next((e for e in self.ami.find("Newchannel") if str(e["channel"])
                     .startswith(prefix) and float(e["recv"]) >= after), None)

    def finish(self, thread: threading.Thread, channel: dict[str, str | float] | None) -> None:
        """Hang up the caller (which stops the ring) and wait until the caller and every
        channel of the operator are gone."""
        if channel is not None:
            try:
                self.ami.action("Hangup", [("Channel", str(channel["channel"]))])
            except TimeoutError:
                pass
        thread.join(30)
        prefix = f"{self.interface}-"

        def idle() -> bool:
            opened = {e["channel"] for e in self.ami.find("Newchannel")
                      if str(e["channel"]).startswith(prefix)}
            closed = {e["channel"] for e in self.ami.find("Hangup")
                      if str(e["channel"]).startswith(prefix)}
            return opened <= closed

        self.ami.wait_for(idle, 15, f"{self.operator}'s phone idle")

    def pause_before_unpause(self) -> float:
        pause = SETTLE_S + self.rng.uniform(0, self.jitter_s)
        time.sleep(pause)
        return pause

    def ring(self, caller: str, sent: float) -> tuple[float, str] | None:
        """The first INVITE for this caller at the phone (wire), or the operator channel's
        Newchannel (AMI Timestamp) without root."""
        deadline = time.monotonic() + RING_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.wire is not None:
                found = self.wire.first_invite(sent, caller)
                if found is not None:
                    return found
            else:
                chan = self.operator_channel(sent)
                if chan is not None:
                    return float(chan["ts"]), str(chan["channel"])
            time.sleep(0.01)
        return None

    # -- one measurement per side ----------------------------------------------------------------

    def ours(self, caller: str) -> dict[str, Any]:
        self.ours_paused()
        started = time.time()
        thread = self.start_caller(HOTLINE, caller, "0", self.key_delay_ms)
        channel = None
        try:
            channel = self.caller_channel(caller)
            call_id = str(channel["uniqueid"])

            def joined() -> bool:
                waiting = (processes.controller_request(self.settings, "acd") or {}).get(
                    "waiting", [])
                return call_id in waiting

            self.until(joined, JOIN_TIMEOUT_S, f"call {call_id} waiting in our ACD", 0.1)
            joined_at = time.time()
            if (state := self.agent_state()) != "paused":
                return {"status": f"operator {state}, not paused"}
            pause = self.pause_before_unpause()
            early = self.wire.invites_between(started, time.time()) if self.wire else 0
            sent, answered, answer = self.control(f"agent {self.operator} unpause")
            found = self.ring(caller, sent)
            sample: dict[str, Any] = {"status": "ok", "caller": caller, "call_id": call_id,
                                      "sent": sent, "join_to_unpause_s": sent - joined_at,
                                      "pause_s": pause, "reply_ms": (answered - sent) * 1e3,
                                      "reply_state": (answer or {}).get("state")}
            if early:
                sample["status"] = "rang_before_unpause"
            if found is None:
                sample["status"] = "no_ring"
                return sample
            sample["ring_ts"], sample["ms"] = found[0], (found[0] - sent) * 1e3
            chan = self.operator_channel(sent - 1)
            if chan is not None:
                sample["chan_ms"] = (float(chan["ts"]) - sent) * 1e3
            if self.wire is not None:
                originate = self.wire.action_after("Originate", sent, found[0])
                if originate is not None:
                    sample["controller_ms"] = (originate - sent) * 1e3
                    sample["asterisk_ms"] = (found[0] - originate) * 1e3
                    redis = self.wire.redis_between(sent, originate)
                    sample["redis_requests"] = redis["requests"]
                    sample["redis_commands"] = redis["commands"]
                    sample["redis_wait_ms"] = redis["wait_ms"]
                    sample["first_redis_ms"] = redis["first_ms"]
                    sample["last_redis_ms"] = (originate - redis["last_reply"]) * 1e3
                    sample["between_redis_ms"] = (sample["controller_ms"] - redis["wait_ms"]
                                                  - redis["first_ms"] - sample["last_redis_ms"])
            return sample
        finally:
            self.finish(thread, channel)

    def app_queue(self, caller: str) -> dict[str, Any]:
        self.ours_paused()  # our ACD must not ring this operator meanwhile
        self.queue_pause(True)
        started = time.time()
        thread = self.start_caller(QUEUE_NUMBER, caller, "", 100)
        channel = None
        try:
            channel = self.caller_channel(caller)
            join = self.ami.wait_for(lambda: next(iter(self.ami.find(
                "QueueCallerJoin", channel=str(channel["channel"]))), None),
                JOIN_TIMEOUT_S, f"{caller} in the queue")
            member, entries = self.queue_status()
            if not any(e.get("Channel") == channel["channel"] for e in entries):
                return {"status": "caller not in QueueStatus"}
            if member.get("Paused") != "1":
                return {"status": f"member not paused ({member.get('Paused')!r})"}
            pause = self.pause_before_unpause()
            early = self.wire.invites_between(started, time.time()) if self.wire else 0
            action_id, sent = self.ami.send("QueuePause", [
                ("Interface", self.interface), ("Queue", QUEUE), ("Paused", "false")])
            found = self.ring(caller, sent)
            answer = self.ami.wait(action_id)
            sample: dict[str, Any] = {"status": "ok", "caller": caller, "sent": sent,
                                      "join_ts": float(join["ts"]), "pause_s": pause,
                                      "member_status": member.get("Status"),
                                      "reply": answer.response.get("Response")}
            if early:
                sample["status"] = "rang_before_unpause"
            if found is None:
                sample["status"] = "no_ring"
                return sample
            sample["ring_ts"], sample["ms"] = found[0], (found[0] - sent) * 1e3
            sample["join_to_ring_mod_1s"] = (found[0] - float(join["ts"])) % 1.0
            chan = self.operator_channel(sent - 1)
            if chan is not None:
                sample["chan_ms"] = (float(chan["ts"]) - sent) * 1e3
            if self.wire is not None:
                on_wire = self.wire.action_after("QueuePause", sent, found[0])
                if on_wire is not None:
                    sample["wire_send_ms"] = (on_wire - sent) * 1e3
            return sample
        finally:
            self.finish(thread, channel)
            self.queue_pause(True)


def _sipp_children() -> list[int]:
    """SIPp processes this benchmark started (its direct children)."""
    me, out = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        if name == "sipp" and int(fields[1]) == me:
            out.append(int(entry.name))
    return out


def _stop_sipp_children() -> None:
    """Callers SIPp still runs: only ours, by pid."""
    for pid in _sipp_children():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = private_settings("acd-latency-")
    ami: Ami | None = None
    wire: Wire | None = None
    phone: SippOperator | None = None
    wire_note = ""
    samples: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    roster: list[str] = []
    info: dict[str, Any] = {}
    try:
        info["asterisk"] = start_hotline(settings)
        secret = secrets.token_urlsafe(24)
        install_local_config(
            settings, local_dialplan(),
            manager_user("; Written by bench/acd_latency.py: the benchmark's AMI user (QueuePause,"
                         " QueueStatus,\n; Hangup of its own callers; call and queue events).",
                         AMI_USER, secret, read="call,agent", write="call,agent"),
            number=QUEUE_NUMBER, expect=f"Queue({QUEUE}", ami_user=AMI_USER)
        ami = Ami(settings.ami_port, AMI_USER, secret)
        phone = SippOperator(args.operator, settings.operator_passwords[args.operator],
                             "127.0.0.1", settings.sip_port, answer="never", talk_s=None,
                             wait_s=3600)
        phone.start()
        # SippOperator does not expose the port its phone listens on: read SIPp's arguments
        process = phone._process
        assert process is not None
        phone_args = [str(a) for a in process.args]  # type: ignore[union-attr]
        phone_port = int(phone_args[phone_args.index("-p") + 1])
        log(f"{args.operator}'s SIPp phone registered, listening on udp/{phone_port}")
        if args.wire:
            try:
                wire = Wire(phone_port, settings.ami_port, settings.redis_port)
                wire.start()
            except OSError as exc:
                wire = None
                wire_note = (f"no wire timestamps ({exc}): the ring is the operator channel's "
                             "Newchannel by AMI Timestamp; run as root for the INVITE")
                log(wire_note)
        # app_queue: the member has to be reachable (registered) to be rung at all
        deadline = time.monotonic() + 15
        while not _member_not_in_use(settings, args.operator):
            if time.monotonic() > deadline:
                raise SystemExit(f"{args.operator} is not 'Not in use' in app_queue's "
                                 f"{QUEUE} queue: {processes.asterisk_cli(settings, 'queue show')}")
            time.sleep(0.2)
        for name in [args.operator] + [op for op in settings.operators
                                       if op != args.operator][:max(0, args.roster - 1)]:
            answer = processes.controller_request(settings, f"agent {name} login")
            if not answer or answer.get("state") != "available":
                raise SystemExit(f"could not log {name} in: {answer}")
            answer = processes.controller_request(settings, f"agent {name} pause")
            if not answer or answer.get("state") != "paused":
                raise SystemExit(f"could not pause {name}: {answer}")
            roster.append(name)
        if args.waiting:
            add_unservable_calls(settings, args.waiting)
            log(f"{args.waiting} synthetic waiting calls (language fr) in Redis")
        welcome_ms = sound_ms(settings.sounds / "vi" / "welcome.wav")
        key_delay_ms = welcome_ms + KEY_MARGIN_MS
        bench = Bench(settings, ami, wire, args.operator, phone, random.Random(args.seed),
                      args.jitter, key_delay_ms)
        log(f"{len(roster)} operator(s) logged in to our ACD, all paused; {args.rounds} rounds "
            f"+1 warm-up, alternating; key 0 {key_delay_ms} ms after the answer; unpause "
            f"{SETTLE_S:.1f}-{SETTLE_S + args.jitter:.1f} s after the join")
        for round_index in range(-1, args.rounds):
            order = SIDES if round_index % 2 == 0 else SIDES[::-1]
            results = {}
            for side in order:
                caller = caller_number(CALLER_PREFIX, SIDES.index(side), round_index + 1)
                started = time.perf_counter()
                sample = bench.ours(caller) if side == "ours" else bench.app_queue(caller)
                sample.update(side=side, round=round_index,
                              wall_s=time.perf_counter() - started)
                results[side] = sample
                if round_index >= 0:
                    samples[side].append(sample)
            label = "warm-up" if round_index < 0 else f"round {round_index + 1}/{args.rounds}"
            log(f"{label:>12}: " + " | ".join(_progress(results[s]) for s in SIDES))
        info["controller_log_lines"] = _log_lines(settings)
        info["caller_errors"] = bench.caller_errors
    finally:
        if wire is not None:
            wire.stop()
        if ami is not None:
            ami.close()
        if phone is not None:
            phone.stop()
        stop_hotline(settings, args.keep_runtime, cleanup=_stop_sipp_children)
    return summarize(samples, wire is not None, wire_note, roster, info)


def add_unservable_calls(settings: config.Settings, count: int) -> None:
    """Waiting calls that nobody logged in can take (language fr: no operator of the roster
    speaks it, and the policy never relaxes the language), written into Redis in the layout of
    acd/live.py. Every routing pass reads each of them, as it reads real waiting callers."""
    from redis import Redis

    client = Redis(**settings.redis_connection(), socket_timeout=5)
    try:
        joined = time.time() - 1.0
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            call_id = f"bench-unservable-{n}"
            pipe.hset(f"acd:call:{call_id}", mapping={
                "caller": "", "skills": "general", "language": "fr", "priority": "0",
                "joined_at": repr(joined), "sticky": "", "state": "waiting", "agent": "",
                "channel": ""})
            pipe.zadd("acd:waiting", {call_id: joined})
        pipe.execute()
    finally:
        client.close()


def _member_not_in_use(settings: config.Settings, operator: str) -> bool:
    for line in processes.asterisk_cli(settings, f"queue show {QUEUE}").splitlines():
        if f"PJSIP/{operator} " in line or f"PJSIP/{operator})" in line:
            return "Not in use" in line
    return False


def _log_lines(settings: config.Settings) -> dict[str, int]:
    text = (settings.logs / "controller.log").read_text(errors="replace")
    return {"ringing": text.count("ACD: ringing"), "errors": text.count(" ERROR "),
            "warnings": text.count(" WARNING ")}


def _progress(s: dict[str, Any]) -> str:
    if s.get("status") != "ok":
        return f"{s['side']} {s.get('status')}"
    text = f"{s['side']} {s['ms']:7.2f} ms"
    if "controller_ms" in s:
        text += (f" (controller {s['controller_ms']:.2f}, {s['redis_requests']} Redis, "
                 f"Asterisk {s['asterisk_ms']:.2f})")
    return text


def summarize(samples: dict[str, list[dict[str, Any]]], wire: bool, wire_note: str,
              roster: list[str], info: dict[str, Any]) -> dict[str, Any]:
    sides: dict[str, Any] = {}
    for side in SIDES:
        ok = [s for s in samples[side] if s["status"] == "ok"]
        statuses: dict[str, int] = {}
        for s in samples[side]:
            statuses[s["status"]] = statuses.get(s["status"], 0) + 1
        sides[side] = {"statuses": statuses, **ms_summary(s["ms"] for s in ok),
                       "chan": ms_summary(s["chan_ms"] for s in ok if "chan_ms" in s)}
    ours_ok = [s for s in samples["ours"] if s["status"] == "ok"]
    for part in ("controller", "asterisk", "redis_wait", "first_redis", "last_redis",
                 "between_redis", "reply"):
        sides["ours"][part] = ms_summary(s[f"{part}_ms"] for s in ours_ok
                                         if f"{part}_ms" in s)
    requests = [s["redis_requests"] for s in ours_ok if "redis_requests" in s]
    sides["ours"]["redis_requests"] = {
        "median": statistics.median(requests) if requests else float("nan"),
        "min": min(requests, default=0), "max": max(requests, default=0)}
    typical: list[str] = next((s["redis_commands"] for s in ours_ok
                    if s.get("redis_requests") == min(requests, default=-1)), [])
    sides["ours"]["redis_commands_fewest"] = typical
    aq_ok = [s for s in samples["app_queue"] if s["status"] == "ok"]
    phases = sorted(s["join_to_ring_mod_1s"] for s in aq_ok if "join_to_ring_mod_1s" in s)
    sides["app_queue"]["join_to_ring_mod_1s"] = {
        "median": statistics.median(phases) if phases else float("nan"),
        # circular spread: the smallest arc that holds every phase
        "spread": _circular_spread(phases)}
    paired = []
    by_round = {s["round"]: s for s in samples["app_queue"] if s["status"] == "ok"}
    for s in ours_ok:
        other = by_round.get(s["round"])
        if other is not None and other["ms"] > 0:
            paired.append(s["ms"] / other["ms"])
    ours, aq = sides["ours"], sides["app_queue"]
    ratio = {q: ours[f"{q}_ms"] / aq[f"{q}_ms"] if aq[f"{q}_ms"] > 0 else float("nan")
             for q in ("p50", "p99", "mean")}
    ratio.update(paired_median=statistics.median(paired) if paired else float("nan"),
                 paired_min=min(paired, default=float("nan")),
                 paired_max=max(paired, default=float("nan")))
    return {"sides": sides, "ratio": ratio, "goal_ms": GOAL_MS, "wire": wire,
            "wire_note": wire_note, "roster": roster, "info": info, "samples": samples}


def _circular_spread(phases: list[float]) -> float:
    if len(phases) < 2:
        return float("nan")
    gaps = [b - a for a, b in itertools.pairwise(phases)] + [phases[0] + 1.0 - phases[-1]]
    return 1.0 - max(gaps)


# == the report ===================================================================================


def _row(label: str, s: dict[str, float], extra: str = "") -> str:
    return (f"   {label:<{LABEL}} {s['n']:>3} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} "
            f"{s['mean_ms']:>8.2f} {s['min_ms']:>8.2f} {s['max_ms']:>8.2f}{extra}")


def _runs(names: list[str]) -> str:
    """HGETALL HGETALL HGETALL -> HGETALL x3"""
    out = []
    for name, group in itertools.groupby(names):
        n = sum(1 for _ in group)
        out.append(f"{name} x{n}" if n > 1 else name)
    return " ".join(out)


def render(report: dict[str, Any]) -> str:
    cfg, calls = report["config"], report["calls"]
    sides, ratio = calls["sides"], calls["ratio"]
    ours, aq = sides["ours"], sides["app_queue"]
    op = cfg["operator"]
    out = [
        (f"ACD latency: operator becomes free -> operator's phone rings; Python {cfg['python']}, "
         f"{cfg['cpus']} CPUs, {calls['info'].get('asterisk', 'Asterisk ?')}"),
        (f"   {cfg['rounds']} rounds (+1 warm-up), sides alternating; operator {op} on a SIPp "
         f"phone; {len(calls['roster'])} operator(s) logged in to our ACD"
         + (f", {cfg['waiting']} synthetic waiting calls" if cfg.get("waiting") else "")
         + "; unpause "
         f"{SETTLE_S:.1f}-{SETTLE_S + cfg['jitter_s']:.1f} s after the caller joined"),
        ("   from: time.time() right before the unpause request is written -> to: "
         + ("kernel timestamp of the first INVITE at the phone's UDP port" if calls["wire"]
            else "Newchannel of the operator's channel (AMI Timestamp)")),
        "",
    ]
    header = (f"   {'':<{LABEL}} {'n':>3} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
              f"{'min ms':>8} {'max ms':>8}")
    out += [header, "   " + "-" * (len(header) - 3)]
    out.append(_row(f"ours: `agent {op} unpause` (control socket)", ours))
    if ours["controller"]["n"]:
        rq = ours["redis_requests"]
        out.append(_row("  unpause -> Originate on the AMI wire", ours["controller"]))
        out.append(_row("    of it: unpause -> first Redis request", ours["first_redis"]))
        out.append(_row("    of it: waiting for Redis replies", ours["redis_wait"],
                        f"   ({rq['median']:.0f} requests, {rq['min']}-{rq['max']})"))
        out.append(_row("    of it: between Redis round trips", ours["between_redis"]))
        out.append(_row("    of it: last Redis reply -> Originate", ours["last_redis"]))
        out.append(_row("  Originate on the wire -> INVITE (Asterisk)", ours["asterisk"]))
    if ours["chan"]["n"]:
        out.append(_row("  unpause -> operator channel (AMI Timestamp)", ours["chan"]))
    out.append(_row("  unpause -> control socket answer", ours["reply"]))
    out.append(_row(f"app_queue: QueuePause {op} Paused=false (AMI)", aq))
    if aq["chan"]["n"]:
        out.append(_row("  QueuePause -> operator channel (AMI Timestamp)", aq["chan"]))
    phase = aq["join_to_ring_mod_1s"]
    if phase["median"] == phase["median"]:
        out.append(f"   {'  (ring - caller join) mod 1 s':<{LABEL}} {'':>3} median "
                   f"{phase['median'] * 1e3:.0f} ms, all within a {phase['spread'] * 1e3:.0f} "
                   "ms arc")
    out.append(f"   {'ratio ours/app_queue':<{LABEL}} {'':>3} {ratio['p50']:>7.3f}x "
               f"{ratio['p99']:>7.3f}x {ratio['mean']:>7.3f}x")
    out.append(f"   {'paired rounds, ratio ours/app_queue':<{LABEL}} {'':>3} "
               f"{ratio['paired_median']:>7.3f}x   median (range {ratio['paired_min']:.3f}-"
               f"{ratio['paired_max']:.3f}x)")
    for side in SIDES:
        other = {k: v for k, v in sides[side]["statuses"].items() if k != "ok"}
        if other:
            out.append(f"   note {side}: not measured: {other}")
    if calls["wire_note"]:
        out.append(f"   ({calls['wire_note']})")
    errors = calls["info"].get("caller_errors") or []
    if errors:
        out.append(f"   note: {len(errors)} SIPp caller run(s) ended in an error after the "
                   f"measurement (hotline.sipcall.place), e.g. {errors[0][:160]}")
    lines = calls["info"].get("controller_log_lines") or {}
    if lines.get("errors") or lines.get("warnings"):
        out.append(f"   note: the controller log has {lines['errors']} ERROR and "
                   f"{lines['warnings']} WARNING lines")
    if ours["redis_commands_fewest"]:
        out.append(f"   Redis commands on the way (fewest seen): "
                   f"{_runs(ours['redis_commands_fewest'])}")
    verdict = ("meets" if ours["p99_ms"] < GOAL_MS else "misses")
    out += ["", (f"Verdict: ours {verdict} the goal: p99 {ours['p99_ms']:.2f} ms "
                 f"(p50 {ours['p50_ms']:.2f}) vs {GOAL_MS:.0f} ms; app_queue p50 "
                 f"{aq['p50_ms']:.2f} ms, p99 {aq['p99_ms']:.2f} ms.")]
    out.append("Reading: " + reading(calls))
    out.append(f"total time {cfg['total_s']:.1f} s")
    return "\n".join(out)


def reading(calls: dict[str, Any]) -> str:
    ours, aq = calls["sides"]["ours"], calls["sides"]["app_queue"]
    parts = []
    if ours["controller"]["n"]:
        parts.append(
            f"of our {ours['p50_ms']:.2f} ms p50, the controller takes "
            f"{ours['controller']['p50_ms']:.2f} ms to put its Originate on the wire "
            f"({ours['redis_requests']['median']:.0f} Redis round trips: "
            f"{ours['redis_wait']['p50_ms']:.2f} ms waiting for Redis, "
            f"{ours['between_redis']['p50_ms']:.2f} ms of Python between them) and Asterisk "
            f"{ours['asterisk']['p50_ms']:.2f} ms from the Originate to the INVITE; the unpause "
            "routes at once (agent_command -> route()), so neither the 2 s tick nor the event "
            "worker's queue is on this path")
    phase = aq["join_to_ring_mod_1s"]
    if phase["spread"] == phase["spread"] and phase["spread"] < 0.2 and aq["n"] >= 5:
        parts.append(
            f"app_queue rings at a fixed phase of the caller's join (all {aq['n']} rings within "
            f"a {phase['spread'] * 1e3:.0f} ms arc mod 1 s): it does not react to the unpause "
            "but polls once a second, so its latency is spread over 0-1 s "
            f"(min {aq['min_ms']:.0f}, max {aq['max_ms']:.0f} ms)")
    return "; ".join(parts) + "." if parts else "see the table."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.acd_latency",
        description="Operator free -> operator ringing: our ACD vs app_queue, same operator, "
                    "same run, on a private Asterisk 16 hotline.")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measured rounds, one call per side each (default 20, 5 with "
                        "--quick)")
    parser.add_argument("--operator", default="op08",
                        help="the operator account rung on both sides (default op08)")
    parser.add_argument("--roster", type=int, default=1,
                        help="operators logged in to our ACD (default 1: only --operator; "
                        "the others are paused and never rung; up to 50)")
    parser.add_argument("--waiting", type=int, default=0,
                        help="synthetic waiting calls nobody can take, written into Redis "
                        "(default 0; below acd_max_queue, 200, or the caller overflows)")
    parser.add_argument("--jitter", type=float, default=2.0,
                        help="random part of the pause between the join and the unpause, in s "
                        "(default 2: covers the ACD's 2 s tick and app_queue's retry)")
    parser.add_argument("--seed", type=int, default=1122, help="seed of those pauses")
    parser.add_argument("--no-wire", dest="wire", action="store_false",
                        help="no AF_PACKET sockets (no root): the ring is the operator "
                        "channel's AMI Newchannel instead of the INVITE")
    add_run_options(parser, quick="a short run (5 rounds)")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 5 if args.quick else 20
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 1 <= args.roster <= 50:
        parser.error("--roster is 1 to 50")
    if not 0 <= args.waiting <= 190:
        parser.error("--waiting is 0 to 190")
    if args.jitter < 0:
        parser.error("--jitter must not be negative")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run_report({"rounds": args.rounds, "operator": args.operator, "roster": args.roster,
                "waiting": args.waiting, "jitter_s": args.jitter, "seed": args.seed,
                "python": platform.python_version(), "cpus": os.cpu_count()},
               {"calls": lambda: run(args)}, render, args.json)


if __name__ == "__main__":
    main()
