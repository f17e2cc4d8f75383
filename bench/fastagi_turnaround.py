"""Per-command FastAGI round trip: our FastAgiServer versus a bare asyncio baseline.

    .venv/bin/python -m bench.fastagi_turnaround
    .venv/bin/python -m bench.fastagi_turnaround --sessions 40,400 --commands 100 --quick
    .venv/bin/python -m bench.fastagi_turnaround --json > result.json

Two servers run in this process, on one event loop, one after the other:

* ``baseline`` - a bare asyncio FastAGI server written here: it reads the environment until the
  blank line, then for each command writes a pre-encoded command line and awaits one reply line
  (``readline``, no parsing);
* ``ours`` - :class:`ivr.agi.server.FastAgiServer` with a route whose handler sends the same
  script through :meth:`AgiChannel.command` (quoting, state machine, reply parsing and all).

A scripted fake Asterisk (``bench/fake_asterisk.py``) runs in a separate process so it never
shares the server's event loop. For each run it opens S concurrent sessions, sends the recorded
Asterisk 16 environment, and answers every command line at once with a canned reply. Once all S
environments have arrived (a barrier, so connection setup is not measured) every session runs N
commands; each command is timed inside the server, from just before the command is written to
just after its (parsed, for ours) reply is back. A ticker task that sleeps 1 ms records how late
the server's event loop wakes it during the command phase.

Runs alternate (after one discarded warm-up run of each): baseline, ours, ours, baseline,
baseline, ours, ... so slow drifts of a shared, noisy machine hit both sides alike. Samples are
pooled per side over the measured runs. This is a benchmark: it prints numbers and a verdict and
never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ivr.agi.channel import AgiChannel
from ivr.agi.protocol import build_command
from ivr.agi.server import FastAgiServer

from . import fake_asterisk

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT_FILE = ROOT / "tests" / "fixtures" / "agi" / "environment-asterisk16.txt"
HOST = "127.0.0.1"
GOAL = 1.2  # ours/baseline, per command
CONNECT_BATCH = 50
HANG_GUARD_S = 300.0  # only to avoid hanging forever if something breaks; not a timing check

#: The command scripts: (command words, arguments, the line the baseline writes for it).
SCRIPTS: dict[str, list[tuple[str, tuple[str, ...], bytes]]] = {
    "verbose": [("VERBOSE", ("x", "1"), b'VERBOSE "x" "1"\n')],
    "mix": [
        ("SET VARIABLE", ("FOO", "bar"), b'SET VARIABLE "FOO" "bar"\n'),
        ("GET VARIABLE", ("FOO",), b'GET VARIABLE "FOO"\n'),
        ("STREAM FILE", ("hello-world", "12"), b'STREAM FILE "hello-world" "12"\n'),
        ("VERBOSE", ("x", "1"), b'VERBOSE "x" "1"\n'),
    ],
}

VARIANTS = ("baseline", "ours")


# -- one run's shared state -------------------------------------------------------------------


class _RunState:
    """Barrier, sample sink and completion signal for the S sessions of one run."""

    def __init__(self, sessions: int) -> None:
        loop = asyncio.get_running_loop()
        self.sessions = sessions
        self.arrived = 0
        self.finished = 0
        self.errors = 0
        self.go = asyncio.Event()
        self.all_done: asyncio.Future[None] = loop.create_future()
        self.samples: list[int] = []
        self.t0 = 0.0
        self.cpu0 = 0.0
        self.t1 = 0.0
        self.cpu1 = 0.0

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived == self.sessions:
            self.t0 = time.perf_counter()
            self.cpu0 = time.process_time()
            self.go.set()
        await self.go.wait()

    def finish(self, ok: bool) -> None:
        self.finished += 1
        if not ok:
            self.errors += 1
        if self.finished == self.sessions and not self.all_done.done():
            self.t1 = time.perf_counter()
            self.cpu1 = time.process_time()
            self.all_done.set_result(None)


@dataclass
class RunResult:
    variant: str
    sessions: int
    samples_ns: list[int]
    lag_ns: list[int]
    wall_s: float
    server_cpu_s: float
    fake: dict[str, Any]
    errors: int


# -- the two servers under test ---------------------------------------------------------------


class Servers:
    def __init__(self, script: list[tuple[str, tuple[str, ...], bytes]], commands: int,
                 token: str, command_timeout: float | None) -> None:
        self.plan = [script[i % len(script)] for i in range(commands)]
        self.lines = [line for _, _, line in self.plan]
        self.calls = [(words, args) for words, args, _ in self.plan]
        self.token = token
        self.command_timeout = command_timeout
        self.current: _RunState | None = None
        self.ours: FastAgiServer | None = None
        self.baseline: asyncio.Server | None = None
        self.ports: dict[str, int] = {}

    async def start(self) -> None:
        self.ours = FastAgiServer(
            {"ivr": self._ours_handler}, token=self.token, host=HOST, port=0,
            command_timeout=self.command_timeout,
        )
        await self.ours.start()
        self.baseline = await asyncio.start_server(self._baseline_accept, HOST, 0)
        self.ports = {
            "ours": self.ours.port,
            "baseline": self.baseline.sockets[0].getsockname()[1],
        }

    async def stop(self) -> None:
        if self.ours is not None:
            await self.ours.stop(drain_timeout=5.0)
        if self.baseline is not None:
            self.baseline.close()
            await self.baseline.wait_closed()

    async def _ours_handler(self, channel: AgiChannel, args: tuple[str, ...]) -> None:
        state = self.current
        assert state is not None
        await state.arrive()
        samples = state.samples
        clock = time.perf_counter_ns
        command = channel.command
        ok = False
        try:
            for words, cargs in self.calls:
                t0 = clock()
                await command(words, *cargs)
                samples.append(clock() - t0)
            ok = True
        finally:
            state.finish(ok)

    async def _baseline_accept(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if line in (b"\n", b"\r\n", b""):
                    break
            if not line:
                return
            state = self.current
            assert state is not None
            await state.arrive()
            samples = state.samples
            clock = time.perf_counter_ns
            ok = False
            try:
                for data in self.lines:
                    t0 = clock()
                    writer.write(data)
                    await writer.drain()
                    reply = await reader.readline()
                    if not reply:
                        break
                    samples.append(clock() - t0)
                else:
                    ok = True
            finally:
                state.finish(ok)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


# -- plumbing ---------------------------------------------------------------------------------


async def _recv(conn: Connection) -> Any:
    """Await one message from the fake-Asterisk process without blocking the loop."""
    if not conn.poll():
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(conn.fileno(), wake)
        try:
            await asyncio.wait_for(ready, HANG_GUARD_S)
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


async def _ticker(lags: list[int], period_s: float = 0.001) -> None:
    clock = time.perf_counter_ns
    period_ns = int(period_s * 1e9)
    sleep = asyncio.sleep
    while True:
        t = clock()
        await sleep(period_s)
        lags.append(clock() - t - period_ns)


async def _idle_lag(seconds: float) -> list[int]:
    lags: list[int] = []
    task = asyncio.create_task(_ticker(lags))
    await asyncio.sleep(seconds)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return lags


async def _one_run(servers: Servers, conn: Connection, environment: bytes, variant: str,
                   sessions: int) -> RunResult:
    gc.collect()
    state = _RunState(sessions)
    servers.current = state
    conn.send(("run", HOST, servers.ports[variant], sessions, environment, CONNECT_BATCH))
    await asyncio.wait_for(state.go.wait(), HANG_GUARD_S)
    lags: list[int] = []
    ticker = asyncio.create_task(_ticker(lags))
    try:
        await asyncio.wait_for(asyncio.shield(state.all_done), HANG_GUARD_S)
    finally:
        ticker.cancel()
        try:
            await ticker
        except asyncio.CancelledError:
            pass
    kind, _connect_s = await _recv(conn)
    assert kind == "connected", kind
    kind, fake = await _recv(conn)
    assert kind == "done", kind
    servers.current = None
    return RunResult(
        variant=variant,
        sessions=sessions,
        samples_ns=state.samples,
        lag_ns=lags,
        wall_s=state.t1 - state.t0,
        server_cpu_s=state.cpu1 - state.cpu0,
        fake=fake,
        errors=state.errors,
    )


# -- statistics -------------------------------------------------------------------------------


def quantile(sorted_values: list[int] | list[float], q: float) -> float:
    """Nearest-rank quantile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[index])


