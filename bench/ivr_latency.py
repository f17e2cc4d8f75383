"""IVR latency: the menu stepper's cost per step, and key-to-next-prompt through the whole stack.

    .venv/bin/python -m bench.ivr_latency                 # 30 calls per side, 5 at a time (~2 min)
    .venv/bin/python -m bench.ivr_latency --quick         # 10 calls per side (~45 s)
    .venv/bin/python -m bench.ivr_latency --only stepper  # part 1 alone (~2 s)
    .venv/bin/python -m bench.ivr_latency --calls 60 --concurrency 5 --key 3 --json > out.json

Part 1, **stepper**: the time of one :func:`ivr.stepper.step` on the shipped menu
(``dialplans/19001122.yaml``) for four representative steps (a key at the main menu, a no-input
retry, 11 collected digits with customer-code validation, a bill lookup's outcome that leads to
a play node speaking an amount, kWh and a date), against a baseline measured in the same rounds:
a plain dict lookup "next node for key" (``table["main"]["2"]``) built from the same menu. Runs
interleave, one discarded warm-up round, GC stays on.

Part 2, **calls**: one private hotline (Asterisk 16, Redis, controller) is started as
``tests/e2e/conftest.py`` starts it, in a temp runtime folder on free ports. The benchmark
writes ``<runtime>/etc/extensions_local.conf`` (19001199: the same welcome, main menu and the
prompt of each main-menu option written in plain dialplan) and ``manager_local.conf`` (its own
AMI user: loopback, generated secret, read=call,dtmf,agi,dialplan), reloads both, and places
SIPp calls in batches alternating between 19001122 (our controller over FastAGI) and 19001199
(plain dialplan). Each call presses one key while the main menu plays. From the AMI events and
their ``Timestamp`` headers it measures, per call, the time from the ``DTMFEnd`` of the key to
the start of the next prompt on that channel:

* ours: the next ``AGIExecStart`` whose ``Command`` is ``STREAM FILE``;
* plain: the next ``Newexten`` whose ``Application`` is ``BackGround``/``Playback``.

AMI's ``Timestamp`` is written when Asterisk's manager thread formats the event, not when it
happens, so as root the benchmark also measures on the wire: two read-only AF_PACKET sockets on
``lo`` (kernel BPF filters: this instance's FastAGI port and private RTP range) give kernel
timestamps of the key's RFC 4733 end packet going in, of the first RTP frame of the expected
prompt coming out, and for ours of the FastAGI reply and the next command in between, which
splits our time into Asterisk / controller / Asterisk. Everything is stopped at the end, also
on errors and SIGTERM. This is a benchmark: it prints numbers and never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import platform
import secrets
import statistics
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rig import (
    LoopbackSniffer,
    add_run_options,
    caller_number,
    install_local_config,
    log,
    manager_user,
    ms_summary,
    private_settings,
    quantile,
    run_report,
    sound_ms,
    start_hotline,
    stop_hotline,
)
from hotline import processes
from hotline.sipcall import CallPlan, place
from ivr import stepper
from ivr.menu import Menu, load_menu

ROOT = Path(__file__).resolve().parents[1]
MENU_FILE = ROOT / "dialplans" / "19001122.yaml"
HOTLINE = "19001122"
PLAIN = "19001199"
PLAIN_CONTEXT = "bench-plain-menu"
AMI_USER = "ivrbench"
SIDES = ("ours", "plain")
NOW = dt.datetime(2026, 3, 10, 10, 0)  # a Tuesday, not a holiday: the menu's normal path
CALLER = "0281234567"
CALLER_PREFIX = "02899"  # callers of part 2: 02899, the side, the batch (no customer has them)
BILL = {"period": "2026-02", "kwh": 412, "amount": 1187350, "due_date": dt.date(2026, 3, 15),
        "status": "unpaid", "paid_date": None, "unpaid_total": 1187350, "unpaid_count": 1}
CUSTOMER = {"id": 1, "code": "PE01234567890", "name": "Nguyen Van A", "area": "Q1",
            "feeder": "F1", "district_company": "Sai Gon"}
KEY_MARGIN_MS = 1500   # the key goes this long after the welcome prompt's length
AFTER_KEY_S = 0.7      # SIPp hangs up this long after the key (+ its 300 ms digit pause)
EVENT_GRACE_S = 5.0    # waiting for the last Hangup events of a run


# == part 1: the stepper alone ===================================================================


@dataclass
class Case:
    name: str
    what: str
    state: stepper.CallState
    event: stepper.Event
    lands_on: str


def stepper_cases(menu: Menu) -> list[Case]:
    """Real states of the shipped menu, reached by driving the stepper from the start."""
    def step(state: stepper.CallState, event: stepper.Event) -> stepper.CallState:
        return stepper.step(menu, state, event, NOW)[0]

    state, _, _ = stepper.start(menu, caller=CALLER, now=NOW)       # welcome
    identify = step(state, stepper.Heard(None))                     # identify_caller
    main = step(identify, stepper.Acted("many", {"customers": []}))  # not a customer
    ask_code = step(main, stepper.Heard("2"))
    known = step(identify, stepper.Acted("found", {"customer": CUSTOMER,
                                                   "customers": [CUSTOMER]}))
    bill_lookup = step(known, stepper.Heard("2"))
    cases = [
        Case("main_key", "key 2 at main -> ask_code prompt", main, stepper.Heard("2"),
             "ask_code"),
        Case("no_input", "no key at main -> retry prompt", main, stepper.Heard(None), "main"),
        Case("collect_11", "11 digits at ask_code, validated", ask_code,
             stepper.Heard("01234567890"), "find_customer"),
        Case("bill_found", "bill found -> amount, kWh, date", bill_lookup,
             stepper.Acted("found", {"bill": BILL}), "bill_info"),
    ]
    for case in cases:  # the benchmark measures what it says, or nothing
        reached = stepper.step(menu, case.state, case.event, NOW)[0].node
        if reached != case.lands_on:
            raise SystemExit(f"stepper case {case.name}: reached {reached!r}, expected "
                             f"{case.lands_on!r}; the shipped menu changed, update the bench")
    return cases


def _timed(fn: Callable[[], object], n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = clock()
        fn()
        out[i] = clock() - t0
    return out


def _batched_ns(fn: Callable[[], object], n: int) -> float:
    """Mean time per call of n back-to-back calls, with no clock inside the loop."""
    clock = time.perf_counter_ns
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def _summary_us(samples: list[int], batched: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"samples": len(ordered), "p50_us": quantile(ordered, 0.50) / 1e3,
            "p99_us": quantile(ordered, 0.99) / 1e3,
            "mean_us": statistics.fmean(batched) / 1e3 if batched else float("nan")}


def bench_stepper(rounds: int, per_round: int) -> dict[str, Any]:
    menu = load_menu(MENU_FILE)
    cases = stepper_cases(menu)
    step = stepper.step
    table = {node.id: {**node.options, **node.on} for node in menu.nodes.values()}
    fns: dict[str, Callable[[], object]] = {
        "baseline": lambda: table["main"]["2"],
        "clock": lambda: None,
    }
    def bound(c: Case) -> Callable[[], object]:
        return lambda: step(menu, c.state, c.event, NOW)

    for case in cases:
        fns[case.name] = bound(case)
    samples: dict[str, list[int]] = {name: [] for name in fns}
    batched: dict[str, list[float]] = {name: [] for name in fns}
    stepper_names = [c.name for c in cases]
    log(f"stepper: {rounds} rounds x {per_round} steps per case (+1 warm-up round)")
    for round_index in range(-1, rounds):
        gc.collect()
        # baseline and clock first in even rounds, the stepper cases first in odd ones
        order = ["baseline", "clock", *stepper_names]
        if round_index % 2:
            order = order[2:] + order[:2]
        for name in order:
            timed = _timed(fns[name], per_round)
            mean = _batched_ns(fns[name], per_round)
            if round_index >= 0:
                samples[name] += timed
                batched[name].append(mean)
    base = _summary_us(samples["baseline"], batched["baseline"])
    clock = _summary_us(samples["clock"], batched["clock"])
    rows = []
    for case in cases:
        s = _summary_us(samples[case.name], batched[case.name])
        rows.append({"case": case.name, "what": case.what, **s,
                     "ratio_p50": s["p50_us"] / base["p50_us"],
                     "ratio_p99": s["p99_us"] / base["p99_us"],
                     "ratio_mean": s["mean_us"] / base["mean_us"]})
    return {"rounds": rounds, "steps_per_round": per_round, "baseline": base,
            "clock": clock, "cases": rows}


# == part 2: calls through the whole stack ======================================================


def next_prompts(menu: Menu) -> dict[str, tuple[str, ...]]:
    """For each main-menu key: the sounds our menu plays next to a caller who is no customer."""
    state, _, _ = stepper.start(menu, caller=CALLER, now=NOW)
    state = stepper.step(menu, state, stepper.Heard(None), NOW)[0]
    main = stepper.step(menu, state, stepper.Acted("many", {"customers": []}), NOW)[0]
    out = {}
    for key in sorted(menu.node("main").options):
        _, effect, _ = stepper.step(menu, main, stepper.Heard(key), NOW)
        if isinstance(effect, stepper.Prompt) and effect.sounds:
            out[key] = effect.sounds
    return out


def plain_dialplan(prompts: dict[str, tuple[str, ...]]) -> str:
    lines = [
        "; Written by bench/ivr_latency.py into a private benchmark instance: the start of the",
        "; 19001122 menu in plain dialplan (same prompt files), for a caller who is no customer.",
        "[from-trunk](+)",
        f"exten => {PLAIN},1,Goto({PLAIN_CONTEXT},s,1)",
        "",
        f"[{PLAIN_CONTEXT}]",
        "exten => s,1,Answer()",
        " same => n,Playback(${SOUNDS}/vi/welcome)",
        " same => n(menu),Background(${SOUNDS}/vi/main_menu)",
        " same => n,WaitExten(5)",
        " same => n,Playback(${SOUNDS}/vi/goodbye)",
        " same => n,Hangup()",
    ]
    for key, sounds in prompts.items():
        files = "&".join("${SOUNDS}/" + s for s in sounds)
        lines += [f"exten => {key},1,Background({files})", " same => n,WaitExten(8)",
                  " same => n,Hangup()"]
    lines += ["exten => i,1,Playback(${SOUNDS}/vi/invalid_choice)", " same => n,Goto(s,menu)",
              "exten => t,1,Playback(${SOUNDS}/vi/no_input)", " same => n,Goto(s,menu)", ""]
    return "\n".join(lines)


KEPT_EVENTS = {"Newchannel", "Newexten", "DTMFEnd", "AGIExecStart", "AGIExecEnd", "Hangup"}


class AmiRecorder:
    """Our AmiClient on its own event loop in a thread; records the events the analysis needs."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.events: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ami-recorder",
                                       daemon=True)
        self.client: Any = None

    def _on_event(self, message: Any) -> None:
        name = message.get("Event")
        if name not in KEPT_EVENTS:
            return
        get = message.get
        self.events.append({
            "event": name, "recv": time.time(), "ts": float(get("Timestamp") or "nan"),
            "uniqueid": get("Uniqueid"), "caller": get("CallerIDNum"),
            "context": get("Context"), "exten": get("Exten"), "app": get("Application"),
            "appdata": get("AppData"), "command": get("Command"),
            "command_id": get("CommandId"), "digit": get("Digit"),
            "direction": get("Direction"),
        })

    async def _connect(self) -> None:
        from acd.ami.client import AmiClient

        self.client = AmiClient("127.0.0.1", self.port, AMI_USER, self.secret,
                                on_event=self._on_event, events="call,dtmf,agi,dialplan")
        await self.client.start()
        await self.client.wait_connected(timeout=15)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self.loop).result(30)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        if self.client is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result(10)
            except (OSError, TimeoutError, RuntimeError) as exc:  # stopping anyway
                log(f"closing the AMI client failed: {exc}")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    def snapshot(self) -> list[dict[str, Any]]:
        return list(self.events)


