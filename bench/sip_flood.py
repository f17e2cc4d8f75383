"""Legitimate calls completed per second during a 200 INVITE/s flood from another address, as a
ratio to the same without the flood, in one run (issue 10).

    .venv/bin/python -m bench.sip_flood                  # 3 rounds of two 10 s windows (~90 s)
    .venv/bin/python -m bench.sip_flood --quick          # 1 round
    .venv/bin/python -m bench.sip_flood --sip-guard off  # what the flood does without the guard
    .venv/bin/python -m bench.sip_flood --json

A private hotline (Asterisk 16, Redis, controller; the SIP guard on as ``--sip-bind 0.0.0.0``
would turn it on; needs root for nftables) is started as tests/e2e/conftest.py starts one. The
legitimate caller is the carrier (the trunk peer 127.0.0.1) calling 19001122: a closed loop of
``--concurrency`` SIPp calls, each hung up ``--hold`` s after the hotline answers, for
``--window`` s; it counts the calls SIPp completed (SuccessfulCall) and notes the mean time from
its INVITE to the hotline's 200 OK (SIPp's ResponseTime1). The flood, in the flood
window only: ``hotline.sipprobe`` from 127.0.0.6x sends ``--rate`` INVITEs a second to 19001122
with no credentials for the same ``--window`` s, a new address each round (the guard keeps the
last one blocked). Rounds alternate the order (quiet, flood | flood, quiet | ...).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.rig import (
    add_run_options,
    log,
    private_settings,
    run_report,
    start_hotline,
    stop_hotline,
)
from hotline import config, processes
from hotline.config import free_port
from hotline.sipagent import free_media_port
from hotline.sipcall import CallPlan, scenario
from hotline.sipprobe import ProbeResult, probe


def legitimate_calls(settings: config.Settings, window_s: int, concurrency: int, hold_s: float,
                     tag: str) -> dict[str, float]:
    """The carrier's calls for ``window_s`` s, ``concurrency`` at a time: completed, failed."""
    plan = CallPlan(number=settings.hotline_number, caller="0281234567", delay_ms=0,
                    hangup_after_s=hold_s, max_call_s=30)
    with tempfile.TemporaryDirectory(prefix="sipflood-") as folder:
        work = Path(folder)
        (work / "caller.xml").write_text(scenario(plan, []), encoding="iso-8859-1")
        subprocess.run(
            ["sipp", f"127.0.0.1:{settings.sip_port}", "-sf", "caller.xml",
             "-s", settings.hotline_number, "-i", "127.0.0.1",
             "-p", str(free_port(0, "127.0.0.1", socket.SOCK_DGRAM)),
             "-mp", str(free_media_port()), "-r", "100", "-l", str(concurrency),
             "-m", "1000000", "-cid_str", f"bf{tag}x%u@%s", "-nostdin",
             "-timeout", f"{window_s}s", "-trace_stat", "-stf", "stats.csv", "-fd", "1",
             "-default_behaviors", "all,-bye"],
            cwd=work, capture_output=True, timeout=window_s + 60, check=False)
        rows = (work / "stats.csv").read_text(errors="replace").splitlines() \
            if (work / "stats.csv").exists() else []
    if len(rows) < 2:
        raise SystemExit("sipp wrote no statistics")
    fields = dict(zip(rows[0].split(";"), rows[-1].split(";"), strict=False))
    elapsed = _seconds(fields["ElapsedTime(C)"])
    completed = int(fields["SuccessfulCall(C)"])
    return {"completed": completed, "failed": int(fields["FailedCall(C)"]),
            "elapsed_s": elapsed, "calls_per_s": completed / elapsed if elapsed else 0.0,
            "answer_ms": _seconds(fields["ResponseTime1(C)"]) * 1000}


def _seconds(text: str) -> float:
    """A SIPp statistics duration, ``HH:MM:SS:microseconds`` (or ``HH:MM:SS.fraction``)."""
    parts = text.strip().split(":")
    value = int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    return value + (int(parts[3]) / 1e6 if len(parts) > 3 else 0.0)