@dataclass
class SideSummary:
    runs: int
    commands: int
    p50_us: float
    p99_us: float
    lag_p99_ms: float
    lag_max_ms: float
    server_cpu_us_per_cmd: float
    fake_cpu_us_per_cmd: float
    throughput_cmd_s: float
    per_run: list[dict[str, float]] = field(default_factory=list)
    errors: int = 0


def summarize(runs: list[RunResult]) -> SideSummary:
    samples = sorted(s for r in runs for s in r.samples_ns)
    lags = sorted(x for r in runs for x in r.lag_ns)
    n = len(samples)
    wall = sum(r.wall_s for r in runs)
    return SideSummary(
        runs=len(runs),
        commands=n,
        p50_us=quantile(samples, 0.50) / 1e3,
        p99_us=quantile(samples, 0.99) / 1e3,
        lag_p99_ms=quantile(lags, 0.99) / 1e6,
        lag_max_ms=(lags[-1] / 1e6) if lags else float("nan"),
        server_cpu_us_per_cmd=sum(r.server_cpu_s for r in runs) / max(n, 1) * 1e6,
        fake_cpu_us_per_cmd=sum(r.fake["cpu_s"] for r in runs) / max(n, 1) * 1e6,
        throughput_cmd_s=n / wall if wall > 0 else float("nan"),
        per_run=[_run_stats(r) for r in runs],
        errors=sum(r.errors for r in runs),
    )