class AgiWire:
    """The FastAGI segments of each connection, with kernel timestamps."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.segments: list[tuple[float, int, bool, bytes]] = []  # (ts, conn, to_asterisk, data)
        self.sniffer = LoopbackSniffer(6, port, port, self._handle)

    def _handle(self, ts: float, sport: int, dport: int, payload: bytes) -> None:
        to_asterisk = sport == self.port
        self.segments.append((ts, dport if to_asterisk else sport, to_asterisk,
                              payload[:2000]))

    def by_uniqueid(self) -> dict[str, list[tuple[float, bool, bytes]]]:
        """Each AGI connection's segments, keyed by the agi_uniqueid of its environment."""
        conns: dict[int, list[tuple[float, bool, bytes]]] = {}
        for ts, conn, to_asterisk, data in list(self.segments):
            conns.setdefault(conn, []).append((ts, to_asterisk, data))
        out = {}
        for segments in conns.values():
            env = b"".join(d for _, to_ast, d in segments[:20] if not to_ast)
            marker = env.find(b"agi_uniqueid: ")
            if marker >= 0:
                uniqueid = env[marker + 14:env.find(b"\n", marker)].decode(errors="replace")
                out[uniqueid.strip()] = segments
        return out


class RtpWire:
    """The caller's view: RFC 4733 key ends going into Asterisk, and the first audio frame of
    the expected next prompt coming out, per Asterisk RTP port (the hotline runs on a private
    RTP port range, so no other instance's calls are seen)."""

    def __init__(self, low: int, high: int, prompt: bytes, menu_prompt: bytes) -> None:
        self.low, self.high = low, high
        # Asterisk sends a .ulaw prompt to a PCMU caller as it is, 160 bytes (20 ms) a frame:
        # frames of the next prompt that the main menu does not contain identify its start
        menu_frames = {menu_prompt[i:i + 160] for i in range(0, len(menu_prompt) - 159, 160)}
        self.signature: dict[bytes, int] = {}
        for k in range(0, min(len(prompt) - 159, 160 * 50), 160):
            frame = prompt[k:k + 160]
            if len(set(frame)) > 4 and frame not in menu_frames:
                self.signature.setdefault(frame, k // 160)
        self.key_ends: list[tuple[float, int, int]] = []   # (ts, asterisk port, RTP timestamp)
        self.frames: list[tuple[float, int, int]] = []     # (ts, asterisk port, frame index)
        self.sniffer = LoopbackSniffer(17, low, high, self._handle)

    def _handle(self, ts: float, sport: int, dport: int, payload: bytes) -> None:
        if len(payload) < 12 or payload[0] >> 6 != 2:
            return
        into = self.low <= dport <= self.high
        out_of = self.low <= sport <= self.high
        if into == out_of:
            return
        body = payload[12 + 4 * (payload[0] & 0x0F):]
        kind = payload[1] & 0x7F
        if into and kind == 101 and len(body) >= 4 and body[1] & 0x80:
            rtp_ts = struct.unpack("!I", payload[4:8])[0]
            self.key_ends.append((ts, dport, rtp_ts))
        elif out_of and kind == 0:
            k = self.signature.get(body)
            if k is not None:
                self.frames.append((ts, sport, k))

    def latencies(self) -> list[tuple[float, float]]:
        """(key ts, start ts): the key's first end packet in, the next prompt's first frame
        out."""
        keys: list[tuple[int, float]] = []
        last: dict[tuple[int, int], float] = {}
        for ts, port, rtp_ts in sorted(self.key_ends):
            # an end packet is sent three times; a later call may reuse the port and the
            # RTP timestamp of its first key, so copies are the ones within a second
            if ts - last.get((port, rtp_ts), -1e9) > 1.0:
                keys.append((port, ts))
            last[(port, rtp_ts)] = ts
        out = []
        for port, key_ts in keys:
            frame = next(((ts, k) for ts, p, k in self.frames
                          if p == port and key_ts < ts < key_ts + 5), None)
            if frame is not None:  # frame k left k x 20 ms after the prompt started
                out.append((key_ts, frame[0] - frame[1] * 0.020))
        return out


def wire_split(segments: list[tuple[float, bool, bytes]], menu_file: str
               ) -> tuple[float, float, int] | None:
    """(reply ts, next command ts, reply result) around the key that ended the main menu."""
    for i, (_, to_asterisk, data) in enumerate(segments):
        if to_asterisk and data.startswith(b"STREAM FILE") and menu_file.encode() in data:
            rest = segments[i + 1:]
            reply = next((s for s in rest if not s[1]), None)
            if reply is None or not reply[2].startswith(b"200 result="):
                return None
            command = next((s for s in rest if s[1] and s[0] >= reply[0]), None)
            if command is None or not command[2].startswith(b"STREAM FILE"):
                return None  # something else came first: not the case this bench measures
            result = reply[2][len(b"200 result="):].split(b" ")[0]
            return reply[0], command[0], int(result) if result.lstrip(b"-").isdigit() else -1
    return None


def _cpu_s(pid: int | None) -> float:
    """User+system CPU seconds of a process (0 if it is gone)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def analyse_call(events: list[dict[str, Any]], side: str, key: str,
                 expected: str) -> dict[str, Any]:
    """One channel's events, in arrival order: the key's latency to the next prompt."""
    menu_at = None
    for i, e in enumerate(events):
        if side == "ours" and e["event"] == "AGIExecStart" and \
                (e["command"] or "").startswith("STREAM FILE") and "/vi/main_menu" in e["command"]:
            menu_at = i
            break
        if side == "plain" and e["event"] == "Newexten" and e["app"] == "BackGround" and \
                (e["appdata"] or "").endswith("/vi/main_menu"):
            menu_at = i
            break
    keys = [i for i, e in enumerate(events)
            if e["event"] == "DTMFEnd" and e["direction"] == "Received"]
    if menu_at is None:
        return {"status": "no_menu"}
    if not keys:
        return {"status": "no_key"}
    if keys[0] < menu_at:
        return {"status": "early_key"}
    k = keys[0]
    if events[k]["digit"] != key:
        return {"status": "wrong_key"}
    t_key = events[k]
    result: dict[str, Any] = {"status": "ok", "key_ts": t_key["ts"]}
    between = 0
    for e in events[k + 1:]:
        if side == "ours":
            if e["event"] == "AGIExecEnd" and "reply_ms" not in result:
                result["reply_ms"] = (e["ts"] - t_key["ts"]) * 1e3
                result["reply_ts"] = e["ts"]
            elif e["event"] == "AGIExecStart":
                if (e["command"] or "").startswith("STREAM FILE"):
                    return _found(result, e, t_key, expected, e["command"], between)
                between += 1
        elif e["event"] == "Newexten":
            if e["app"] in ("BackGround", "Background", "Playback"):
                return _found(result, e, t_key, expected, e["appdata"] or "", between)
            between += 1
    return {"status": "no_next_prompt"}


def _found(result: dict[str, Any], e: dict[str, Any], t_key: dict[str, Any], expected: str,
           what: str, between: int) -> dict[str, Any]:
    result["ms"] = (e["ts"] - t_key["ts"]) * 1e3
    result["next_ts"] = e["ts"]
    result["recv_ms"] = (e["recv"] - t_key["recv"]) * 1e3
    result["steps_between"] = between
    if "reply_ts" in result:
        result["turnaround_ms"] = (e["ts"] - result.pop("reply_ts")) * 1e3
    if f"/{expected}" not in what:
        result["status"] = "other_prompt"
        result["prompt"] = what
    return result


def bench_calls(args: argparse.Namespace) -> dict[str, Any]:
    menu = load_menu(MENU_FILE)
    prompts = next_prompts(menu)
    if args.key not in prompts:
        raise SystemExit(f"--key {args.key}: our menu plays no prompt next for that key; use "
                         f"one of {', '.join(prompts)}")
    expected = prompts[args.key][0]  # e.g. vi/enter_customer_code
    settings = private_settings("ivr-latency-")  # its private RTP range: RtpWire sees our calls
    recorder: AmiRecorder | None = None
    wire: AgiWire | None = None
    rtp: RtpWire | None = None
    wire_note = ""
    windows: list[tuple[str, float, float]] = []
    cpu: dict[str, dict[str, float]] = {side: {"controller": 0.0, "asterisk": 0.0}
                                        for side in SIDES}
    batches = max(1, -(-args.calls // args.concurrency))
    placed: list[dict[str, Any]] = []
    try:
        start_hotline(settings, "calls: ")
        secret = secrets.token_urlsafe(24)
        install_local_config(
            settings, plain_dialplan(prompts),
            manager_user("; Written by bench/ivr_latency.py: the benchmark's read-only AMI user.",
                         AMI_USER, secret, read="call,dtmf,agi,dialplan", write=""),
            number=PLAIN, expect=PLAIN_CONTEXT, ami_user=AMI_USER)
        recorder = AmiRecorder(settings.ami_port, secret)
        recorder.start()
        if args.wire:
            try:
                wire = AgiWire(settings.agi_port)
                rtp = RtpWire(settings.rtp_start, settings.rtp_end,
                              (settings.sounds / f"{expected}.ulaw").read_bytes(),
                              (settings.sounds / "vi" / "main_menu.ulaw").read_bytes())
                wire.sniffer.start()
                rtp.sniffer.start()
            except OSError as exc:  # not root, or no AF_PACKET: the AMI numbers still stand
                wire_note = f"no wire timestamps ({exc}); run as root for them, or --no-wire"
                log(f"calls: {wire_note}")
                for sniffer in (wire, rtp):
                    if sniffer is not None:
                        sniffer.sniffer.stop()
                wire = rtp = None
        pids = {"controller": processes.controller_pid(settings),
                "asterisk": processes.asterisk_pid(settings)}
        welcome_ms = sound_ms(settings.sounds / "vi" / "welcome.wav")
        delay_ms = welcome_ms + KEY_MARGIN_MS
        log(f"calls: {batches} batches of {args.concurrency} per side, alternating; key "
            f"{args.key!r} {delay_ms} ms after the answer (welcome is {welcome_ms} ms)")
        numbers = {"ours": HOTLINE, "plain": PLAIN}
        for batch in range(batches):
            count = min(args.concurrency, args.calls - batch * args.concurrency)
            order = SIDES if batch % 2 == 0 else SIDES[::-1]
            for side in order:
                plan = CallPlan(number=numbers[side], keys=args.key,
                                caller=caller_number(CALLER_PREFIX, SIDES.index(side), batch),
                                delay_ms=delay_ms, hangup_after_s=AFTER_KEY_S, max_call_s=30,
                                count=count)
                started = time.perf_counter()
                cpu0 = {name: _cpu_s(pid) for name, pid in pids.items()}
                window_start = time.time()
                result = place(plan, "127.0.0.1", settings.sip_port)
                windows.append((side, window_start, time.time()))
                for name, pid in pids.items():
                    cpu[side][name] += _cpu_s(pid) - cpu0[name]
                placed.append({"side": side, "batch": batch, "count": count,
                               "caller": plan.caller, "sipp_rc": result.returncode,
                               "sipp_errors": result.errors if result.returncode else ""})
                log(f"calls: batch {batch + 1}/{batches} {side:5s} x{count} "
                    f"sipp rc={result.returncode} {time.perf_counter() - started:5.1f} s")
        # the last Hangup events arrive just after SIPp's BYE exchange
        deadline = time.monotonic() + EVENT_GRACE_S
        while time.monotonic() < deadline:
            events = recorder.snapshot()
            opened = {e["uniqueid"] for e in events if e["event"] == "Newchannel"}
            closed = {e["uniqueid"] for e in events if e["event"] == "Hangup"}
            if opened <= closed:
                break
            time.sleep(0.1)
        events = recorder.snapshot()
        segments = wire.by_uniqueid() if wire is not None else {}
        on_wire = rtp.latencies() if rtp is not None else []
        if args.trace:
            with open(args.trace, "w") as f:
                f.writelines(json.dumps(e) + "\n" for e in events)
    finally:
        for sniffer in (wire, rtp):
            if sniffer is not None:
                sniffer.sniffer.stop()
        if recorder is not None:
            recorder.stop()
        stop_hotline(settings, args.keep_runtime, "calls: ")
    report = summarize_calls(events, placed, args.key, expected, delay_ms, batches, segments)
    report["wire"] = {"enabled": wire is not None, "note": wire_note}
    report["rtp"] = summarize_rtp(on_wire, windows, segments)
    report["cpu_ms_per_call"] = {
        side: {name: value * 1e3 / max(1, report["sides"][side]["placed"])
               for name, value in cpu[side].items()} for side in SIDES}
    return report


def summarize_rtp(on_wire: list[tuple[float, float]], windows: list[tuple[str, float, float]],
                  segments: dict[str, list[tuple[float, bool, bytes]]]) -> dict[str, Any]:
    """Wire-only latencies; ours split at its FastAGI reply and next command (the reply that
    follows a key within 50 ms is that key's)."""
    replies = sorted(split[:2] for split in (wire_split(s, "/vi/main_menu")
                                             for s in segments.values()) if split)
    samples: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    for key_ts, start_ts in on_wire:
        side = next((s for s, t0, t1 in windows if t0 <= key_ts <= t1), None)
        if side is None:
            continue
        sample = {"key_ts": key_ts, "ms": (start_ts - key_ts) * 1e3}
        if side == "ours":
            reply = next(((r, c) for r, c in replies if 0 <= r - key_ts < 0.05), None)
            if reply is not None:
                sample["key_to_reply_ms"] = (reply[0] - key_ts) * 1e3
                sample["controller_ms"] = (reply[1] - reply[0]) * 1e3
                sample["command_to_audio_ms"] = (start_ts - reply[1]) * 1e3
        samples[side].append(sample)
    out: dict[str, Any] = {side: ms_summary([s["ms"] for s in samples[side]])
                           for side in SIDES}
    for part in ("key_to_reply", "controller", "command_to_audio"):
        out[part] = ms_summary([s[f"{part}_ms"] for s in samples["ours"]
                                if f"{part}_ms" in s])
    out["samples"] = samples
    return out


def summarize_calls(events: list[dict[str, Any]], placed: list[dict[str, Any]], key: str,
                    expected: str, delay_ms: int, batches: int,
                    segments: dict[str, list[tuple[float, bool, bytes]]]) -> dict[str, Any]:
    by_caller = {p["caller"]: p for p in placed}
    channels: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["uniqueid"]:
            channels.setdefault(e["uniqueid"], []).append(e)
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for uniqueid, chan in channels.items():
        caller = next((e["caller"] for e in chan if e["caller"]), None)
        run = by_caller.get(caller or "")
        if run is None:
            continue  # not one of our calls
        r = analyse_call(chan, run["side"], key, expected)
        r["batch"] = run["batch"]
        split = wire_split(segments[uniqueid], "/vi/main_menu") if uniqueid in segments else None
        if r["status"] == "ok" and split is not None and split[2] == ord(key):
            reply_ts, command_ts, _ = split
            r["wire_key_to_reply_ms"] = (reply_ts - r["key_ts"]) * 1e3
            r["wire_controller_ms"] = (command_ts - reply_ts) * 1e3
            r["wire_command_to_start_ms"] = (r["next_ts"] - command_ts) * 1e3
        results[run["side"]].append(r)
    sides: dict[str, Any] = {}
    for side in SIDES:
        ok = [r for r in results[side] if r["status"] == "ok"]
        statuses: dict[str, int] = {}
        for r in results[side]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        sides[side] = {
            "placed": sum(p["count"] for p in placed if p["side"] == side),
            "channels": len(results[side]), "statuses": statuses,
            "sipp_failed_runs": sum(1 for p in placed if p["side"] == side and p["sipp_rc"]),
            **ms_summary([r["ms"] for r in ok]),
            "by_arrival": ms_summary([r["recv_ms"] for r in ok]),
            "steps_between_max": max((r["steps_between"] for r in ok), default=0),
        }
        if side == "ours":
            sides[side]["key_to_reply"] = ms_summary(
                [r["reply_ms"] for r in ok if "reply_ms" in r])
            sides[side]["controller_turnaround"] = ms_summary(
                [r["turnaround_ms"] for r in ok if "turnaround_ms" in r])
            for part in ("wire_key_to_reply", "wire_controller", "wire_command_to_start"):
                sides[side][part] = ms_summary([r[f"{part}_ms"] for r in ok
                                                if f"{part}_ms" in r])
    # each batch of one side ran right next to the same batch of the other side
    paired = []
    for batch in range(batches):
        p50 = {}
        for side in SIDES:
            values = sorted(r["ms"] for r in results[side]
                            if r["status"] == "ok" and r["batch"] == batch)
            p50[side] = quantile(values, 0.5) if values else float("nan")
        if p50["plain"] > 0:
            paired.append(p50["ours"] / p50["plain"])
    paired = [x for x in paired if not math.isnan(x)]
    ours, plain = sides["ours"], sides["plain"]
    ratio = {
        "p50": ours["p50_ms"] / plain["p50_ms"] if plain["p50_ms"] else float("nan"),
        "p99": ours["p99_ms"] / plain["p99_ms"] if plain["p99_ms"] else float("nan"),
        "paired_p50_median": statistics.median(paired) if paired else float("nan"),
        "paired_p50_min": min(paired, default=float("nan")),
        "paired_p50_max": max(paired, default=float("nan")),
    }
    return {"key": key, "next_prompt": expected, "key_delay_ms": delay_ms, "batches": batches,
            "sides": sides, "ratio": ratio, "runs": placed,
            "samples": {side: [r for r in results[side]] for side in SIDES}}


# == the report ==================================================================================


def render(report: dict[str, Any]) -> str:
    cfg = report["config"]
    out = [f"IVR latency: Python {cfg['python']}, {cfg['cpus']} CPUs", ""]
    st = report.get("stepper")
    if st:
        b, c = st["baseline"], st["clock"]
        out += [
            ("1. Menu step cost, stepper.step() on dialplans/19001122.yaml "
             f"({st['rounds']} rounds x {st['steps_per_round']} per case, interleaved)"),
            ("   baseline: dict lookup table['main']['2'] on the same menu; "
             "p50/p99 time single calls, mean is batched (no clock in the loop)"),
        ]
        header = (f"   {'case':<11} {'what':<35} {'p50 us':>8} {'p99 us':>8} {'mean us':>8} "
                  f"{'x base p50':>10} {'x base mean':>11}")
        out += [header, "   " + "-" * (len(header) - 3)]
        for r in st["cases"]:
            out.append(f"   {r['case']:<11} {r['what']:<35} {r['p50_us']:>8.2f} "
                       f"{r['p99_us']:>8.2f} {r['mean_us']:>8.2f} {r['ratio_p50']:>9.0f}x "
                       f"{r['ratio_mean']:>10.0f}x")
        out.append(f"   {'baseline':<11} {'dict lookup next node for key':<35} "
                   f"{b['p50_us']:>8.3f} {b['p99_us']:>8.3f} {b['mean_us']:>8.3f}")
        out.append(f"   {'(clock)':<11} {'empty timed call: timer floor':<35} "
                   f"{c['p50_us']:>8.3f} {c['p99_us']:>8.3f} {c['mean_us']:>8.3f}")
        out.append("")
    calls = report.get("calls")
    if calls:
        out += render_calls(calls)
    out.append("Reading: " + reading(report))
    out.append(f"total time {cfg['total_s']:.1f} s")
    return "\n".join(out)


def _ms_row(label: str, s: dict[str, float], placed: int | str = "") -> str:
    return (f"   {label:<28} {placed:>5} {s['n']:>4} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} "
            f"{s['mean_ms']:>8.2f} {s['min_ms']:>7.2f} {s['max_ms']:>7.2f}")


def _diff_rows(ours: dict[str, float], plain: dict[str, float]) -> list[str]:
    ratio = {q: ours[f"{q}_ms"] / plain[f"{q}_ms"] if plain[f"{q}_ms"] > 0 else float("nan")
             for q in ("p50", "p99", "mean")}
    return [
        (f"   {'difference ours - plain':<28} {'':>5} {'':>4} "
         f"{ours['p50_ms'] - plain['p50_ms']:>8.2f} {ours['p99_ms'] - plain['p99_ms']:>8.2f} "
         f"{ours['mean_ms'] - plain['mean_ms']:>8.2f}"),
        (f"   {'ratio ours/plain':<28} {'':>5} {'':>4} {ratio['p50']:>7.1f}x "
         f"{ratio['p99']:>7.1f}x {ratio['mean']:>7.1f}x"),
    ]


def render_calls(calls: dict[str, Any]) -> list[str]:
    labels = {"ours": "ours (19001122, FastAGI)", "plain": "plain dialplan (19001199)"}
    out = [
        (f"2. Key -> next prompt through the whole stack (Asterisk 16, SIPp, {calls['batches']} "
         f"alternating batches per side): key {calls['key']!r} at the main menu, next prompt "
         f"{calls['next_prompt']}"),
    ]
    header = (f"   {'side':<28} {'calls':>5} {'ok':>4} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'mean ms':>8} {'min ms':>7} {'max ms':>7}")
    out += [header, "   " + "-" * (len(header) - 3),
            ("   a) AMI Timestamp: DTMFEnd -> ours: AGIExecStart STREAM FILE | plain: Newexten "
             "BackGround")]
    sides = calls["sides"]
    for side in SIDES:
        out.append(_ms_row(labels[side], sides[side], sides[side]["placed"]))
    ours = sides["ours"]
    if not ours["wire_controller"]["n"]:  # no wire timestamps: a rough split from AMI only
        for label, part in (("  key -> AGIExecEnd", "key_to_reply"),
                            ("  AGIExecEnd -> AGIExecStart", "controller_turnaround")):
            out.append(_ms_row(label, ours[part]))
    out += _diff_rows(ours, sides["plain"])
    r = calls["ratio"]
    out.append(f"   {'paired batches, p50 ratio':<28} {'':>5} {'':>4} "
               f"{r['paired_p50_median']:>7.1f}x   median (range {r['paired_p50_min']:.1f}-"
               f"{r['paired_p50_max']:.1f}x)")
    rtp = calls.get("rtp")
    if rtp and (rtp["ours"]["n"] or rtp["plain"]["n"]):
        out.append("   b) on the wire (RTP, kernel timestamps): key's first RFC 4733 end packet "
                   "in -> first frame of the next prompt out")
        for side in SIDES:
            out.append(_ms_row(labels[side], rtp[side]))
        for label, part in (("  key in -> AGI reply out", "key_to_reply"),
                            ("  controller: reply -> cmd", "controller"),
                            ("  cmd in -> first frame out", "command_to_audio")):
            if rtp[part]["n"]:
                out.append(_ms_row(label, rtp[part]))
        out += _diff_rows(rtp["ours"], rtp["plain"])
    if calls["wire"]["note"]:
        out.append(f"   ({calls['wire']['note']})")
    cpu = calls["cpu_ms_per_call"]
    out.append(f"   CPU ms per call (whole call: {calls['key_delay_ms'] / 1e3:.1f} s to the key, "
               f"~1 s after): controller ours {cpu['ours']['controller']:.1f} / plain "
               f"{cpu['plain']['controller']:.1f}, Asterisk ours {cpu['ours']['asterisk']:.1f} / "
               f"plain {cpu['plain']['asterisk']:.1f}")
    for side in SIDES:
        s = sides[side]
        other = {k: v for k, v in s["statuses"].items() if k != "ok"}
        if other or s["sipp_failed_runs"] or s["channels"] != s["placed"]:
            out.append(f"   note {side}: {s['channels']} channels for {s['placed']} calls, not "
                       f"measured: {other or 'none'}, SIPp runs with errors: "
                       f"{s['sipp_failed_runs']}")
    out.append("")
    return out


def reading(report: dict[str, Any]) -> str:
    parts = []
    st, calls = report.get("stepper"), report.get("calls")
    key_case = None
    if st:
        key_case = next(r for r in st["cases"] if r["case"] == "main_key")
        slowest = max(st["cases"], key=lambda r: r["p50_us"])
        parts.append(f"a stepper step costs {key_case['p50_us']:.0f} us p50 for a key at the "
                     f"main menu ({key_case['ratio_mean']:.0f}x a dict lookup, batched means), "
                     f"{slowest['p50_us']:.0f} us at most ({slowest['case']})")
    if calls:
        ours, plain = calls["sides"]["ours"], calls["sides"]["plain"]
        rtp = calls.get("rtp") or {}
        wire = bool(rtp and rtp["ours"]["n"] and rtp["plain"]["n"])
        a, b = (rtp["ours"], rtp["plain"]) if wire else (ours, plain)
        text = (f"{'on the wire' if wire else 'by AMI Timestamp'} a key reaches the next prompt "
                f"in {a['p50_ms']:.2f} ms p50 ({a['p99_ms']:.2f} p99) through our stack vs "
                f"{b['p50_ms']:.2f} ({b['p99_ms']:.2f}) in plain dialplan, "
                f"+{a['p50_ms'] - b['p50_ms']:.2f} ms")
        if wire and rtp["controller"]["n"]:
            text += (f"; the controller's own turnaround is {rtp['controller']['p50_ms']:.2f} ms "
                     "p50")
            if key_case:
                text += (f" (the stepper {key_case['p50_us'] / 1e3:.3f} ms of it, "
                         f"{key_case['p50_us'] / 1e3 / rtp['controller']['p50_ms']:.0%})")
            text += (f", Asterisk from our command to the first frame "
                     f"{rtp['command_to_audio']['p50_ms']:.2f} ms p50")
        if wire:
            text += (f"; AMI Timestamps say {ours['p50_ms']:.2f} vs {plain['p50_ms']:.2f} ms")
        text += ("; all far below what a caller can hear (~100 ms)"
                 if max(a["p99_ms"], ours["p99_ms"]) < 100
                 else "; in the range a caller can hear (>100 ms)")
        parts.append(text)
    return "; ".join(parts) + "."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ivr_latency",
        description="Stepper cost per step, and key-to-next-prompt latency of our IVR vs plain "
                    "dialplan on a private Asterisk 16 hotline.")
    parser.add_argument("--calls", type=int, default=None,
                        help="calls per side (default 30, 10 with --quick)")
    parser.add_argument("--concurrency", type=int, default=5,
                        help="simultaneous calls in a batch (default 5)")
    parser.add_argument("--key", default="2",
                        help="the main-menu key pressed (default 2: enter_customer_code)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="stepper rounds (default 20, 5 with --quick)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per case and round (default 500, 200 with --quick)")
    parser.add_argument("--only", choices=("stepper", "calls"),
                        help="run one part only")
    parser.add_argument("--no-wire", dest="wire", action="store_false",
                        help="do not split our latency with kernel timestamps of the FastAGI "
                        "segments (an AF_PACKET socket on lo; needs root)")
    parser.add_argument("--trace", metavar="FILE",
                        help="write the recorded AMI events as JSON lines")
    add_run_options(parser, quick="a short run")
    args = parser.parse_args(argv)
    if args.calls is None:
        args.calls = 10 if args.quick else 30
    if args.rounds is None:
        args.rounds = 5 if args.quick else 20
    if args.steps is None:
        args.steps = 200 if args.quick else 500
    if min(args.calls, args.concurrency, args.rounds, args.steps) < 1:
        parser.error("--calls, --concurrency, --rounds and --steps must be at least 1")
    if args.concurrency > 20:
        parser.error("--concurrency at most 20 (the hotline has 40 IVR lines)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    parts: dict[str, Callable[[], Any]] = {
        "stepper": lambda: bench_stepper(args.rounds, args.steps),
        "calls": lambda: bench_calls(args)}
    run_report({"calls_per_side": args.calls, "concurrency": args.concurrency, "key": args.key,
                "python": platform.python_version(), "cpus": os.cpu_count(),
                "menu": str(MENU_FILE.relative_to(ROOT))},
               {name: part for name, part in parts.items() if args.only in (None, name)},
               render, args.json)


if __name__ == "__main__":
    main()
