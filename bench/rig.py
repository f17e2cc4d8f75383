"""The rig the end-to-end benchmarks share (``bench.ivr_latency``, ``bench.acd_latency``).

* a private hotline (Asterisk 16, Redis, controller) started as ``tests/e2e/conftest.py``
  starts it, in a temp runtime folder on free ports with a private RTP range, given the
  benchmark's own dialplan and AMI user, and stopped again;
* :class:`LoopbackSniffer`: kernel-timestamped, read-only copies of loopback packets (root);
* statistics (nearest-rank quantiles, millisecond summaries), caller numbers, and what every
  one of them does around its measurements: the common options, progress on stderr, the report
  on stdout (a table, or JSON), SIGTERM handled like Ctrl-C.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hotline import config, processes

# == output and statistics ========================================================================


def log(message: str) -> None:
    """Progress, on stderr (the report goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def quantile(sorted_values: list[float] | list[int], q: float) -> float:
    """Nearest-rank quantile of already sorted values (as in bench.fastagi_turnaround)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[index])


def ms_summary(values: Iterable[float]) -> dict[str, float]:
    """Count, p50, p99, mean, min and max of latencies in ms (NaN where there are none)."""
    ordered = sorted(values)
    return {"n": len(ordered), "p50_ms": quantile(ordered, 0.50),
            "p99_ms": quantile(ordered, 0.99),
            "mean_ms": statistics.fmean(ordered) if ordered else float("nan"),
            "min_ms": ordered[0] if ordered else float("nan"),
            "max_ms": ordered[-1] if ordered else float("nan")}


def caller_number(prefix: str, side: int, count: int) -> str:
    """A caller number that tells a benchmark's side (its index) and batch or round (count,
    four digits). The private hotline has no customers, and no demo customer's number starts
    with a benchmark's prefix."""
    return f"{prefix}{side}{count:04d}"


def sound_ms(path: Path) -> int:
    """The length of a .wav prompt in ms."""
    with wave.open(str(path)) as w:
        return int(w.getnframes() * 1000 / w.getframerate())


# == a private hotline ============================================================================


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def private_settings(prefix: str, **extra: Any) -> config.Settings:
    """The settings of a new private hotline in a new temp runtime folder (``prefix...``): free
    ports, the host's Asterisk, and a private RTP range of 1000 ports, below SIPp's media ports
    (30000-49999) and the ephemeral ports, so a sniffer on that range sees this instance's
    calls only. ``extra``: more settings (``sip_guard="on"``, ...)."""
    runtime = Path(tempfile.mkdtemp(prefix=prefix))
    rtp_start = 10000 + 1000 * secrets.randbelow(9)
    return config.load_or_create(
        runtime, sip_port=config.free_port(0, kind=socket.SOCK_DGRAM),
        ami_port=config.free_port(),
        agi_port=config.free_port(), redis_port=config.free_port(), asterisk_root="",
        rtp_start=rtp_start, rtp_end=rtp_start + 999, **extra)


def start_hotline(settings: config.Settings, log_prefix: str = "") -> str:
    """Start the private hotline (``processes.up``); returns its Asterisk version."""
    log(f"{log_prefix}starting a private hotline in {settings.runtime}")
    t0 = time.perf_counter()
    processes.up(settings, progress=False)
    took = time.perf_counter() - t0
    version = processes.asterisk_version(settings)
    log(f"{log_prefix}hotline up in {took:.1f} s ({version})")
    return version


def manager_user(comment: str, user: str, secret: str, read: str, write: str) -> str:
    """``manager_local.conf`` with one AMI user: loopback only, these read and write classes;
    ``comment`` heads the file (``;`` lines)."""
    return "\n".join([
        comment, f"[{user}]", f"secret = {secret}", "deny = 0.0.0.0/0.0.0.0",
        "permit = 127.0.0.1/255.255.255.255", f"read = {read}", f"write = {write}".rstrip(),
        "writetimeout = 5000", ""])


def install_local_config(settings: config.Settings, dialplan: str, manager: str, *,
                         number: str, expect: str, ami_user: str) -> None:
    """Give a running private hotline the benchmark's own dialplan and AMI user, without
    touching a template: write ``<runtime>/etc/extensions_local.conf`` and
    ``manager_local.conf`` (0600), reload both, and check that Asterisk loaded them
    (``dialplan show <number>@from-trunk`` shows ``expect``, ``manager show user`` knows
    ``ami_user``)."""
    write_private(settings.etc / "extensions_local.conf", dialplan)
    write_private(settings.etc / "manager_local.conf", manager)
    processes.asterisk_cli(settings, "dialplan reload")
    processes.asterisk_cli(settings, "manager reload")
    shown = processes.asterisk_cli(settings, f"dialplan show {number}@from-trunk")
    if expect not in shown:
        raise SystemExit(f"extensions_local.conf was not loaded (dialplan show: {shown!r}); "
                         "does extensions.conf end with #tryinclude extensions_local.conf?")
    if ami_user not in processes.asterisk_cli(settings, f"manager show user {ami_user}"):
        raise SystemExit("manager_local.conf was not loaded; does manager.conf end with "
                         "#tryinclude manager_local.conf?")