def _flood(settings: config.Settings, attacker: str, args: argparse.Namespace,
           into: list[ProbeResult]) -> threading.Thread:
    """``args.rate`` INVITEs a second for ``args.window`` s from ``attacker``, in a thread; the
    result goes ``into`` the list."""
    def send() -> None:
        into.append(probe("127.0.0.1", settings.sip_port, attacker,
                          [settings.hotline_number] * (args.rate * args.window), rate=args.rate,
                          wait_ms=1000, timeout_s=args.window + 60))
    thread = threading.Thread(target=send)
    thread.start()
    return thread


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = private_settings("sipflood-", sip_guard=args.sip_guard)
    version = ""
    windows: list[dict[str, Any]] = []
    try:
        version = start_hotline(settings)
        for r in range(args.rounds):
            order = ("quiet", "flood") if r % 2 == 0 else ("flood", "quiet")
            for side in order:
                attacker = f"127.0.0.{60 + r}"
                flood: list[ProbeResult] = []
                thread = _flood(settings, attacker, args, flood) if side == "flood" else None
                legit = legitimate_calls(settings, args.window, args.concurrency, args.hold,
                                         f"{r}{side[0]}")
                if thread is not None:
                    thread.join()
                window: dict[str, Any] = {"round": r + 1, "side": side, **legit}
                if flood:
                    window.update(attacker=attacker, flood_sent=flood[0].sent,
                                  flood_answers=dict(flood[0].statuses()),
                                  attacker_blocked=attacker in (
                                      processes.guard_banned(settings) or []))
                windows.append(window)
                log(f"round {r + 1} {side:5}: {legit['completed']} calls in "
                    f"{legit['elapsed_s']:.1f} s ({legit['calls_per_s']:.2f}/s), "
                    f"{legit['failed']} failed, answered in {legit['answer_ms']:.1f} ms on average"
                    + (f"; flood {window['flood_sent']} INVITEs, answers "
                       f"{window['flood_answers']}, blocked: {window['attacker_blocked']}"
                       if flood else ""))
    finally:
        stop_hotline(settings, args.keep_runtime)
    quiet = [w["calls_per_s"] for w in windows if w["side"] == "quiet"]
    flooded = [w["calls_per_s"] for w in windows if w["side"] == "flood"]
    pairs = [f / q for q, f in zip(quiet, flooded, strict=True) if q]
    return {"asterisk": version, "windows": windows,
            "quiet_calls_per_s": statistics.fmean(quiet),
            "flood_calls_per_s": statistics.fmean(flooded),
            "ratio": statistics.fmean(flooded) / statistics.fmean(quiet) if any(quiet) else 0,
            "paired_ratios": pairs}


def render(report: dict[str, Any]) -> str:
    c, r = report["config"], report["calls"]
    lines = [(f"sip_flood: {r['asterisk']}, SIP guard {c['sip_guard']}, {c['rounds']} round(s) "
              f"of two {c['window_s']} s windows; legitimate caller: the trunk, "
              f"{c['concurrency']} calls at a time, each held {c['hold_s']} s; flood: "
              f"{c['rate']} INVITE/s from another address"), "",
             f"{'round':>5} {'side':6} {'calls':>6} {'failed':>6} {'calls/s':>8} {'answer ms':>9}  flood answers"]
    for w in r["windows"]:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(w.get("flood_answers", {}).items()))
        blocked = " (blocked)" if w.get("attacker_blocked") else ""
        lines.append(f"{w['round']:>5} {w['side']:6} {w['completed']:>6} {w['failed']:>6} "
                     f"{w['calls_per_s']:>8.2f} {w['answer_ms']:>9.1f}  {answers}{blocked}")
    paired = ", ".join(f"{p:.2f}" for p in r["paired_ratios"])
    lines += ["", (f"legitimate calls/s: quiet {r['quiet_calls_per_s']:.2f}, during the flood "
                   f"{r['flood_calls_per_s']:.2f}: ratio {r['ratio']:.2f} (per round: {paired})")]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; --quick 1)")
    parser.add_argument("--window", type=int, default=10, help="seconds per window (10)")
    parser.add_argument("--rate", type=int, default=200, help="flood INVITEs a second (200)")
    parser.add_argument("--concurrency", type=int, default=10,
                        help="the legitimate caller's calls at a time (10; ivr_lines is 40)")
    parser.add_argument("--hold", type=float, default=0.5,
                        help="seconds a legitimate call stays up after the answer (0.5)")
    parser.add_argument("--sip-guard", choices=("on", "off"), default="on",
                        help="the SIP guard (fail2ban + nftables, root): on (default) or off")
    add_run_options(parser, quick="one round")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if not 1 <= args.rounds <= 60 or args.window < 2 or args.rate < 1 or args.concurrency < 1:
        parser.error("--rounds 1-60, --window >= 2, --rate and --concurrency >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run_report({"rounds": args.rounds, "window_s": args.window, "rate": args.rate,
                "concurrency": args.concurrency, "hold_s": args.hold,
                "sip_guard": args.sip_guard, "python": platform.python_version(),
                "cpus": os.cpu_count()},
               {"calls": lambda: run(args)}, render, args.json)


if __name__ == "__main__":
    main()