def _run_stats(run: RunResult) -> dict[str, float]:
    samples = sorted(run.samples_ns)
    lags = sorted(run.lag_ns)
    return {
        "p50_us": quantile(samples, 0.50) / 1e3,
        "p99_us": quantile(samples, 0.99) / 1e3,
        "lag_p99_ms": quantile(lags, 0.99) / 1e6,
        "wall_s": run.wall_s,
        "server_cpu_us_per_cmd": run.server_cpu_s / max(len(samples), 1) * 1e6,
    }


# -- the benchmark ----------------------------------------------------------------------------


def load_environment() -> tuple[bytes, str]:
    text = ENVIRONMENT_FILE.read_text()
    lines = [line for line in text.splitlines() if line]
    token = next(line.split(": ", 1)[1] for line in lines if line.startswith("agi_arg_1:"))
    return ("\n".join(lines) + "\n\n").encode(), token


def order_for_round(index: int) -> tuple[str, str]:
    """AB, BA, AB, ...: alternate, and flip who goes first each round."""
    return VARIANTS if index % 2 == 0 else VARIANTS[::-1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    script = SCRIPTS[args.script]
    for words, cargs, line in script:  # the baseline must send exactly the same bytes
        if build_command(words, *cargs) != line:
            raise SystemExit(f"baseline line {line!r} differs from build_command({words!r}, ...)")
    environment, token = load_environment()
    servers = Servers(script, args.commands, token, args.command_timeout)
    await servers.start()

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    fake = ctx.Process(target=fake_asterisk.main, args=(child,), name="fake-asterisk", daemon=True)
    fake.start()
    child.close()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    try:
        kind = (await _recv(parent))[0]
        assert kind == "ready", kind
        idle = sorted(await _idle_lag(0.3))
        idle_lag_p99_ms = quantile(idle, 0.99) / 1e6
        for sessions in args.sessions:
            log(f"S={sessions}: warm-up")
            for variant in VARIANTS:
                await _one_run(servers, parent, environment, variant, sessions)
            runs: dict[str, list[RunResult]] = {v: [] for v in VARIANTS}
            for round_index in range(args.rounds):
                for variant in order_for_round(round_index):
                    result = await _one_run(servers, parent, environment, variant, sessions)
                    runs[variant].append(result)
                    log(
                        f"S={sessions} round {round_index + 1}/{args.rounds} {variant:8s} "
                        f"p50 {quantile(sorted(result.samples_ns), 0.5) / 1e3:8.1f} us  "
                        f"{result.wall_s:6.2f} s"
                    )
            results.append(compare(sessions, runs))
    finally:
        try:
            parent.send(("stop",))
        except (BrokenPipeError, OSError):
            pass
        await servers.stop()
        await asyncio.get_running_loop().run_in_executor(None, fake.join, 10)
        if fake.is_alive():
            fake.terminate()
        parent.close()
    return {
        "config": {
            "sessions": args.sessions,
            "commands_per_session": args.commands,
            "rounds": args.rounds,
            "script": args.script,
            "script_lines": [line.decode().strip() for _, _, line in script],
            "command_timeout": args.command_timeout,
            "goal_ratio": GOAL,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "idle_loop_lag_p99_ms": idle_lag_p99_ms,
            "total_s": time.perf_counter() - started,
        },
        "results": results,
    }


def _paired(ours: SideSummary, base: SideSummary, key: str) -> list[float]:
    """ours/baseline for each round: the two runs of a round ran back to back."""
    return [
        o[key] / b[key] for o, b in zip(ours.per_run, base.per_run) if b[key] > 0
    ]


def compare(sessions: int, runs: dict[str, list[RunResult]]) -> dict[str, Any]:
    base = summarize(runs["baseline"])
    ours = summarize(runs["ours"])
    ratio: dict[str, Any] = {
        "p50": ours.p50_us / base.p50_us,
        "p99": ours.p99_us / base.p99_us,
        "server_cpu_per_cmd": ours.server_cpu_us_per_cmd / base.server_cpu_us_per_cmd,
    }
    for key in ("p50", "p99"):
        paired = _paired(ours, base, f"{key}_us")
        ratio[f"paired_{key}_median"] = statistics.median(paired) if paired else float("nan")
        ratio[f"paired_{key}_min"] = min(paired, default=float("nan"))
        ratio[f"paired_{key}_max"] = max(paired, default=float("nan"))
    # The verdict uses the median of the per-round ratios: each round's two runs ran back to
    # back, so a burst of noise from the neighbours moves one round, not the verdict.
    judged = {key: ratio[f"paired_{key}_median"] for key in ("p50", "p99")}
    over = [key for key, value in judged.items() if value > GOAL]
    if over:
        verdict = f"OVER the {GOAL:.1f}x goal ({' and '.join(over)})"
    else:
        verdict = f"within the {GOAL:.1f}x goal"
    straddles = [
        key for key in ("p50", "p99")
        if ratio[f"paired_{key}_min"] <= GOAL < ratio[f"paired_{key}_max"]
    ]
    if straddles:
        verdict += f"; noisy: single rounds fall on both sides of the goal ({', '.join(straddles)})"
    return {
        "sessions": sessions,
        "baseline": base.__dict__,
        "ours": ours.__dict__,
        "ratio": ratio,
        "judged": judged,
        "verdict": verdict,
    }


def render(report: dict[str, Any]) -> str:
    cfg = report["config"]
    out = [
        "FastAGI per-command round trip: ours (FastAgiServer) vs bare asyncio baseline",
        f"script: {cfg['script']} ({' | '.join(cfg['script_lines'])})",
        (f"{cfg['commands_per_session']} commands/session, {cfg['rounds']} measured rounds per "
        f"side (+1 warm-up each), Python {cfg['python']}, {cfg['cpus']} CPUs, "
        f"command_timeout={cfg['command_timeout']}"),
        f"idle event-loop lag p99 (1 ms ticker, no load): {cfg['idle_loop_lag_p99_ms']:.3f} ms",
        "",
    ]
    header = (
        f"{'S':>4} {'side':<8} {'commands':>8} {'p50 us':>9} {'p99 us':>9} {'lag p99 ms':>10} "
        f"{'srv CPU us/cmd':>14} {'fake CPU us/cmd':>15} {'cmd/s':>8}"
    )
    out += [header, "-" * len(header)]
    for res in report["results"]:
        n = res["sessions"]
        for side in VARIANTS:
            s = res[side]
            out.append(
                f"{n:>4} {side:<8} {s['commands']:>8} {s['p50_us']:>9.1f} "
                f"{s['p99_us']:>9.1f} {s['lag_p99_ms']:>10.2f} "
                f"{s['server_cpu_us_per_cmd']:>14.1f} {s['fake_cpu_us_per_cmd']:>15.1f} "
                f"{s['throughput_cmd_s']:>8.0f}"
            )
        r = res["ratio"]
        out.append(
            f"{n:>4} {'pooled':<8} {'ratio':>8} {r['p50']:>8.2f}x {r['p99']:>8.2f}x "
            f"{'':>10} {r['server_cpu_per_cmd']:>13.2f}x"
        )
        out.append(
            f"{n:>4} {'paired':<8} {'median':>8} {r['paired_p50_median']:>8.2f}x "
            f"{r['paired_p99_median']:>8.2f}x   rounds p50 {r['paired_p50_min']:.2f}-"
            f"{r['paired_p50_max']:.2f}x, p99 {r['paired_p99_min']:.2f}-"
            f"{r['paired_p99_max']:.2f}x"
        )
        out.append("")
    for res in report["results"]:
        j = res["judged"]
        errors = res["baseline"]["errors"] + res["ours"]["errors"]
        note = f"; {errors} session(s) ended early" if errors else ""
        out.append(
            f"S={res['sessions']}: ours/baseline per command p50 {j['p50']:.2f}x, "
            f"p99 {j['p99']:.2f}x (median of paired rounds) -> {res['verdict']}{note}"
        )
    out.append(f"total time {cfg['total_s']:.1f} s")
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fastagi_turnaround",
        description="Per-command FastAGI round trip: FastAgiServer vs a bare asyncio baseline.",
    )
    parser.add_argument("--sessions", default="40,400",
                        help="comma-separated concurrent session counts (default 40,400)")
    parser.add_argument("--commands", type=int, default=None,
                        help="commands per session (default 100, 40 with --quick)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measured runs per side and session count (default 12, 3 with --quick)")
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="mix",
                        help="command script (default mix)")
    parser.add_argument("--command-timeout", type=float, default=None,
                        help="pass command_timeout to FastAgiServer (default None, as in "
                        "production)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and commands")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (progress still on stderr)")
    args = parser.parse_args(argv)
    try:
        args.sessions = [int(s) for s in args.sessions.split(",") if s.strip()]
    except ValueError:
        parser.error("--sessions takes comma-separated integers, e.g. 40,400")
    if not args.sessions or min(args.sessions) < 1:
        parser.error("--sessions needs positive integers")
    if args.commands is None:
        args.commands = 40 if args.quick else 100
    if args.rounds is None:
        args.rounds = 3 if args.quick else 12
    if args.commands < 1 or args.rounds < 1:
        parser.error("--commands and --rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(run_benchmark(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))


if __name__ == "__main__":
    main()