def stop_hotline(settings: config.Settings, keep_runtime: bool, log_prefix: str = "",
                 cleanup: Callable[[], None] | None = None) -> None:
    """Stop the private hotline (``processes.down``); then, also if that failed, run
    ``cleanup`` and remove the runtime folder unless it is to be kept."""
    log(f"{log_prefix}stopping the hotline")
    try:
        processes.down(settings)
    finally:
        if cleanup is not None:
            cleanup()
        if keep_runtime:
            log(f"{log_prefix}runtime kept in {settings.runtime}")
        else:
            shutil.rmtree(settings.runtime, ignore_errors=True)


# == on the wire ==================================================================================


def _bpf_ports(protocol: int, low: int, high: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF: IPv4, this protocol, unfragmented, source or destination port in
    [low, high]."""
    return [
        (0x28, 0, 0, 12), (0x15, 0, 12, 0x0800),          # ethertype IPv4
        (0x30, 0, 0, 23), (0x15, 0, 10, protocol),        # TCP 6 / UDP 17
        (0x28, 0, 0, 20), (0x45, 8, 0, 0x1FFF),           # not a fragment
        (0xB1, 0, 0, 14),                                 # x = IP header length
        (0x48, 0, 0, 14), (0x35, 0, 1, low), (0x25, 0, 3, high),   # source port in range
        (0x48, 0, 0, 16), (0x35, 0, 2, low), (0x25, 1, 0, high),   # destination port
        (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),           # accept / drop
    ]


class LoopbackSniffer:
    """Kernel-timestamped copies of some loopback packets (AF_PACKET on ``lo``, root only).

    Read-only: it changes no traffic. A BPF filter in the kernel passes only the protocol and
    port range asked for; ``handle(ts, sport, dport, payload)`` runs in the sniffer's thread.
    """

    PACKET_OUTGOING = 4  # on lo every packet shows up twice; keep the delivered copy

    def __init__(self, protocol: int, low: int, high: int,
                 handle: Callable[[float, int, int, bytes], None]) -> None:
        self.protocol, self.handle = protocol, handle
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        try:
            program = _bpf_ports(protocol, low, high)
            code = b"".join(struct.pack("HBBI", *ins) for ins in program)
            self._filter = ctypes.create_string_buffer(code)
            fprog = struct.pack("HL", len(program), ctypes.addressof(self._filter))
            self.sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
            self.sock.setsockopt(socket.SOL_SOCKET, 35, 1)      # SO_TIMESTAMPNS
            self.sock.bind(("lo", 0))
            self.sock.settimeout(0.2)
        except OSError:
            self.sock.close()
            raise
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lo-sniffer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                frame, ancillary, _flags, address = self.sock.recvmsg(65535, 64)
            except (TimeoutError, BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            if address[2] == self.PACKET_OUTGOING:
                continue
            ts = time.time()
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == 35 and len(data) >= 16:
                    sec, nsec = struct.unpack("qq", data[:16])
                    ts = sec + nsec / 1e9
            ip = 14 + (frame[14] & 0x0F) * 4
            sport, dport = struct.unpack("!HH", frame[ip:ip + 4])
            header = 8 if self.protocol == 17 else (frame[ip + 12] >> 4) * 4
            payload = frame[ip + header:]
            if payload:
                self.handle(ts, sport, dport, bytes(payload))


# == the command line =============================================================================


def add_run_options(parser: argparse.ArgumentParser, quick: str) -> None:
    """--keep-runtime, --quick (``quick``: what it does) and --json."""
    parser.add_argument("--keep-runtime", action="store_true",
                        help="keep the temp runtime folder (logs, config) after the run")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (progress still on stderr)")


def run_report(settings: dict[str, Any], parts: dict[str, Callable[[], Any]],
               render: Callable[[dict[str, Any]], str], as_json: bool) -> None:
    """Run a benchmark's parts in order into one report ``{"config": settings, part: ...}``,
    note the total time in ``config.total_s``, and print the report: rendered, or as JSON.

    ``kill`` stops the run as Ctrl-C does: every ``finally`` runs, so whatever the run
    started (SIPp, the hotline) is stopped.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    report: dict[str, Any] = {"config": settings}
    for name, part in parts.items():
        report[name] = part()
    report["config"]["total_s"] = time.perf_counter() - started
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
